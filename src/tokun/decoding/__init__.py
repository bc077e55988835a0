"""Inference: the :class:`~tokun.decoding.tokenizer.Tokenizer`, its inference state, verified decoding, posterior
decoding of noisy latents and the character prior. Imports only :mod:`tokun.core`.

    tokenizer.py      Tokenizer: load a model, encode/decode text and batches
    inference.py      the inference state: model, folded encoder, decoder dtype, device
    verify.py         verified decoding: re-encode, find and correct the decoder's slips
    slots.py          the per-slot algebra of the last tokenize block (SlotTerms)
    posterior.py      posterior decoding of noisy latents
    prior.py          the character prior (4-gram counts, Kneser-Ney)
    priors/           the shipped prior (counts from the corpora's training split)
    shard_texts.py    the documents of a shard folder, decoded exactly by the model that made them (checked)
"""
