"""Inference-only algebra: the first tokenize block folded into lookup tables.

Without attention, the first block computes, for each group of G bytes b_0..b_{G-1},

    act(W @ concat_j(LN(embed(b_j)) + p_j) + bias) = act(sum_j T_j[b_j])
    with T_j = (LN(embed) + p_j) @ W_j^T  (256, H) and the bias added to T_0,

since LayerNorm of a per-byte embedding depends on the byte alone. So G table lookups and a sum
(``F.embedding_bag``) replace the (G*E -> H) matrix product: for ``4x16`` 4 x 256 additions per
character instead of 1024 x 256 multiply-adds. Outputs equal the plain encoder's to float tolerance.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .model import BYTE_VALUES, Encoder


class FoldedEncoder(nn.Module):
    """Same function as ``encoder`` (eval mode), first block as tables. ``(..., N, T)`` bytes -> ``(..., N, L)``."""

    def __init__(self, encoder: Encoder) -> None:
        super().__init__()
        cfg = encoder.cfg
        if cfg.attention:
            raise ValueError("the first block cannot be folded into tables when it has attention")
        self.cfg = cfg
        first = encoder.blocks[0]
        g = first.group
        with torch.no_grad():
            table = first.norm(encoder.embed.weight)  # (256, E)
            slots = table.unsqueeze(0) + first.position.unsqueeze(1)  # (G, 256, E)
            w = first.proj.weight.view(first.proj.out_features, g, -1)  # (H, G, E)
            folded = torch.einsum("gve,hge->gvh", slots, w)  # (G, 256, H)
            folded[0] += first.proj.bias
        self.register_buffer("tables", folded.reshape(g * BYTE_VALUES, -1).contiguous())  # (G*256, H)
        self.register_buffer("offsets", torch.arange(g) * BYTE_VALUES)  # (G,)
        self.group = g
        self.act = first.act
        self.blocks = encoder.blocks[1:]

    def forward(self, data: torch.Tensor) -> torch.Tensor:
        lead = data.shape[:-1]
        b, t = data.reshape(-1, data.shape[-1]).shape
        idx = data.reshape(-1, self.group).long() + self.offsets  # (B*T/G, G)
        x = self.act(F.embedding_bag(idx, self.tables, mode="sum"))  # (B*T/G, H)
        x = x.view(b, t // self.group, -1)  # (B, T/G, H)
        for block in self.blocks:
            x = block(x)  # (B, S/G, D)
        if self.cfg.center_latent:
            x = x - x.mean(-1, keepdim=True)
        return x.view(*lead, self.cfg.latent_dim)  # (..., L)
