"""Optional bridges to other ecosystems: the Hugging Face Hub and ``transformers``, and ONNX.

Each module imports its third-party library at its top, so ``import tokun`` imports none of them; install the
extras first (``pip install -e '.[hf]'`` for :mod:`.hub` and :mod:`.hf_tokenizer`, ``'.[onnx]'`` for :mod:`.onnx`).
"""
