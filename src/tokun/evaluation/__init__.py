"""Measuring a tokenizer: accuracy per file and per random spec, noise tolerance, speed. Imports :mod:`tokun.core`
and :mod:`tokun.decoding` (never :mod:`tokun.training`)."""
