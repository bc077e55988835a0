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
"""

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

__version__ = "0.1.0"
