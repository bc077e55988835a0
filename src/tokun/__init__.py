"""tokun: a neural tokenizer. 16 Unicode characters -> one 256-d vector -> the same 16 characters.

>>> import tokun
>>> tok = tokun.Tokenizer.load()
>>> z = tok.encode("tokun")
>>> tok.decode(z, length=5)
'tokun'

Layers (imports run downward only): ``cli`` on top; ``integrations`` (Hugging Face and ONNX, optional extras,
never imported here); ``training``, ``evaluation``, ``streaming`` and ``lm`` side by side; ``decoding`` (the
tokenizer, verified and posterior decoding, the character prior); ``core`` (codec, configs, the autoencoder,
weights, text files, data sources, distances).

The names below load on first use (PEP 562), so ``import tokun`` imports neither torch nor any optional library,
and a numpy-only module (``tokun.core.codec``, ``tokun.integrations.onnx_runtime``) imports without torch.
"""

from importlib import import_module
from typing import Any

_EXPORTS = {  # name -> the module that defines it
    "load_model": ".core.checkpoint",
    "save_model": ".core.checkpoint",
    "shipped_models": ".core.checkpoint",
    "ModelConfig": ".core.config",
    "preset": ".core.config",
    "CheckpointError": ".core.errors",
    "ConfigError": ".core.errors",
    "InputError": ".core.errors",
    "ModelError": ".core.errors",
    "TokunError": ".core.errors",
    "AutoEncoder": ".core.model",
    "Decoder": ".core.model",
    "Encoder": ".core.model",
    "Tokenizer": ".decoding.tokenizer",
    "TrainConfig": ".training.config",
}
__all__ = sorted(_EXPORTS)
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tokun' has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name], __name__), name)
    globals()[name] = value  # loaded once
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
