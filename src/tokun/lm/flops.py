"""Training FLOPs of every model of the comparison, from one formula (Kaplan et al. 2020, section 2.1).

A forward pass costs 2 FLOPs per parameter per token (one multiply, one add), the backward pass
twice that: 2 for the gradient with respect to the layer's input, 2 for the gradient with respect
to its weights. So a part of the model that runs on T tokens (positions) with N parameters costs

    trained                       6 N T   forward + input gradient + weight gradient
    frozen, backward through it   4 N T   forward + input gradient: a frozen part with something trainable
                                          before it (the frozen tokun decoder under a trained body)
    frozen, no backward           2 N T   forward only: nothing before it learns (a frozen input encoder)

N counts the parameters used in matrix products; embedding lookups cost nothing (Kaplan leave
embedding parameters out of N), an output head counts like any matrix. Attention adds, per token
and layer, the products of queries with keys and of attention weights with values over the context:
Kaplan et al. (table 1) count 2 n_layer n_ctx d_attn per token forward, which is Hoffmann et al.'s
2 n_ctx d_attn + 2 n_ctx d_attn halved by the causal mask (a position attends to n_ctx / 2 earlier ones
on average). This term has no weights: its backward (input gradients only) is 2x its forward whenever
the backward pass runs through the part, so it is 3x forward there and 1x forward otherwise.

>>> encoder = Part("encoder", parameters=1000, tokens=10, mode=Mode.FROZEN)
>>> body = Part("body", parameters=5000, tokens=10, layers=2, context=10, attention_dim=8)
>>> [part_flops(encoder), part_flops(body)], model_train_flops([encoder, body])
([20000, 309600], 329600)
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from ..core.config import ModelConfig


class Mode(enum.Enum):
    """How training treats a part: its multiplier of N T."""

    TRAINED = 6  # forward 2 + input gradient 2 + weight gradient 2
    FROZEN_BACKWARD = 4  # forward 2 + input gradient 2 (weights fixed, gradients pass through)
    FROZEN = 2  # forward only

    @property
    def backward(self) -> bool:
        return self is not Mode.FROZEN


@dataclass(frozen=True)
class Part:
    """One part of a model: its matrix parameters, the tokens it runs on per step, its attention, its mode.

    ``tokens`` are the positions the part processes (bytes for a byte model, patches for a global
    model over patches, patches x units for a local decoder). ``layers``, ``context`` and
    ``attention_dim`` describe its causal self-attention (0 layers: none).
    """

    name: str
    parameters: int
    tokens: int
    mode: Mode = Mode.TRAINED
    layers: int = 0
    context: int = 0
    attention_dim: int = 0


def dense_flops(parameters: int, tokens: int, mode: Mode = Mode.TRAINED) -> int:
    """``6 N T`` trained, ``4 N T`` frozen with a backward pass through it, ``2 N T`` frozen without.

    >>> dense_flops(100, 10), dense_flops(100, 10, Mode.FROZEN_BACKWARD), dense_flops(100, 10, Mode.FROZEN)
    (6000, 4000, 2000)
    """
    return mode.value * parameters * tokens


def attention_flops(layers: int, context: int, dim: int, tokens: int, mode: Mode = Mode.TRAINED) -> int:
    """``2 n_layer n_ctx d_attn`` per token forward, times 3 when the backward pass runs through it.

    >>> attention_flops(layers=2, context=10, dim=8, tokens=10), attention_flops(2, 10, 8, 10, Mode.FROZEN)
    (9600, 3200)
    """
    return 2 * layers * context * dim * tokens * (3 if mode.backward else 1)


def part_flops(part: Part) -> int:
    """Training FLOPs of one part per step (or per whatever ``tokens`` counts)."""
    dense = dense_flops(part.parameters, part.tokens, part.mode)
    return dense + attention_flops(part.layers, part.context, part.attention_dim, part.tokens, part.mode)


def model_train_flops(parts: Sequence[Part]) -> int:
    """Training FLOPs of a model: the sum over its parts."""
    return sum(part_flops(part) for part in parts)


def forward_flops(parts: Sequence[Part]) -> int:
    """FLOPs of running the parts forward only (inference): ``2 N T`` each, attention's forward term once.

    >>> forward_flops([Part("body", parameters=5000, tokens=10, layers=2, context=10, attention_dim=8)])
    103200
    """
    return sum(
        dense_flops(p.parameters, p.tokens, Mode.FROZEN)
        + attention_flops(p.layers, p.context, p.attention_dim, p.tokens, Mode.FROZEN)
        for p in parts
    )


def flops_by_part(parts: Sequence[Part]) -> dict[str, int]:
    """``{name: FLOPs}`` of each part (parts sharing a name are added), for reports."""
    out: dict[str, int] = {}
    for part in parts:
        out[part.name] = out.get(part.name, 0) + part_flops(part)
    return out


def macs_per_block(cfg: ModelConfig) -> tuple[int, int]:
    """Multiply-adds of the tokun encoder and decoder per latent (Linear layers only)."""
    widths = cfg.block_widths()
    enc = dec = 0
    applications = cfg.block_bytes
    for i, g in enumerate(cfg.token_dim):
        applications //= g
        enc += applications * g * widths[i] * widths[i + 1]
        dec += applications * widths[i + 1] * g * widths[i]
    dec += cfg.block_bytes * cfg.embed_dim * 256  # head
    dec += 2 * cfg.latent_dim * cfg.decoder_mlp  # the decoder's latent MLP
    return enc, dec
