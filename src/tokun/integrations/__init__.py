"""Optional bridges to other ecosystems: the Hugging Face Hub and ``transformers``, and ONNX.

Each module imports its third-party library at its top, so ``import tokun`` imports none of them; install the
extras first (``pip install -e '.[hf]'`` for :mod:`.hub` and :mod:`.hf_tokenizer`, ``'.[onnx]'`` for :mod:`.onnx`).

    hub.py            save_pretrained/from_pretrained (huggingface_hub's mixin) over tokun's own model files
    hf_tokenizer.py   TokunTokenizer: tokun's byte blocks for transformers, AutoTokenizer registration
    hf_ids.py         the tokenizer's flat id layout: ids, special characters, truncation rule, id checks
    hf_model.py       TokunForCausalLM: tokun's patch language model as a transformers PreTrainedModel
    onnx.py           `tokun export onnx`: encoder.onnx, decoder.onnx, verify.onnx; verified decoding over onnxruntime
    remote.py         the module a saved directory carries for trust_remote_code: one import of tokun's classes
    onnx_runtime.py   OnnxTextTokenizer: exact decoding with onnxruntime and numpy only (no torch)
"""
