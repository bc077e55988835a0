"""Verified decoding: each decoded block is re-encoded, and the decoder's rare slips are corrected.

A latent that came from the encoder (kept in float32, bfloat16 or int8) is the code of exactly one text.
Re-encoding the decoded text shows whether the decoder read it right: a right reading lands within
rounding of the latent, a slip lands a character's worth away. For the shipped models that is

    relative mismatch ||E(D(z)) - z|| / ||z||:   right reading 0 (float32), <= 0.012 (int8 latents)
                                                 a wrong character >= 0.047
(``python scripts/repair_stats.py ../shared/corpora``)

so blocks above ``flag`` (0.025) are searched: alternatives for each character from the decoder's top
``top`` values of each byte (one byte changed) and its runner-ups (two to four bytes changed), greedy, up to
``rounds`` characters per block, keeping the text whose encoding is nearest the latent. Blocks this
leaves far from every codeword get a wide search: every value of one byte, alone or next to one of another
byte's ``RUNNER_UPS`` runner-ups (the decoder guesses each byte on its own, so when it slips on a high byte
the right low byte can be far down its list); the few still far, a deep one (:func:`deep`): every character of
the likeliest planes in the slot that best explains the residual. A block is changed only when the search
brings it at least ``gain`` times closer: nearest-codeword decoding, which cannot make a right reading wrong,
since a right reading is already the nearest codeword.

Latents that are not encoder outputs (a language model's predictions, noisy latents) lie near no
codeword and every block of them is flagged: when more than ``max_share`` (half) of the blocks of a call
are, and more than ``few`` (4), nearest-codeword decoding is the wrong rule (wrong codewords, often of
characters no text uses, lie nearer than the right one), and without a prior they are left as the decoder
read them. With a character prior (:mod:`tokun.prior`) they are decoded by their posterior instead
(:func:`posterior`): the text that maximises

    log p(text) + w log p_decoder(text | z) - ||E(text) - z||^2 / (2 s^2)

where s^2 is the noise variance per dimension, estimated from the call's own residuals ||E(D(z)) - z||^2 / L,
over each position's ``posterior_top`` likeliest characters under the decoder (:func:`posterior_alternatives`),
greedy, ``posterior_rounds`` characters per block.

For centred models (zero-sum codewords, a decoder blind to a common shift) every latent's mean over its
dimensions is removed first: a shift common to every dimension (most of the structured noise of ``tokun noise``)
is no evidence against any text, and a shifted codeword is still an encoder output.

When the encoder's last tokenize block is linear (no latent activation, no attention: every shipped
model), the latent is a constant plus one term per slot of that block (a character for ``4x16``, four
for ``4x4x8``), since LayerNorm acts on each slot alone and centring is linear:

    E(t) = centre(b + sum_s W_s (LN(v_s(t)) + p_s)),   v_s: the lower levels' vector of slot s

so a candidate's latent is the current one plus the change of one term, and its distance to the latent
follows from that slot vector's change through the slot's (D, D) Gram matrix: a few small products instead
of a whole encode. Other models re-encode every candidate.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from ..core.folded import FoldedEncoder
from ..core.model import BYTE_VALUES, Encoder

if TYPE_CHECKING:
    from .tokenizer import Tokenizer

CHAR_BYTES = 4
RUNNER_UPS = 2  # of one byte, next to every value of another, in the wide search
MAX_PLANE = 16  # the second byte of a scalar value


@dataclass(frozen=True)
class RepairConfig:
    """How verified decoding searches (module docstring)."""

    flag: float = 0.025  # relative mismatch above which a block is searched
    max_share: float = 0.5  # more flagged blocks than this share of a call: not encoder outputs, left alone
    few: int = 4  # up to this many flagged blocks are searched whatever their share (short texts)
    group: int = 256  # flagged blocks searched together (bounded memory)
    top: int = 8  # values tried per byte (one byte changed at a time)
    rounds: int = 4  # characters changed per block at most
    gain: float = 0.5  # a block changes only if its distance to the latent falls below gain x the decoder's
    posterior_top: int = 24  # noisy latents with a prior: characters tried per position
    posterior_rounds: int = 8  # characters changed per block at most
    decoder_weight: float = 0.5  # w, the weight of the decoder's own log-probabilities in the posterior
    posterior_group: int = 512  # blocks searched together (bounded memory: ~200 MB of candidate vectors)


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


def alternatives(logp: torch.Tensor, top: int) -> torch.Tensor:
    """``(F, C, 4, 256)`` byte log-probabilities -> ``(F, C, A, 4)`` candidate characters: the decoder's
    reading with one byte set to each of that byte's ``top`` likeliest values, or two, three or four bytes to
    their runner-ups ('a', U+0061, read as U+13D04: three bytes, each right at rank 2)."""
    best = logp.argmax(-1)  # (F, C, 4)
    ranked = logp.topk(top, -1).indices  # (F, C, 4, top)
    out = []
    for j in range(CHAR_BYTES):
        alt = best.unsqueeze(2).repeat(1, 1, top, 1)  # (F, C, top, 4)
        alt[..., j] = ranked[..., j, :]
        out.append(alt)
    for size in range(2, CHAR_BYTES + 1):
        for which in map(list, itertools.combinations(range(CHAR_BYTES), size)):
            alt = best.clone()
            alt[..., which] = ranked[..., which, 1]
            out.append(alt.unsqueeze(2))
    return torch.cat(out, 2)


def wide_alternatives(logp: torch.Tensor) -> torch.Tensor:
    """``(F, C, 4, 256)`` byte log-probabilities -> ``(F, C, A, 4)``: the decoder's reading (first byte 0, as in
    every Unicode scalar value) with every possible value of one byte, alone or next to one of another byte's
    ``RUNNER_UPS`` runner-ups (2,645 a character). The decoder guesses each byte on its own, so a slip of a high
    byte can leave the right low byte far down its list (U+2E41 read as U+1E941: the third byte's right value
    78th; in Han text, the plane byte's right value 4th and the next byte's 3rd, or 3rd and 12th)."""
    ranked = logp.topk(1 + RUNNER_UPS, -1).indices  # (F, C, 4, 1 + R)
    chars = ranked[..., 0].clone()  # (F, C, 4)
    chars[..., 0] = 0
    out = []
    for j in range(1, CHAR_BYTES):
        values = torch.arange(0x11 if j == 1 else BYTE_VALUES, device=logp.device)  # planes 0-16, or any byte
        one = chars.unsqueeze(2).repeat(1, 1, len(values), 1)  # (F, C, V, 4)
        one[..., j] = values
        out.append(one)
        for k in range(1, CHAR_BYTES):
            for r in range(1, 1 + RUNNER_UPS) if k != j else ():
                two = one.clone()
                two[..., k] = ranked[..., k, r].unsqueeze(-1)
                out.append(two)
    return torch.cat(out, 2)


def deep(
    tok: Tokenizer,
    terms: SlotTerms,
    z: torch.Tensor,
    cur: torch.Tensor,
    now: torch.Tensor,
    dist: torch.Tensor,
    logp: torch.Tensor,
    rounds: int,
    near: float,
    gain: float,
    *,
    slots: int = 1,
    planes: int = 4,
    batch: int = 32768,
) -> None:
    """The last resort for one block (``(L,)`` latent, ``(T,)`` bytes ``cur``, ``(1, L)`` encoding ``now``, ``(1,)``
    distance ``dist``, updated in place) that the wide search left far from every codeword: up to ``rounds``
    times, every character of the decoder's ``planes`` likeliest planes (262,144) in every character position of
    the ``slots`` slot(s) whose change could best explain the residual (least squares through each slot's Gram
    matrix), the nearest one kept if it is at least ``gain`` times nearer than the block was. A slip of two low
    bytes both far down the decoder's lists (U+10072 read as U+17176; 'a' as the surrogate U+D804; U+3087 as
    U+30002, its plane third on the decoder's list) is found so, a few times per million random characters."""
    size, dev = terms.slot_bytes, cur.device
    values = torch.arange(BYTE_VALUES * BYTE_VALUES, device=dev)  # every (byte 2, byte 3)
    for _ in range(rounds):
        r = (now - z).view(-1)  # (L,)
        lin = torch.einsum("l,lgd->gd", r, terms.centred)  # (G, D): r C W_s
        explained = (lin.unsqueeze(1) @ terms.gram_pinv @ lin.unsqueeze(-1)).flatten()  # (G,)
        best, change = float(dist), None
        for s in explained.topk(min(slots, terms.slots)).indices.tolist():
            data = cur[s * size : (s + 1) * size]  # (S,)
            old = terms.vectors(data.unsqueeze(0), torch.tensor([s], device=dev))  # (1, D)
            for at in range(0, size, CHAR_BYTES):
                plane = logp[(s * size + at) // CHAR_BYTES, 1, : MAX_PLANE + 1].topk(planes).indices  # (P,)
                chars = torch.zeros(planes, len(values), CHAR_BYTES, dtype=torch.long, device=dev)
                chars[..., 1] = plane.unsqueeze(-1)
                chars[..., 2], chars[..., 3] = values // BYTE_VALUES, values % BYTE_VALUES
                chars = chars.view(-1, CHAR_BYTES)
                chars = chars[scalar_values(chars)]  # (n, 4)
                for lo in range(0, len(chars), batch):
                    trial = data.unsqueeze(0).repeat(len(chars[lo : lo + batch]), 1)  # (n, S)
                    trial[:, at : at + CHAR_BYTES] = chars[lo : lo + batch]
                    delta = terms.vectors(trial, torch.full((len(trial),), s, device=dev)) - old  # (n, D)
                    d = terms.distances(r.unsqueeze(0), delta.unsqueeze(0), torch.tensor([s], device=dev))[0]
                    got, w = d.min(0)
                    if float(got) < best:
                        best, change = float(got), (s * size + at, chars[lo + int(w)])
        if change is None or best > gain * float(dist):  # a slip's character explains most of the residual
            return
        cur[change[0] : change[0] + CHAR_BYTES] = change[1]
        now[:] = tok.encode_bytes(cur.unsqueeze(0).cpu().numpy().astype(np.uint8)).to(dev)  # exact, no drift
        dist[:] = (now - z).norm(dim=-1)
        if float(dist) <= near:
            return


def scalar_values(chars: torch.Tensor) -> torch.Tensor:
    """``(..., 4)`` UTF-32-BE bytes -> ``(...)`` bool: a Unicode scalar value (at most U+10FFFF, no surrogate)."""
    b0, b1, b2 = chars[..., 0], chars[..., 1], chars[..., 2]
    return (b0 == 0) & (b1 <= 0x10) & ~((b1 == 0) & (b2 >= 0xD8) & (b2 <= 0xDF))


def greedy(
    tok: Tokenizer,
    terms: SlotTerms | None,
    z: torch.Tensor,
    cur: torch.Tensor,
    now: torch.Tensor,
    dist: torch.Tensor,
    alts: torch.Tensor,
    rounds: int,
    *,
    done: torch.Tensor | None = None,
    batch: int = 16384,
) -> None:
    """Up to ``rounds`` times, change the one character (of ``alts``, ``(F, C, A, 4)``) that brings each block's
    encoding ``now`` nearest its latent ``z``, while that gets nearer and ``dist`` stays above ``done`` (``(F,)``,
    default 0). Updates ``cur`` (bytes), ``now`` and ``dist`` in place. Candidates are encoded ``batch`` at a
    time (bounded memory)."""
    t = cur.shape[1]
    c, a = t // CHAR_BYTES, alts.shape[2]
    dev = cur.device
    char = torch.arange(c, device=dev).repeat_interleave(a)  # (C*A,) the character each candidate changes
    pick = torch.arange(a, device=dev).repeat(c)  # (C*A,)
    span = torch.arange(CHAR_BYTES, device=dev)
    valid = scalar_values(alts[:, char, pick])  # (F, C*A)
    done = torch.zeros_like(dist) if done is None else done

    def distances(rows: torch.Tensor, sel: torch.Tensor, old: torch.Tensor | None) -> torch.Tensor:
        """``(R,)`` blocks, ``(n,)`` candidates -> ``(R, n)`` distances of their encodings to the latents."""
        r, n = len(rows), len(sel)
        if terms is None:
            trials = cur[rows].view(r, c, CHAR_BYTES).unsqueeze(1).repeat(1, n, 1, 1)  # (R, n, C, 4)
            trials[:, torch.arange(n, device=dev), char[sel]] = alts[rows][:, char[sel], pick[sel]]
            enc = tok.encode_bytes(trials.view(-1, t).cpu().numpy().astype(np.uint8)).to(dev).view(r, n, -1)
            return (enc - z[rows].unsqueeze(1)).norm(dim=-1)
        size = terms.slot_bytes  # E(candidate) = E(cur) + the change of the one slot vector it changes
        slot = char[sel] * CHAR_BYTES // size  # (n,)
        data = cur[rows].view(r, t // size, size)[:, slot]  # (R, n, S)
        at = (char[sel] * CHAR_BYTES % size).unsqueeze(-1) + span  # (n, 4)
        data[:, torch.arange(n, device=dev).unsqueeze(-1), at] = alts[rows][:, char[sel], pick[sel]]
        delta = terms.vectors(data.reshape(-1, size), slot.repeat(r)).view(r, n, -1) - old[:, slot]  # (R, n, D)
        return terms.distances(now[rows] - z[rows], delta, slot)

    for _ in range(rounds):
        rows = (dist > done).nonzero().flatten()  # blocks still searching
        if len(rows) == 0:
            return
        old = None
        if terms is not None:  # (R, G, D): the current slot vectors
            slots = torch.arange(t // terms.slot_bytes, device=dev)
            old = terms.vectors(cur[rows].view(-1, terms.slot_bytes), slots.repeat(len(rows))).view(
                len(rows), len(slots), -1
            )
        best = torch.full((len(rows),), torch.inf, device=dev)
        which = torch.zeros(len(rows), dtype=torch.long, device=dev)
        step = max(1, batch // len(rows))
        for lo in range(0, c * a, step):
            sel = torch.arange(lo, min(lo + step, c * a), device=dev)
            d = distances(rows, sel, old)  # (R, n)
            d[~valid[rows][:, sel]] = torch.inf  # text is made of Unicode scalar values, so are the candidates
            got, w = d.min(1)
            nearer = got < best
            best[nearer], which[nearer] = got[nearer], sel[w[nearer]]
        keep = best < dist[rows]
        rows, which = rows[keep], which[keep]
        if len(rows) == 0:
            return
        at = (char[which] * CHAR_BYTES).unsqueeze(-1) + span  # (R', 4)
        cur[rows.unsqueeze(-1), at] = alts[rows, char[which], pick[which]]
        now[rows] = tok.encode_bytes(cur[rows].cpu().numpy().astype(np.uint8)).to(dev)  # exact, no drift
        dist[rows] = (now[rows] - z[rows]).norm(dim=-1)


@torch.inference_mode()
def repair(tok: Tokenizer, latents: torch.Tensor, read: np.ndarray, cfg: RepairConfig = RepairConfig()) -> np.ndarray:
    """``(N, L)`` latents and the decoder's ``(N, T)`` byte reading of them -> the reading with slips corrected.

    Whether the latents are taken as encoder outputs is decided over the whole call (``max_share``, ``few``)."""
    z = latents.float().cpu()
    if tok.model.cfg.center_latent:  # codewords sum to zero: a shift common to every dimension is no evidence
        z = z - z.mean(-1, keepdim=True)
    encoded = tok.encode_bytes(read)  # (N, L)
    mismatch = (encoded - z).norm(dim=-1)  # (N,)
    norm = z.norm(dim=-1)  # (N,)
    flagged = (mismatch > cfg.flag * norm).nonzero().flatten()
    if len(flagged) > max(cfg.max_share * len(z), cfg.few):  # no encoder outputs: noisy latents
        if tok.prior is None or tok.slot_terms is None or tok.slot_terms.slot_bytes != CHAR_BYTES:
            return read
        s2 = float((encoded - z).pow(2).sum() / z.numel())  # the noise variance per dimension, if the reading is right
        out = read.copy()
        for lo in range(0, len(z), cfg.posterior_group):
            rows = slice(lo, lo + cfg.posterior_group)
            out[rows] = posterior(tok, z[rows], read[rows], encoded[rows], s2, cfg)
        return out
    if len(flagged) == 0:
        return read
    out = read.copy()
    for group in flagged.split(cfg.group):
        rows = group.numpy()
        out[rows] = _search(tok, z[group], read[rows], encoded[group], mismatch[group], norm[group], cfg)
    return out


def _search(
    tok: Tokenizer,
    z: torch.Tensor,
    read: np.ndarray,
    encoded: torch.Tensor,
    mismatch: torch.Tensor,
    norm: torch.Tensor,
    cfg: RepairConfig,
) -> np.ndarray:
    """The search on ``(F, ...)`` flagged blocks: their corrected reading."""
    dev = tok.device
    zf, start, now = z.to(dev), mismatch.to(dev), encoded.to(dev)  # (F, L), (F,), (F, L)
    cur = torch.from_numpy(read.astype(np.int64)).to(dev)  # (F, T): the decoder's reading
    logits = tok.decoder(zf.to(tok.decode_dtype)).float()  # (F, T, 256)
    f, t = cur.shape
    logp = torch.log_softmax(logits, -1).view(f, t // CHAR_BYTES, CHAR_BYTES, BYTE_VALUES)
    terms = tok.slot_terms
    dist = start.clone()
    near = cfg.flag * norm.to(dev)  # (F,) within this, a reading is taken as right: stop searching
    greedy(tok, terms, zf, cur, now, dist, alternatives(logp, cfg.top), cfg.rounds, done=near)
    far = (dist > near).nonzero().flatten()
    if terms is not None and len(far):  # still far from every codeword: every value of the slipped bytes
        sub = [zf[far], cur[far], now[far], dist[far]]
        greedy(tok, terms, *sub, wide_alternatives(logp[far]), cfg.rounds, done=near[far])
        cur[far], now[far], dist[far] = sub[1:]
        for b in far[dist[far] > near[far]].tolist():  # rarer still: any character of the likeliest planes
            deep(
                tok,
                terms,
                zf[b],
                cur[b],
                now[b : b + 1],
                dist[b : b + 1],
                logp[b],
                cfg.rounds,
                float(near[b]),
                cfg.gain,
            )
    accept = (dist < cfg.gain * start).cpu().numpy()
    out = read.copy()
    out[accept] = cur.cpu().numpy()[accept].astype(np.uint8)
    return out


def posterior_alternatives(logp: torch.Tensor, top: int, *, planes: int = 4, width: int = 16) -> torch.Tensor:
    """``(F, C, 4, 256)`` byte log-probabilities -> ``(F, C, top, 4)`` candidate characters for the posterior: the
    ``top`` likeliest characters under the decoder's bytes taken as independent (the sum of their log-
    probabilities), among the ``planes`` likeliest planes (byte 1, 0-16) and the ``width`` likeliest values of
    each low byte (the first byte of a scalar value is 0). The decoder's reading is the first of them."""
    f, c = logp.shape[:2]
    plane = logp[..., 1, : MAX_PLANE + 1].topk(planes, -1)  # (F, C, P)
    mid, low = logp[..., 2, :].topk(width, -1), logp[..., 3, :].topk(width, -1)  # (F, C, W)
    total = plane.values[..., :, None, None] + mid.values[..., None, :, None] + low.values[..., None, None, :]
    best = total.view(f, c, -1).topk(top, -1).indices  # (F, C, top) into (P, W, W)
    out = torch.zeros(f, c, top, CHAR_BYTES, dtype=torch.long, device=logp.device)
    out[..., 1] = plane.indices.gather(-1, best // (width * width))
    out[..., 2] = mid.indices.gather(-1, best // width % width)
    out[..., 3] = low.indices.gather(-1, best % width)
    return out


def codepoints(chars: torch.Tensor) -> torch.Tensor:
    """``(..., 4)`` UTF-32-BE bytes (int64) -> ``(...)`` codepoints."""
    return (chars[..., 0] << 24) | (chars[..., 1] << 16) | (chars[..., 2] << 8) | chars[..., 3]


def posterior(
    tok: Tokenizer, z: torch.Tensor, read: np.ndarray, encoded: torch.Tensor, s2: float, cfg: RepairConfig
) -> np.ndarray:
    """``(F, L)`` noisy latents, the decoder's ``(F, T)`` reading and its ``(F, L)`` encoding -> the reading that
    maximises the posterior (module docstring) under noise of variance ``s2`` per dimension, by greedy changes
    of one character (the candidates of :func:`posterior_alternatives`). Needs a prior and one character per slot of the
    last tokenize block. U+0000 pads a text's last block: read as such, it stays; it is never a candidate."""
    prior, terms = tok.prior, tok.slot_terms
    assert prior is not None and terms is not None
    dev = tok.device
    zf = z.to(dev)
    f, t = read.shape
    c = t // CHAR_BYTES
    cur = torch.from_numpy(read.astype(np.int64)).to(dev).view(f, c, CHAR_BYTES)  # (F, C, 4)
    logp = torch.log_softmax(tok.decoder(zf.to(tok.decode_dtype)).float(), -1).view(f, c, CHAR_BYTES, BYTE_VALUES)
    alts = posterior_alternatives(logp, cfg.posterior_top)  # (F, C, A, 4)
    a = alts.shape[2]
    alt_cp = codepoints(alts).cpu()  # (F, C, A)
    allowed = (scalar_values(alts) & (codepoints(alts) != 0)).cpu()  # (F, C, A)

    def byte_logp(rows: torch.Tensor, chars: torch.Tensor) -> torch.Tensor:
        """``(n, C, K, 4)`` characters of blocks ``rows`` -> ``(n, C, K)`` the decoder's log-probability of each
        (bytes summed)."""
        return logp[rows].gather(-1, chars.permute(0, 1, 3, 2)).sum(2)

    alt_lp = byte_logp(torch.arange(f, device=dev), alts).cpu()  # (F, C, A)
    cand = terms.vectors(alts.reshape(-1, CHAR_BYTES), torch.arange(c, device=dev).repeat_interleave(a).repeat(f))
    cand = cand.view(f, c, a, -1)  # (F, C, A, D): every candidate's slot vector, computed once
    now = encoded.to(dev)
    slots = torch.arange(c, device=dev)
    active = torch.arange(f)  # blocks whose last round changed them: the others have no better move
    for _ in range(cfg.posterior_rounds):
        n, ad = len(active), active.to(dev)
        cps = codepoints(cur[ad]).cpu()  # (n, C)
        cur_lp = byte_logp(ad, cur[ad].unsqueeze(2)).squeeze(2).cpu()  # (n, C)
        old = terms.vectors(cur[ad].reshape(-1, CHAR_BYTES), slots.repeat(n)).view(n, c, -1)  # (n, C, D)
        r = now[ad] - zf[ad]  # (n, L)
        d_cur = r.pow(2).sum(-1, keepdim=True)  # (n, 1)
        best = torch.zeros(n)
        where = torch.zeros(n, dtype=torch.long)
        which = torch.zeros(n, dtype=torch.long)
        for j in range(c):
            d2 = terms.squared_distances(r, cand[ad, j] - old[:, j : j + 1], torch.full((a,), j, device=dev))  # (n, A)
            context = prior.context_logp(cps, torch.cat([cps[:, j : j + 1], alt_cp[active, j]], 1), j)  # (n, 1 + A)
            gain = (
                context[:, 1:]
                - context[:, :1]
                + cfg.decoder_weight * (alt_lp[active, j] - cur_lp[:, j : j + 1])
                - ((d2 - d_cur) / (2 * s2)).cpu()
            )  # (n, A): the change of the log-posterior
            gain[~allowed[active, j] | (cps[:, j : j + 1] == 0)] = -torch.inf
            g, w = gain.max(1)
            better = g > best
            best[better], where[better], which[better] = g[better], j, w[better]
        moved = best > 1e-6
        if not moved.any():
            break
        active, where, which = active[moved], where[moved].to(dev), which[moved].to(dev)
        ad = active.to(dev)
        cur[ad, where] = alts[ad, where, which]
        now[ad] = tok.encode_bytes(cur[ad].view(len(active), t).cpu().numpy().astype(np.uint8)).to(dev)
    return cur.view(f, t).cpu().numpy().astype(np.uint8)
