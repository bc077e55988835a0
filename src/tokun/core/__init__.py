"""The bottom layer: codec (numpy only), configs, the autoencoder, weights and checkpoints, errors, reading text
and atomic outputs, data sources (random codepoints, corpora), corpus splits, distances. Imports nothing above it.

    codec.py          text <-> UTF-32-BE byte blocks (numpy only)
    config.py         ModelConfig, JSON round-trip, presets
    model.py          tokenize/detokenize blocks, Encoder, Decoder, AutoEncoder
    folded.py         the first tokenize block folded into lookup tables (inference)
    checkpoint.py     safetensors + config.json; training checkpoints; atomic directories
    sources.py        random codepoints, text corpora, their mixture, per-rank seeding
    splits.py         corpus splits into training and held-out text, by line or by tail
    distances.py      edit distances between texts (rapidfuzz), many pairs per call
    textio.py         reading text with clear errors, atomic output files
    shards.py         Parquet shards of latents: schema, atomic writes, reading in order (pyarrow, lazily)
    errors.py         exceptions for user mistakes, each with a one-line message
    optim.py          the learning-rate schedule and AdamW that every trainer shares
    version.py        the package version (from the installed metadata)
    reference.py      the reference BPE tokenizer (tiktoken cl100k_base, offline), imported lazily
"""
