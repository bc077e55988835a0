"""Measuring a tokenizer: accuracy per file and per random spec, noise tolerance, speed. Imports :mod:`tokun.core`
and :mod:`tokun.decoding` (never :mod:`tokun.training`).

    accuracy.py       accuracy per file (every offset) and per random spec
    noise.py          noise sweeps, int8 latents, latent distances
    bench.py          throughput against tiktoken
    figures.py        all three on small samples, for `tokun inspect --all`
"""
