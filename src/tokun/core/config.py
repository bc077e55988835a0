"""Typed configurations: the autoencoder's shape, the training run, and named presets.

Configs are frozen dataclasses that round-trip through JSON (``to_dict`` / ``from_dict``);
unknown keys and out-of-range values raise :class:`tokun.errors.ConfigError`.

>>> cfg = preset("4x16")
>>> cfg.block_bytes, cfg.block_chars, cfg.latent_dim
(64, 16, 256)
>>> ModelConfig.from_dict(cfg.to_dict()) == cfg
True
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from .errors import ConfigError

ACTIVATIONS = ("relu", "silu", "gelu", "tanh")
BYTES_PER_CHAR = 4  # UTF-32-BE

T = TypeVar("T")


@dataclass(frozen=True)
class ModelConfig:
    """Shape of the autoencoder. The defaults are the shipped ``4x16`` (``weights/4x16/config.json``).

    token_dim: group size of each tokenize block, from bytes upwards. ``(4, 16)`` merges 4 bytes
        into a character vector, then 16 characters into one latent. Their product is the number
        of bytes per latent vector and must be a multiple of 4 (whole UTF-32 characters).
    embed_dim: width of the per-byte embedding.
    hidden_dim: output width of every tokenize block but the last (``None``: ``latent_dim``).
    latent_dim: width of the latent vector, the encoder's output.
    attention: non-causal self-attention among the G slots of each block.
    heads: attention heads (when ``attention``).
    layer_norm: LayerNorm at the input of each tokenize block / output of each detokenize block.
    activation: non-linearity after each block's Linear.
    latent_activation: apply the activation to the latent too. Off by default: a linear bottleneck
        trains much faster and uses the whole latent space (see docs/RESULTS.md).
    decoder_mlp: width of a residual MLP on the whole latent at the decoder's input (0: none). Without it
        each character's slot sees only a linear projection of the latent, so noise on the latent can only be
        corrected character by character; the MLP lets the decoder correct the block jointly.
    center_latent: the encoder outputs latents whose dimensions sum to zero and the decoder centres its
        input the same way, so a shift common to every dimension (a bias of whatever predicts the
        latents) changes nothing; it costs one of the ``latent_dim`` dimensions.
    """

    token_dim: tuple[int, ...] = (4, 16)
    embed_dim: int = 64
    hidden_dim: int | None = 128
    latent_dim: int = 256
    attention: bool = False
    heads: int = 4
    layer_norm: bool = True
    activation: str = "silu"
    latent_activation: bool = False
    center_latent: bool = True
    decoder_mlp: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "token_dim", tuple(int(g) for g in self.token_dim))
        if not self.token_dim or any(g < 1 for g in self.token_dim):
            raise ConfigError(f"token_dim must be a non-empty list of positive ints, got {list(self.token_dim)}")
        if self.block_bytes % BYTES_PER_CHAR:
            raise ConfigError(
                f"token_dim {list(self.token_dim)} groups {self.block_bytes} bytes per latent; "
                f"it must be a multiple of {BYTES_PER_CHAR} (whole UTF-32 characters)"
            )
        for name in ("embed_dim", "latent_dim", "heads"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)}")
        if self.decoder_mlp < 0:
            raise ConfigError(f"decoder_mlp must be non-negative (0: none), got {self.decoder_mlp}")
        if self.hidden_dim is not None and self.hidden_dim < 1:
            raise ConfigError(f"hidden_dim must be positive or null, got {self.hidden_dim}")
        if self.activation not in ACTIVATIONS:
            raise ConfigError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {self.activation!r}")
        if self.attention:
            for width in self.block_widths()[:-1]:
                if width % self.heads:
                    raise ConfigError(f"attention with {self.heads} heads needs widths divisible by it, got {width}")

    @property
    def block_bytes(self) -> int:
        """Bytes encoded into one latent vector."""
        return math.prod(self.token_dim)

    @property
    def block_chars(self) -> int:
        """Characters encoded into one latent vector."""
        return self.block_bytes // BYTES_PER_CHAR

    def block_widths(self) -> list[int]:
        """Vector widths between blocks: [embed, hidden, ..., latent] (len(token_dim) + 1 entries)."""
        hidden = self.latent_dim if self.hidden_dim is None else self.hidden_dim
        return [self.embed_dim] + [hidden] * (len(self.token_dim) - 1) + [self.latent_dim]

    @property
    def name(self) -> str:
        """Short name of the hierarchy, e.g. ``"4x16"``."""
        return "x".join(str(g) for g in self.token_dim)

    def to_dict(self) -> dict[str, Any]:
        return _to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        return _from_dict(cls, data)


SHIPPED = ModelConfig()  # 4x16, 4x16-exact: embed 64, character vectors 128, SiLU, centred latents

# The presets are the shipped models: preset(name) is what weights/<name>/config.json holds, and recipes/<name>.toml
# trains it. Other shapes are one flag away (tokun train --token-dim 4,4,4); the historical configurations of the
# configuration study live in experiments/study.py.
PRESETS: dict[str, ModelConfig] = {
    "4x16": SHIPPED,
    "4x16-exact": SHIPPED,
    "4x4x8": ModelConfig(token_dim=(4, 4, 8)),
}


def preset(name: str) -> ModelConfig:
    """The configuration of a shipped model (``"4x16"``, ``"4x16-exact"``, ``"4x4x8"``)."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"unknown preset {name!r}; presets: {', '.join(PRESETS)}") from None


def field_help(cls: type) -> dict[str, str]:
    """``{field: description}`` from a config class's docstring, where each field is described once as an
    indented ``name: text`` paragraph (the command line's help comes from there, so an option is declared once)."""
    out: dict[str, str] = {}
    current = None
    for line in (cls.__doc__ or "").splitlines():
        head, sep, rest = line.strip().partition(": ")
        if line.startswith("    ") and not line.startswith("     ") and sep and head.isidentifier():
            current = head
            out[current] = rest.strip()
        elif current and line.startswith("        ") and line.strip():
            out[current] += " " + line.strip()
        else:
            current = None
    return {k: v.replace("%", "%%") for k, v in out.items()}


def save_json(data: dict[str, Any], path: str | Path) -> None:
    Path(path).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _to_dict(obj: Any) -> dict[str, Any]:
    out = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            value = _to_dict(value)
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return out


def _from_dict(cls: type[T], data: dict[str, Any]) -> T:
    if not isinstance(data, dict):
        raise ConfigError(f"{cls.__name__} must be a JSON object, got {type(data).__name__}")
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} keys: {', '.join(unknown)}")
    try:
        return cls(**data)
    except TypeError as err:
        raise ConfigError(f"bad {cls.__name__}: {err}") from None
