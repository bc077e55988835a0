"""The per-slot algebra of a linear last tokenize block, which makes verified and posterior decoding cheap.

When the encoder's last tokenize block is linear (no latent activation, no attention: every shipped
model), the latent is a constant plus one term per slot of that block (a character for ``4x16``, four
for ``4x4x8``), since LayerNorm acts on each slot alone and centring is linear:

    E(t) = centre(b + sum_s W_s (LN(v_s(t)) + p_s)),   v_s: the lower levels' vector of slot s

so a candidate's latent is the current one plus the change of one term, and its distance to the latent
follows from that slot vector's change through the slot's (D, D) Gram matrix: a few small products instead
of a whole encode.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

from ..core.folded import FoldedEncoder
from ..core.model import Encoder

CHAR_BYTES = 4  # UTF-32-BE
MAX_PLANE = 16  # the second byte of a scalar value


def scalar_values(chars: torch.Tensor) -> torch.Tensor:
    """``(..., 4)`` UTF-32-BE bytes -> ``(...)`` bool: a Unicode scalar value (at most U+10FFFF, no surrogate)."""
    b0, b1, b2 = chars[..., 0], chars[..., 1], chars[..., 2]
    return (b0 == 0) & (b1 <= 0x10) & ~((b1 == 0) & (b2 >= 0xD8) & (b2 <= 0xDF))


def read_scalar_values(logits: torch.Tensor) -> torch.Tensor:
    """``(..., T, 256)`` byte logits -> ``(..., T)`` int64: at each character, byte by byte, the likeliest value that
    a Unicode scalar value can hold there: byte 0 is 0, byte 1 at most 0x10, bytes 2 and 3 any (a surrogate is left
    to verification). Wherever the plain argmax reads such bytes it reads the same; elsewhere it was wrong for any
    text. (`Inference.read` gets the same reading without scoring the values it never picks.)"""
    chars = logits.unflatten(-2, (-1, CHAR_BYTES))  # (..., C, 4, 256)
    plane = chars[..., 1, : MAX_PLANE + 1].argmax(-1)  # (..., C)
    low = chars[..., 2:, :].argmax(-1)  # (..., C, 2)
    return torch.cat([torch.zeros_like(plane)[..., None], plane[..., None], low], -1).flatten(-2)  # (..., T)


def codepoints(chars: torch.Tensor) -> torch.Tensor:
    """``(..., 4)`` UTF-32-BE bytes (int64) -> ``(...)`` codepoints."""
    return (chars[..., 0] << 24) | (chars[..., 1] << 16) | (chars[..., 2] << 8) | chars[..., 3]


class SlotTerms:
    """The terms of a linear last tokenize block: ``(M, slot_bytes)`` bytes of slot ``s`` -> ``(M, L)``.

    The levels below the last block run through ``fast`` when given (the tokenizer's encoder, whose first block
    is folded into tables: :mod:`tokun.fast`), else through ``encoder``'s own blocks."""

    def __init__(self, encoder: Encoder, fast: torch.nn.Module | None = None) -> None:
        last = encoder.blocks[-1]
        self.encoder, self.fast, self.last = encoder, fast if isinstance(fast, FoldedEncoder) else None, last
        self.slots = last.group
        self.slot_bytes = encoder.cfg.block_bytes // last.group
        weight = encoder.slot_weights().detach().float()  # (L, G, D)
        self.centred = weight  # (L, G, D): what a slot vector's change does to the latent
        self.gram = torch.einsum("lgd,lge->gde", weight, weight)  # (G, D, D)

    @functools.cached_property
    def gram_pinv(self) -> torch.Tensor:
        """``(G, D, D)``: each slot's Gram matrix pseudo-inverted (the deep search's least squares)."""
        return torch.linalg.pinv(self.gram)

    @staticmethod
    def applies(encoder: Encoder) -> bool:
        last = encoder.blocks[-1]
        return len(encoder.blocks) > 1 and last.attention is None and isinstance(last.act, torch.nn.Identity)

    def below(self, data: torch.Tensor) -> torch.Tensor:
        """``(M, slot_bytes)`` bytes -> ``(M, D)``: the slot's vector as the last block receives it."""
        if self.fast is not None:
            fast = self.fast
            idx = data.reshape(-1, fast.group) + fast.offsets  # (M*S/G1, G1)
            x = fast.act(F.embedding_bag(idx, fast.tables, mode="sum")).view(len(data), -1, fast.tables.shape[1])
            blocks = list(fast.blocks)[:-1]
        else:
            x = self.encoder.embed(data.long())  # (M, S, E)
            blocks = list(self.encoder.blocks)[:-1]
        for block in blocks:
            x = block(x)  # (M, S', D)
        return x.squeeze(1)

    def vectors(self, data: torch.Tensor, slot: torch.Tensor) -> torch.Tensor:
        """``(M, slot_bytes)`` bytes of slot ``slot`` -> ``(M, D)`` float32: the vector the last Linear weighs."""
        return (self.last.norm(self.below(data)) + self.last.position[slot]).float()

    def squared_distances(self, r: torch.Tensor, delta: torch.Tensor, slot: torch.Tensor) -> torch.Tensor:
        """``(R, L)`` residuals E(cur) - z and ``(R, n, D)`` changes of slot ``slot`` (``(n,)``) -> ``(R, n)``
        squared distances ||r + C W_s delta||^2, through the ``(D, D)`` Gram matrix of each slot: no ``(R, n, L)``
        tensor."""

        def change(part: torch.Tensor, s: int) -> torch.Tensor:  # (R, n_s, D) of slot s -> (R, n_s)
            lin = (r @ self.centred[:, s]).unsqueeze(1)  # (R, 1, D): r C W_s
            return 2 * (lin * part).sum(-1) + ((part @ self.gram[s]) * part).sum(-1)

        base = r.pow(2).sum(-1, keepdim=True)  # (R, 1)
        slots = slot.unique().tolist()
        if len(slots) == 1:  # one slot (the posterior's case): no masks
            return (base + change(delta, slots[0])).clamp_min(0)
        d2 = base.expand(delta.shape[:2]).clone()  # (R, n)
        for s in slots:
            cols = slot == s
            d2[:, cols] += change(delta[:, cols], s)
        return d2.clamp_min(0)

    def distances(self, r: torch.Tensor, delta: torch.Tensor, slot: torch.Tensor) -> torch.Tensor:
        """:meth:`squared_distances`, square-rooted."""
        return self.squared_distances(r, delta, slot).sqrt()

    def __call__(self, data: torch.Tensor, slot: torch.Tensor) -> torch.Tensor:
        """``(M, L)`` terms: the latent is their sum over a block's slots plus a constant."""
        v = self.vectors(data, slot)  # (M, D)
        term = torch.empty(len(v), self.centred.shape[0], device=v.device)  # (M, L)
        for s in slot.unique().tolist():
            rows = slot == s
            term[rows] = v[rows] @ self.centred[:, s].T  # (M_s, D) @ (D, L)
        return term

    def explained_share(self, r: torch.Tensor) -> torch.Tensor:
        """``(R, L)`` residuals -> ``(R,)`` the largest share of ``||r||^2`` that a change of one slot's vector can
        explain (least squares through each slot's Gram matrix). A decoder's slip in one slot gives 1; noise spread
        evenly over the L dimensions gives about D / L (0.5 for the shipped models)."""
        lin = torch.einsum("rl,lgd->rgd", r, self.centred)  # (R, G, D): r C W_s
        explained = torch.einsum("rgd,gde,rge->rg", lin, self.gram_pinv, lin)  # (R, G)
        return explained.max(-1).values / r.pow(2).sum(-1).clamp_min(1e-30)
