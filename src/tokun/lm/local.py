"""The MEGABYTE-style local decoder: predicts the next patch unit by unit from the global model's state.

A patch language model's global transformer gives one state per patch, ``(B, P, D_global)``: the
state after patch p, which must predict patch p + 1. One state cannot express several likely
continuations if the patch's units are predicted independently ("cat" or "dog": c|d, a|o, t|g);
the local decoder makes the prediction autoregressive inside the patch:

    global state (B, P, Dg) -> Linear -> (B, P, U, D)      one projection per unit position (MEGABYTE)
    + embedding of unit u-1 (a learned start embedding for u = 0)
    -> causal transformer over the U units of each patch -> Linear -> logits (B, P, U, unit_vocab)

Units are the patch's UTF-32-BE bytes (``units = 4 * block_chars``, ``unit_vocab = 256``,
``char_units = 4``), or any other discrete units. A variable-length patch (a word, padded with
U+0000 to the block) ends at its first *end character*: ``char_units`` consecutive units, aligned to a
character, all equal to ``end_unit`` (for UTF-32 bytes, ``end_unit = 0``: the four zero bytes of the
first U+0000). With ``end_unit`` set, the decoder predicts that closing character and stops there:
:meth:`LocalDecoder.log_prob` scores the units up to and including it and none after, and
:meth:`LocalDecoder.sample` fills the rest with ``end_unit``. The patches that end at their first end
character, or run the full ``units``, form a prefix-free set that covers every unit sequence, so the
probabilities stay normalised (tested by exhaustive enumeration). A patch whose text contains U+0000
itself cannot be told apart from a shorter one in this scheme.

>>> cfg = LocalConfig(units=8, unit_vocab=256, global_dim=16, dim=32, layers=1, heads=2, end_unit=0, char_units=4)
>>> decoder = LocalDecoder(cfg)
>>> state, units = torch.zeros(2, 3, 16), torch.zeros(2, 3, 8, dtype=torch.long)
>>> decoder(state, units).shape, decoder.log_prob(state, units).shape
(torch.Size([2, 3, 8, 256]), torch.Size([2, 3]))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..core.errors import ConfigError, InputError
from .flops import Mode, Part
from .model import RMSNorm

BUCKETS = (4, 8, 12, 16, 24, 32, 48)  # units run for a patch: the first of these (or U) that holds its scored units


@dataclass(frozen=True)
class LocalConfig:
    units: int  # units per patch, U (4 * block_chars for UTF-32-BE bytes)
    unit_vocab: int = 256  # values a unit takes (256 for bytes)
    global_dim: int = 256  # width of the global model's state, Dg
    dim: int = 64  # width of the local transformer, D
    layers: int = 1
    heads: int = 2
    ffn: int = 0  # hidden width of the MLP; 0 = 4 * dim
    end_unit: int | None = None  # a patch ends at its first character made of this unit (None: fixed length)
    char_units: int = 1  # units per character: the end character is char_units aligned end units

    def __post_init__(self) -> None:
        if self.units < 1 or self.char_units < 1:
            raise ConfigError(f"local decoder: units {self.units} and char_units {self.char_units} must be at least 1")
        if self.dim % self.heads:
            raise ConfigError(f"local decoder: dim {self.dim} is not a multiple of heads {self.heads}")
        if self.units % self.char_units:
            raise ConfigError(f"local decoder: units {self.units} is not a multiple of char_units {self.char_units}")
        if self.end_unit is not None and not 0 <= self.end_unit < self.unit_vocab:
            raise ConfigError(
                f"local decoder: end_unit {self.end_unit} is outside the vocabulary 0..{self.unit_vocab - 1}"
            )

    @property
    def hidden(self) -> int:
        return self.ffn or 4 * self.dim


class LocalBlock(nn.Module):
    """Pre-norm causal self-attention + GELU MLP over the units of one patch."""

    def __init__(self, cfg: LocalConfig) -> None:
        super().__init__()
        self.heads = cfg.heads
        self.norm1, self.norm2 = RMSNorm(cfg.dim), RMSNorm(cfg.dim)
        self.qkv = nn.Linear(cfg.dim, 3 * cfg.dim, bias=False)
        self.out = nn.Linear(cfg.dim, cfg.dim, bias=False)
        self.mlp = nn.Sequential(
            nn.Linear(cfg.dim, cfg.hidden, bias=False), nn.GELU(), nn.Linear(cfg.hidden, cfg.dim, bias=False)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, u, d = x.shape  # (N, U, D), N = B * P
        q, k, v = self.qkv(self.norm1(x)).view(n, u, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (N, h, U, D/h)
        x = x + self.out(y.transpose(1, 2).reshape(n, u, d))  # (N, U, D)
        return x + self.mlp(self.norm2(x))

    def step(self, x: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, u: int) -> torch.Tensor:
        """Unit ``u`` alone, ``(N, 1, D)`` -> ``(N, 1, D)``, attending to units ``0..u``: its key and value are
        written at ``u`` of ``keys`` and ``values`` ``(N, h, U, D/h)``, which hold the units before it."""
        n, _, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(n, 1, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        keys[:, :, u : u + 1], values[:, :, u : u + 1] = k, v  # (N, h, 1, D/h) each
        y = F.scaled_dot_product_attention(q, keys[:, :, : u + 1], values[:, :, : u + 1])  # (N, h, 1, D/h)
        x = x + self.out(y.transpose(1, 2).reshape(n, 1, d))  # (N, 1, D)
        return x + self.mlp(self.norm2(x))


class LocalDecoder(nn.Module):
    """Logits of a patch's units given the global state before it: ``(B, P, Dg)``, ``(B, P, U)`` -> ``(B, P, U, V)``."""

    def __init__(self, cfg: LocalConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.slots = nn.Linear(cfg.global_dim, cfg.units * cfg.dim)  # per-position projections of the state
        self.embed = nn.Embedding(cfg.unit_vocab, cfg.dim)
        self.start = nn.Parameter(torch.zeros(cfg.dim))
        self.blocks = nn.ModuleList(LocalBlock(cfg) for _ in range(cfg.layers))
        self.norm = RMSNorm(cfg.dim)
        self.head = nn.Linear(cfg.dim, cfg.unit_vocab, bias=False)
        nn.init.normal_(self.embed.weight, std=0.02)
        nn.init.normal_(self.start, std=0.02)

    def forward(self, global_state: torch.Tensor, units: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits: position u sees the state and units ``0..u-1``. ``units`` may be shorter than U:
        only the projections of its ``n`` positions are computed."""
        b, p, n = units.shape  # (B, P, n), n <= U
        d = self.cfg.dim
        slots = F.linear(global_state, self.slots.weight[: n * d], self.slots.bias[: n * d]).view(b, p, n, d)
        previous = self.embed(units[..., :-1].long())  # (B, P, n-1, D)
        start = self.start.expand(b, p, 1, d)  # (B, P, 1, D)
        x = (slots + torch.cat((start, previous), dim=2)).reshape(b * p, n, d)  # (B*P, n, D)
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x)).view(b, p, n, self.cfg.unit_vocab)  # (B, P, n, V)

    def scored(self, units: torch.Tensor) -> torch.Tensor:
        """``(B, P, U)`` bool: the units a patch's likelihood counts (all, or up to its first end character)."""
        if self.cfg.end_unit is None:
            return torch.ones_like(units, dtype=torch.bool)
        ends = self.end_chars(units).long()  # (B, P, C)
        closed_before = (ends.cumsum(-1) - ends) > 0  # an end character strictly before this one
        return (~closed_before).repeat_interleave(self.cfg.char_units, dim=-1)  # (B, P, U)

    def end_chars(self, units: torch.Tensor) -> torch.Tensor:
        """``(B, P, C)`` bool: which whole characters (``C = n // char_units``) of ``(B, P, n)`` units are end characters."""
        b, p, n = units.shape
        width = self.cfg.char_units
        chars = units[..., : n - n % width].reshape(b, p, n // width, width)  # (B, P, C, char_units)
        return (chars == self.cfg.end_unit).all(-1)

    def lengths(self, units: torch.Tensor) -> torch.Tensor:
        """``(B, P)``: the units each patch's likelihood scores (up to and including its end character)."""
        return self.scored(units).sum(-1)

    def buckets(self, lengths: torch.Tensor) -> list[tuple[int, torch.Tensor]]:
        """The patches of ``(B, P)`` scored lengths grouped by the units run for them: ``[(n, flat indices)]``, each
        patch in the first bucket of ``BUCKETS`` (then U) that holds it. A patch costs about what it weighs: a batch
        of short words with one long run of Thai does not run every word to the Thai run's length."""
        flat = lengths.reshape(-1)  # (B*P,)
        edges = [e for e in BUCKETS if e < self.cfg.units] + [self.cfg.units]
        out, below = [], 0
        for edge in edges:
            idx = ((flat > below) & (flat <= edge)).nonzero().squeeze(-1)
            if idx.numel():
                out.append((int(min(edge, flat[idx].max())), idx))
            below = edge
        return out

    def runs(self, units: torch.Tensor) -> list[tuple[int, int]]:
        """``[(n, patches)]``: what :meth:`log_prob` runs for ``(B, P, U)`` units, for the FLOP counter."""
        return [(n, int(idx.numel())) for n, idx in self.buckets(self.lengths(units))]

    def log_prob(self, global_state: torch.Tensor, units: torch.Tensor, *, trim: bool = True) -> torch.Tensor:
        """``(B, P)`` summed log-probability (nats) of each patch's ``(B, P, U)`` units, the scored ones.

        Units after a patch's end character change nothing (they are neither scored nor attended to
        by the scored ones), so with ``trim`` each patch runs only as far as its bucket of lengths
        (:meth:`buckets`): the same result for less work (at the price of data-dependent shapes).
        """
        if units.shape[-1] != self.cfg.units:
            raise InputError(f"local decoder: patches of {units.shape[-1]} units, expected {self.cfg.units}")
        b, p, _ = units.shape
        if b * p == 0:
            return global_state.new_zeros(units.shape[:-1])
        if not trim:
            return self._log_prob(global_state, units)
        states, flat = global_state.reshape(b * p, -1), units.reshape(b * p, -1)  # (N, Dg), (N, U)
        order, parts = [], []
        for n, idx in self.buckets(self.lengths(units)):
            parts.append(self._log_prob(states[idx][None], flat[idx, :n][None])[0])  # (k,)
            order.append(idx)
        values = torch.cat(parts)  # (B*P,) in bucket order
        out = values.new_zeros(b * p).index_copy(0, torch.cat(order), values)
        return out.view(b, p)

    def _log_prob(self, global_state: torch.Tensor, units: torch.Tensor) -> torch.Tensor:
        """``(B, P)`` log-probability of the scored units among ``(B, P, n)`` (n <= U)."""
        mask = self.scored(units)  # (B, P, n)
        logits = self(global_state, units)  # (B, P, n, V)
        per_unit = logits.log_softmax(-1).gather(-1, units.long().unsqueeze(-1)).squeeze(-1)  # (B, P, n)
        return (per_unit * mask).sum(-1)

    def flop_parts(
        self, patches: int, *, runs: Sequence[tuple[int, int]] | None = None, mode: Mode = Mode.TRAINED
    ) -> list[Part]:
        """The decoder as :class:`~tokun.lm.flops.Part` s for ``patches`` patches run at all U units, or for
        ``runs``, ``[(n, patches)]`` (:meth:`runs`: what ``log_prob`` runs for a batch).

        The per-position projections and the blocks and head run once per unit run (the embedding is a
        lookup: no FLOPs); the attention of each group spans its ``n`` units.
        """
        runs = [(self.cfg.units, patches)] if runs is None else runs
        per_unit = sum(m.weight.numel() for m in self.modules() if isinstance(m, nn.Linear) and m is not self.slots)
        slot = self.cfg.global_dim * self.cfg.dim  # the projection of one unit position
        return [Part("local slots", slot, sum(n * k for n, k in runs), mode)] + [
            Part("local decoder", per_unit, n * k, mode, self.cfg.layers, n, self.cfg.dim) for n, k in runs
        ]

    @torch.no_grad()
    def sample(
        self,
        global_state: torch.Tensor,
        *,
        temperature: float = 1.0,
        top_p: float = 1.0,
        generator: torch.Generator | None = None,
        forced: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``(B, P, U)`` units drawn unit by unit; after a patch's end character, the rest is ``end_unit``.

        ``temperature == 0`` takes the most likely unit; ``top_p < 1`` samples from the smallest set of
        units whose probabilities reach ``top_p`` (nucleus sampling). Each unit runs the local transformer on
        itself alone, with the keys and values of the units before it cached: the logits of :meth:`forward`
        at a fraction of the work (tested). With ``forced`` ``(B, P, U)`` units, every draw is made and then
        replaced by the forced unit: the work of writing a given text (generation speed on the same text for
        every model).
        """
        b, p, _ = global_state.shape
        cfg, n, d = self.cfg, b * p, self.cfg.dim
        slots = self.slots(global_state).view(n, cfg.units, d)  # (N, U, D): every unit position's projection
        shape = (n, cfg.heads, cfg.units, d // cfg.heads)
        caches = [(slots.new_empty(shape), slots.new_empty(shape)) for _ in self.blocks]  # keys, values per block
        units = torch.full((n, cfg.units), cfg.end_unit or 0, dtype=torch.long, device=global_state.device)
        ended = torch.zeros(n, dtype=torch.bool, device=global_state.device)  # (N,): closed by an end character
        previous = self.start.expand(n, 1, d)  # (N, 1, D): the embedding of the unit before
        if forced is not None:
            if forced.shape != (b, p, cfg.units):
                raise InputError(f"local decoder: forced units {tuple(forced.shape)}, expected {(b, p, cfg.units)}")
            forced = forced.reshape(n, cfg.units).long()
        for u in range(cfg.units):
            x = slots[:, u : u + 1] + previous  # (N, 1, D)
            for block, (keys, values) in zip(self.blocks, caches, strict=True):
                x = block.step(x, keys, values, u)
            logits = self.head(self.norm(x))[:, 0].float()  # (N, V)
            drawn = draw(logits, temperature=temperature, top_p=top_p, generator=generator)  # (N,)
            if forced is not None:
                drawn = forced[:, u]
            units[:, u] = drawn if cfg.end_unit is None else drawn.masked_fill(ended, cfg.end_unit)
            previous = self.embed(drawn)[:, None]  # (N, 1, D)
            if cfg.end_unit is not None and (u + 1) % cfg.char_units == 0:
                ended |= (units[:, u + 1 - cfg.char_units : u + 1] == cfg.end_unit).all(-1)
                if bool(ended.all()):
                    break  # every patch has closed: the rest is end_unit already
        return units.view(b, p, cfg.units)


def draw(
    logits: torch.Tensor, *, temperature: float = 1.0, top_p: float = 1.0, generator: torch.Generator | None = None
) -> torch.Tensor:
    """One draw per row of ``(..., V)`` logits: argmax at temperature 0, else nucleus sampling."""
    if temperature == 0:
        return logits.argmax(-1)
    probs = (logits / temperature).softmax(-1)
    flat = probs.reshape(-1, probs.shape[-1])  # (N, V)
    if top_p < 1.0:
        sorted_probs, order = flat.sort(-1, descending=True)  # (N, V)
        outside = sorted_probs.cumsum(-1) - sorted_probs >= top_p  # mass before this unit already reaches top_p
        flat = torch.zeros_like(flat).scatter(-1, order, sorted_probs.masked_fill(outside, 0.0))
    picks = torch.multinomial(flat, 1, generator=generator).squeeze(-1)  # (N,)
    return picks.view(probs.shape[:-1])
