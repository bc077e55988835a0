"""Verified decoding: each decoded block is re-encoded, and the decoder's rare slips are corrected.

A latent that came from the encoder (kept in float32, bfloat16 or int8) is the code of exactly one text.
Re-encoding the decoded text shows whether the decoder read it right: a right reading lands within
rounding of the latent, a slip lands a character's worth away. For the shipped models that is

    relative mismatch ||E(D(z)) - z|| / ||z||:   right reading <= 1e-6 (float32), <= 0.011 (int8 latents)
                                                 a wrong character >= 0.046

so blocks above ``flag`` (0.025) are searched: alternatives for each character from the decoder's top
``top`` values of each byte (one byte changed) and its runner-ups (two bytes changed), greedy, up to
``rounds`` characters per block, keeping the text whose encoding is nearest the latent. A block is
changed only when the search brings it at least ``gain`` times closer: nearest-codeword decoding, which
cannot make a right reading wrong, since a right reading is already the nearest codeword.

Latents that are not encoder outputs (a language model's predictions, noisy latents) lie near no
codeword and every block of them is flagged: when more than ``max_share`` of a chunk's blocks are, the
chunk is left as the decoder read it, at the cost of one re-encoding.

When the encoder's last tokenize block is linear (no latent activation, no attention: every shipped
model), the latent is a constant plus one term per slot of that block (a character for ``4x16``, four
for ``4x4x8``), since LayerNorm acts on each slot alone and centring is linear:

    E(t) = centre(b + sum_s W_s (LN(v_s(t)) + p_s)),   v_s: the lower levels' vector of slot s

so a candidate's latent is the current one plus the change of one term, a few small products instead of
a whole encode. Other models re-encode every candidate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from .model import BYTE_VALUES, Encoder

if TYPE_CHECKING:
    from .tokenizer import Tokenizer

CHAR_BYTES = 4


@dataclass(frozen=True)
class RepairConfig:
    """How verified decoding searches (module docstring)."""

    flag: float = 0.025  # relative mismatch above which a block is searched
    max_share: float = 0.05  # more flagged blocks than this share of a chunk: not encoder outputs, left alone
    min_blocks: int = 20  # chunks smaller than this are always searched (the share means little)
    top: int = 8  # values tried per byte (one byte changed at a time)
    rounds: int = 4  # characters changed per block at most
    gain: float = 0.5  # a block changes only if its distance to the latent falls below gain x the decoder's


class SlotTerms:
    """The terms of a linear last tokenize block: ``(M, slot_bytes)`` bytes of slot ``s`` -> ``(M, L)``."""

    def __init__(self, encoder: Encoder) -> None:
        last = encoder.blocks[-1]
        self.encoder = encoder
        self.slots = last.group
        self.slot_bytes = encoder.cfg.block_bytes // last.group
        width = last.proj.in_features // last.group
        self.weight = last.proj.weight.view(last.proj.out_features, last.group, width)  # (L, G, D)

    @staticmethod
    def applies(encoder: Encoder) -> bool:
        last = encoder.blocks[-1]
        return last.attention is None and isinstance(last.act, torch.nn.Identity)

    def __call__(self, data: torch.Tensor, slot: torch.Tensor) -> torch.Tensor:
        enc, last = self.encoder, self.encoder.blocks[-1]
        x = enc.embed(data.long())  # (M, slot_bytes, E)
        for block in enc.blocks[:-1]:
            x = block(x)  # (M, slot_bytes / G, D)
        v = last.norm(x.squeeze(1)) + last.position[slot]  # (M, D)
        term = torch.empty(len(v), self.weight.shape[0], dtype=v.dtype, device=v.device)  # (M, L)
        for s in slot.unique().tolist():
            rows = slot == s
            term[rows] = v[rows] @ self.weight[:, s].T  # (M_s, D) @ (D, L)
        term = term.float()
        return term - term.mean(-1, keepdim=True) if enc.cfg.center_latent else term


def alternatives(logp: torch.Tensor, top: int) -> torch.Tensor:
    """``(F, C, 4, 256)`` byte log-probabilities -> ``(F, C, A, 4)`` candidate characters: the decoder's
    reading with one byte set to each of that byte's ``top`` likeliest values, or two bytes to their runner-ups."""
    best = logp.argmax(-1)  # (F, C, 4)
    ranked = logp.topk(top, -1).indices  # (F, C, 4, top)
    out = []
    for j in range(CHAR_BYTES):
        alt = best.unsqueeze(2).repeat(1, 1, top, 1)  # (F, C, top, 4)
        alt[..., j] = ranked[..., j, :]
        out.append(alt)
    for j in range(CHAR_BYTES):
        for k in range(j + 1, CHAR_BYTES):
            alt = best.clone()
            alt[..., j], alt[..., k] = ranked[..., j, 1], ranked[..., k, 1]
            out.append(alt.unsqueeze(2))
    return torch.cat(out, 2)


@torch.inference_mode()
def repair(tok: Tokenizer, latents: torch.Tensor, read: np.ndarray, cfg: RepairConfig = RepairConfig()) -> np.ndarray:
    """``(N, L)`` latents and the decoder's ``(N, T)`` byte reading of them -> the reading with slips corrected."""
    z = latents.float().cpu()
    encoded = tok.encode_bytes(read)  # (N, L)
    mismatch = (encoded - z).norm(dim=-1)  # (N,)
    flagged = (mismatch > cfg.flag * z.norm(dim=-1)).nonzero().flatten()
    if len(flagged) == 0 or (len(z) >= cfg.min_blocks and len(flagged) > cfg.max_share * len(z)):
        return read
    dev, model = tok.device, tok.model
    zf, start, now = z[flagged].to(dev), mismatch[flagged].to(dev), encoded[flagged].to(dev)  # (F, L), (F,), (F, L)
    cur = torch.from_numpy(read[flagged.numpy()].astype(np.int64)).to(dev)  # (F, T): the decoder's reading
    logits = model.decoder(zf.to(next(model.parameters()).dtype)).float()  # (F, T, 256)
    f, t = cur.shape
    c = t // CHAR_BYTES
    alts = alternatives(torch.log_softmax(logits, -1).view(f, c, CHAR_BYTES, BYTE_VALUES), cfg.top)  # (F, C, A, 4)
    a = alts.shape[2]
    char = torch.arange(c, device=dev).repeat_interleave(a)  # (C*A,) the character each candidate changes
    pick = torch.arange(a, device=dev).repeat(c)  # (C*A,)
    every = torch.arange(c * a, device=dev)
    terms = SlotTerms(model.encoder) if SlotTerms.applies(model.encoder) else None
    dist = start.clone()
    for _ in range(cfg.rounds):
        trials = cur.view(f, c, CHAR_BYTES).unsqueeze(1).repeat(1, c * a, 1, 1)  # (F, C*A, C, 4)
        trials[:, every, char] = alts[:, char, pick]
        trials = trials.view(f, c * a, t)  # (F, C*A, T)
        if terms is not None:  # E(trial) = E(cur) + the change of the one slot term the trial changes
            slot = char * CHAR_BYTES // terms.slot_bytes  # (C*A,)
            idx = slot.unsqueeze(-1) * terms.slot_bytes + torch.arange(terms.slot_bytes, device=dev)  # (C*A, S)
            new = terms(trials[:, every.unsqueeze(-1), idx].reshape(-1, terms.slot_bytes), slot.repeat(f))
            old = terms(cur[:, idx].reshape(-1, terms.slot_bytes), slot.repeat(f))
            enc = now.unsqueeze(1) + (new - old).view(f, c * a, -1)  # (F, C*A, L)
        else:
            enc = tok.encode_bytes(trials.reshape(-1, t).cpu().numpy().astype(np.uint8)).to(dev).view(f, c * a, -1)
        d = (enc - zf.unsqueeze(1)).norm(dim=-1)  # (F, C*A)
        best, which = d.min(1)
        better = best < dist
        if not better.any():
            break
        rows = better.nonzero().flatten()
        cur[rows] = trials[rows, which[rows]]
        now[rows] = enc[rows, which[rows]]
        dist[rows] = best[rows]
    accept = (dist < cfg.gain * start).cpu().numpy()
    out = read.copy()
    out[flagged.numpy()[accept]] = cur.cpu().numpy()[accept].astype(np.uint8)
    return out
