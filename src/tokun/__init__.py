"""tokun: a neural tokenizer. 16 Unicode characters -> one 256-d vector -> the same 16 characters.

>>> import tokun
>>> tok = tokun.Tokenizer.load()
>>> z = tok.encode("tokun")
>>> tok.decode(z, length=5)
'tokun'
"""

from .checkpoint import load_model as load_model
from .checkpoint import save_model as save_model
from .checkpoint import shipped_models as shipped_models
from .config import ModelConfig as ModelConfig
from .config import TrainConfig as TrainConfig
from .config import preset as preset
from .errors import CheckpointError as CheckpointError
from .errors import ConfigError as ConfigError
from .errors import InputError as InputError
from .errors import ModelError as ModelError
from .errors import TokunError as TokunError
from .model import AutoEncoder as AutoEncoder
from .model import Decoder as Decoder
from .model import Encoder as Encoder
from .tokenizer import Tokenizer as Tokenizer

__version__ = "0.1.0"
