"""The training run's configuration: :class:`TrainConfig`, a frozen dataclass that round-trips through JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core.config import ModelConfig, _from_dict, _to_dict
from ..core.errors import ConfigError

DEEP_LEVEL_LOSS = 0.3  # TrainConfig.level_loss by default for three levels or more


@dataclass(frozen=True)
class TrainConfig:
    """A training run. Every field has a CLI flag of the same name (``--batch-size``...).

    random: random-codepoint specs to sample from (see :func:`tokun.core.sources.parse_spec`), each equally likely.
    texts: UTF-8 files mixed into the data, sampled at random offsets.
    text_ratio: share of blocks drawn from ``texts`` (when any).
    pad_ratio: share of blocks whose tail is cut and padded with U+0000, as the end of every text is.
    latent_noise: k of the isotropic Gaussian noise (k times the latents' spread) added to the latents
        during training, so that the decoder forgives imprecise latents (0: none).
    latent_dropout: probability that each latent dimension is zeroed during training (latent dropout, as
        in CALM), so that the decoder spreads each block over many dimensions (0: none).
    distance_loss: weight of a term that makes the latents' L2 distances follow the characters' edit
        distances: 1 - Pearson correlation of the two over the pairs of ``noise_on`` rows in a batch (0: off).
    distance_target: the distance term becomes ``max(0, distance_target - r)`` for that correlation r: a
        hinge that stops pulling once a batch reaches it, leaving the rest of training to exactness
        (1, the default: the plain ``1 - r``, which always pulls).
    spread_loss: weight of a term that spreads the latents of the ``noise_on`` rows evenly over directions:
        1 - (participation ratio of the batch's covariance) / (the most it can be); 0: off.
    separation_loss: weight of a term that keeps the characters of the ``noise_on`` rows apart in the latent
        space: two characters in one slot of the last tokenize block make two codewords
        ||C W_s (x_a - x_b)|| apart, and each pair of a batch's distinct characters nearer than
        ``separation_margin`` latent spreads (sigma) costs the square of the shortfall, summed over pairs per
        character. Isotropic noise at k confuses a character with a neighbour at distance d with probability
        Q(d / 2k sigma): the term is the code's minimum distance, which noise training reaches only through the
        decoder. Needs a linear last block (0: off).
    separation_margin: that distance, in latent spreads (sigma).
    noise_on: the row sources that get that noise, dropout and distance term (random spec names such as
        ``local``, or ``text``); empty: every row. Sigma is then the spread of those rows' latents, as ``tokun noise`` measures it.
    noise_ramp: steps over which the noise rises linearly from 0 to ``latent_noise`` (0: from the start).
    init: start from the weights of this model (a shipped model's name or a model directory) instead of a
        random initialisation, to fine-tune it; its configuration must be ``model``.
    freeze_encoder: train the decoder alone (with ``init``: teach a decoder a code that is already fixed).
    level_loss: weight of the per-level shortcut losses: the decoder's lower blocks also decode every
        intermediate level of the encoder (for ``4x4x4``: the characters and the 4-character vectors), and
        those cross-entropies, times this weight, join the loss. Deep hierarchies need it to leave the
        initial plateau where every byte is predicted from its marginal (see docs/RESULTS.md); 0: off.
        ``None`` (the default) becomes 0.3 for hierarchies of three levels or more, 0 otherwise.
    steps: optimizer steps (the cosine schedule ends there; a resumed run may raise it).
    batch_size: blocks per step, per rank under torchrun.
    lr: peak learning rate of AdamW (after the warm-up).
    min_lr_ratio: the learning rate at the last step, as a share of ``lr`` (cosine decay).
    warmup_steps: steps of linear warm-up from 0 to ``lr``.
    weight_decay: AdamW's decoupled weight decay (not on biases, norms and positional embeddings).
    grad_clip: the gradients' global norm is clipped to this.
    seed: seeds the initial weights, and the data, noise and dropout of every step with the rank and the step.
    eval_every: steps between evaluations on held-out blocks (``log.jsonl``).
    eval_samples: characters per evaluation set.
    save_every: steps between checkpoints (and one at the end, or on SIGINT/SIGTERM).
    keep_checkpoints: the newest checkpoints kept in ``OUT/checkpoints``.
    """

    model: ModelConfig = field(default_factory=ModelConfig)
    random: tuple[str, ...] = ("planes0-3",)
    texts: tuple[str, ...] = ()
    text_ratio: float = 0.5
    pad_ratio: float = 0.1
    latent_noise: float = 0.0
    latent_dropout: float = 0.0
    distance_loss: float = 0.0
    distance_target: float = 1.0
    spread_loss: float = 0.0
    separation_loss: float = 0.0
    separation_margin: float = 3.0
    noise_on: tuple[str, ...] = ()
    noise_ramp: int = 0
    level_loss: float | None = None
    init: str | None = None
    freeze_encoder: bool = False
    steps: int = 3000
    batch_size: int = 128
    lr: float = 2e-3
    min_lr_ratio: float = 0.05
    warmup_steps: int = 100
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    seed: int = 0
    eval_every: int = 250
    eval_samples: int = 20_000
    save_every: int = 500
    keep_checkpoints: int = 3

    def __post_init__(self) -> None:
        if isinstance(self.model, dict):
            object.__setattr__(self, "model", ModelConfig.from_dict(self.model))
        if self.level_loss is None:
            object.__setattr__(self, "level_loss", DEEP_LEVEL_LOSS if len(self.model.token_dim) >= 3 else 0.0)
        object.__setattr__(self, "random", tuple(self.random))
        object.__setattr__(self, "texts", tuple(str(t) for t in self.texts))
        object.__setattr__(self, "noise_on", tuple(s.strip().lower() for s in self.noise_on))
        sources = {s.strip().lower() for s in self.random} | ({"text"} if self.texts else set())
        missing = [s for s in self.noise_on if s not in sources]
        if missing:
            raise ConfigError(f"noise_on names {', '.join(missing)}, which the data does not draw from")
        if self.noise_ramp < 0:
            raise ConfigError(f"noise_ramp must be non-negative, got {self.noise_ramp}")
        for name in ("steps", "batch_size", "eval_every", "save_every", "keep_checkpoints", "eval_samples"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("text_ratio", "pad_ratio", "min_lr_ratio"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.latent_noise < 0:
            raise ConfigError(f"latent_noise must be non-negative, got {self.latent_noise}")
        if not 0.0 <= self.latent_dropout < 1.0:
            raise ConfigError(f"latent_dropout must be in [0, 1), got {self.latent_dropout}")
        if self.distance_loss < 0:
            raise ConfigError(f"distance_loss must be non-negative, got {self.distance_loss}")
        if self.separation_loss < 0 or self.separation_margin <= 0:
            raise ConfigError(
                f"separation_loss must be non-negative and separation_margin positive, got {self.separation_loss} "
                f"and {self.separation_margin}"
            )
        if self.separation_loss > 0 and (
            len(self.model.token_dim) < 2 or self.model.attention or self.model.latent_activation
        ):
            raise ConfigError(
                "separation_loss needs a linear last tokenize block: two levels or more, no attention, no latent activation"
            )
        if self.spread_loss < 0:
            raise ConfigError(f"spread_loss must be non-negative, got {self.spread_loss}")
        if not -1 < self.distance_target <= 1:
            raise ConfigError(f"distance_target is a correlation in (-1, 1], got {self.distance_target}")
        if self.level_loss < 0:
            raise ConfigError(f"level_loss must be non-negative, got {self.level_loss}")
        if self.lr <= 0 or self.warmup_steps < 0 or self.grad_clip <= 0 or self.weight_decay < 0:
            raise ConfigError("lr and grad_clip must be positive, warmup_steps and weight_decay non-negative")
        if not self.random and not self.texts:
            raise ConfigError("training needs data: give at least one --random spec or --text file")

    def to_dict(self) -> dict[str, Any]:
        return _to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        return _from_dict(cls, data)
