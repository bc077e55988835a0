"""tokun: a neural tokenizer. 16 Unicode characters -> one 256-d vector -> the same 16 characters.

>>> import tokun
>>> tok = tokun.Tokenizer.load()
>>> z = tok.encode("tokun")
>>> tok.decode(z, length=5)
'tokun'

Layers (imports run downward only): ``cli`` on top; ``integrations`` (Hugging Face and ONNX, optional extras,
never imported here); ``training``, ``evaluation``, ``inspection``, ``streaming`` and ``lm`` side by side;
``decoding`` (the tokenizer, verified and posterior decoding, the character prior); ``core`` (codec, configs, the
autoencoder, weights, text files, data sources, distances).

The names below are imported when first used, so ``import tokun`` (and ``tokun --help``) imports no torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .core.version import __version__ as __version__

# public name -> the module that defines it
_EXPORTS = {
    "load_model": "core.checkpoint",
    "save_model": "core.checkpoint",
    "shipped_models": "core.checkpoint",
    "ModelConfig": "core.config",
    "preset": "core.config",
    "CheckpointError": "core.errors",
    "ConfigError": "core.errors",
    "InputError": "core.errors",
    "ModelError": "core.errors",
    "TokunError": "core.errors",
    "AutoEncoder": "core.model",
    "Decoder": "core.model",
    "Encoder": "core.model",
    "Tokenizer": "decoding.tokenizer",
    "TrainConfig": "training.config",
}
__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:
    from .core.checkpoint import load_model as load_model
    from .core.checkpoint import save_model as save_model
    from .core.checkpoint import shipped_models as shipped_models
    from .core.config import ModelConfig as ModelConfig
    from .core.config import preset as preset
    from .core.errors import CheckpointError as CheckpointError
    from .core.errors import ConfigError as ConfigError
    from .core.errors import InputError as InputError
    from .core.errors import ModelError as ModelError
    from .core.errors import TokunError as TokunError
    from .core.model import AutoEncoder as AutoEncoder
    from .core.model import Decoder as Decoder
    from .core.model import Encoder as Encoder
    from .decoding.tokenizer import Tokenizer as Tokenizer
    from .training.config import TrainConfig as TrainConfig


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tokun' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value  # the next access is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
