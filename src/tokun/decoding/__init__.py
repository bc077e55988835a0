"""Inference: the :class:`~tokun.decoding.tokenizer.Tokenizer`, its inference state, verified decoding, posterior
decoding of noisy latents and the character prior. Imports only :mod:`tokun.core`."""
