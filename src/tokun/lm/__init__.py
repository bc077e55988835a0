"""Language models over tokun latents, bytes and BPE, their comparison, and parameter arithmetic.

    model.py          TokunInput/TokunOutput and a small llama
    compare.py        `tokun lm compare` / `generate`: tokun patch models vs bytes vs BPE, FLOP-counted
    patch_model.py    the patch LM: tokun latents of each patch, a global body, the local decoder
    params.py         llama parameter arithmetic
    patching.py       patching schemes: fixed sizes and word-aligned patches, pure functions of the text
    local.py          the local causal decoder that predicts a patch unit by unit (MEGABYTE-style)
    flops.py          training FLOPs of every model, one function for all
    names.py          the model and preset names of `tokun lm compare` (no torch: the command line lists them)
    summary.py        spread over seeds and languages won, as `tokun lm compare` prints them
"""
