"""Verified decoding: each decoded block is re-encoded, and the decoder's rare slips are corrected.

A latent that came from the encoder (kept in float32, bfloat16 or int8) is the code of exactly one text.
Re-encoding the decoded text shows whether the decoder read it right: a right reading lands within
rounding of the latent, a slip lands a character's worth away. For the shipped models that is

    relative mismatch ||E(D(z)) - z|| / ||z||:   right reading 0 (float32), <= 0.012 (int8 latents)
                                                 a wrong character >= 0.047
(``python experiments/repair_stats.py ../shared/corpora``)

so blocks above ``flag`` (0.025) are searched: alternatives for each character from the decoder's top
``top`` values of each byte (one byte changed) and its runner-ups (two to four bytes changed), greedy, up to
``rounds`` characters per block, keeping the text whose encoding is nearest the latent. A block this leaves far
from every codeword, but whose residual one slot of the last tokenize block explains (``slip_share``: a slip's
residual lies in one slot's subspace, noise spreads over every dimension), gets a wide search: every value of
one byte, alone or next to one of another byte's ``RUNNER_UPS`` runner-ups (the decoder guesses each byte on
its own, so when it slips on a high byte the right low byte can be far down its list); the few still far, a
deep one (:func:`deep`): every character of the likeliest planes in the slot that best explains the residual.
A block is changed only when the search brings it at least ``gain`` times closer: nearest-codeword decoding,
which cannot make a right reading wrong, since a right reading is already the nearest codeword.

A block that no search brings near a codeword is no encoder output (a language model's prediction, a noisy
latent). With a character prior it is read by its posterior (:mod:`tokun.decoding.posterior`); without one, by
the search's gain test alone.

**Every decision is taken per block**, from that block's latent alone: the text returned for a latent does not
depend on the other latents of a call, the batch, the chunk size or the call's length.

For centred models (zero-sum codewords, a decoder blind to a common shift) every latent's mean over its
dimensions is removed first: a shift common to every dimension is no evidence against any text, and a shifted
codeword is still an encoder output. The search is cheap where the last tokenize block is linear
(:mod:`tokun.decoding.slots`); other models re-encode every candidate.

>>> import numpy as np
>>> from tokun.core import codec
>>> from tokun.core.checkpoint import load_model
>>> inf = Inference(load_model("4x16"))
>>> rows = codec.encode("verified", block_chars=16)
>>> text, stats = verify(inf, inf.encode_bytes(rows), rows)
>>> codec.decode(text), stats.flagged
('verified', 0)
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, fields
from typing import NamedTuple

import numpy as np
import torch

from ..core.model import BYTE_VALUES
from . import posterior as posterior_decoding
from .inference import Inference
from .posterior import PosteriorConfig
from .prior import CharPrior
from .slots import CHAR_BYTES, MAX_PLANE, SlotTerms, read_scalar_values, scalar_values

RUNNER_UPS = 2  # of one byte, next to every value of another, in the wide search


@dataclass(frozen=True)
class VerifyConfig:
    """How verified decoding searches (module docstring)."""

    flag: float = 0.025  # relative mismatch above which a block is searched
    slip_share: float = 0.7  # a far block whose residual one slot explains this much is searched wide and deep
    group: int = 256  # flagged blocks searched together (bounded memory)
    top: int = 8  # values tried per byte (one byte changed at a time)
    rounds: int = 4  # characters changed per block at most
    gain: float = 0.5  # a block changes only if its distance to the latent falls below gain x the decoder's
    several_share: float = 0.65  # a far block whose residual one slot explains this much: any value of one byte
    posterior: PosteriorConfig = PosteriorConfig()  # noisy latents with a prior


@dataclass
class VerifyStats:
    """What verified decoding did, in blocks (returned by :func:`verify`, summed with ``+``)."""

    blocks: int = 0  # blocks read
    flagged: int = 0  # whose decoder reading does not re-encode to its latent
    corrected: int = 0  # flagged blocks brought near a codeword by the search: decoder slips corrected
    wide: int = 0  # flagged blocks that went to the wide search
    deep: int = 0  # flagged blocks that went to the deep search
    noisy: int = 0  # flagged blocks near no codeword after the search: no encoder output
    posterior: int = 0  # noisy blocks read by their posterior
    changed: int = 0  # blocks whose text differs from the decoder's reading

    def __add__(self, other: VerifyStats) -> VerifyStats:
        return VerifyStats(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})


def alternatives(logp: torch.Tensor, top: int) -> torch.Tensor:
    """``(F, C, 4, 256)`` byte log-probabilities -> ``(F, C, A, 4)`` candidate characters: the decoder's
    reading with one byte set to each of that byte's ``top`` likeliest values, or two, three or four bytes to
    their runner-ups ('a', U+0061, read as U+13D04: three bytes, each right at rank 2). The reading is the one
    `Inference.read` gives (the likeliest bytes of a scalar value)."""
    best = read_scalar_values(logp.flatten(1, 2)).view(logp.shape[:3])  # (F, C, 4)
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


def wide_alternatives(logp: torch.Tensor, runner_ups: int = RUNNER_UPS) -> torch.Tensor:
    """``(F, C, 4, 256)`` byte log-probabilities -> ``(F, C, A, 4)``: the decoder's reading (first byte 0, as in
    every Unicode scalar value) with every possible value of one byte, alone or next to one of another byte's
    ``RUNNER_UPS`` runner-ups (2,645 a character). The decoder guesses each byte on its own, so a slip of a high
    byte can leave the right low byte far down its list (U+2E41 read as U+1E941: the third byte's right value
    78th; in Han text, the plane byte's right value 4th and the next byte's 3rd, or 3rd and 12th)."""
    ranked = logp.topk(1 + runner_ups, -1).indices  # (F, C, 4, 1 + R)
    chars = ranked[..., 0].clone()  # (F, C, 4)
    chars[..., 0] = 0
    out = []
    for j in range(1, CHAR_BYTES):
        values = torch.arange(0x11 if j == 1 else BYTE_VALUES, device=logp.device)  # planes 0-16, or any byte
        one = chars.unsqueeze(2).repeat(1, 1, len(values), 1)  # (F, C, V, 4)
        one[..., j] = values
        out.append(one)
        for k in range(1, CHAR_BYTES):
            for r in range(1, 1 + runner_ups) if k != j else ():
                two = one.clone()
                two[..., k] = ranked[..., k, r].unsqueeze(-1)
                out.append(two)
    return torch.cat(out, 2)


class Reading(NamedTuple):
    """The search's state of F blocks: their bytes, the encoding of those bytes, its distance to their latents."""

    cur: torch.Tensor  # (F, T) int64 bytes
    now: torch.Tensor  # (F, L) their encoding
    dist: torch.Tensor  # (F,) its distance to the latents

    def of(self, rows: torch.Tensor) -> Reading:
        """The reading of some blocks (a copy)."""
        return Reading(self.cur[rows], self.now[rows], self.dist[rows])

    def put(self, rows: torch.Tensor, other: Reading) -> Reading:
        """This reading with ``rows`` replaced by ``other``'s blocks (a new reading)."""
        cur, now, dist = self.cur.clone(), self.now.clone(), self.dist.clone()
        cur[rows], now[rows], dist[rows] = other
        return Reading(cur, now, dist)


def deep(
    inf: Inference,
    terms: SlotTerms,
    z: torch.Tensor,
    block: Reading,
    logp: torch.Tensor,
    near: float,
    cfg: VerifyConfig = VerifyConfig(),
    *,
    slots: int = 1,
    planes: int = 4,
    batch: int = 32768,
) -> Reading:
    """The last resort for one block (``(L,)`` latent ``z``, its reading of one block: ``(1, T)`` bytes, ``(1, L)``
    encoding, ``(1,)`` distance) that the wide search left far from every codeword; returns its new reading. Up to
    ``cfg.rounds`` times, every character of the decoder's ``planes`` likeliest planes (262,144) in every character position of
    the ``slots`` slot(s) whose change could best explain the residual (least squares through each slot's Gram
    matrix), the nearest one kept if it is at least ``cfg.gain`` times nearer than the block was; it stops once within
``near`` of the latent. A slip of two low
    bytes both far down the decoder's lists (U+10072 read as U+17176; 'a' as the surrogate U+D804; U+3087 as
    U+30002, its plane third on the decoder's list) is found so, a few times per million random characters."""
    cur, now, dist = block.cur[0].clone(), block.now.clone(), block.dist.clone()  # (T,), (1, L), (1,)
    size, dev = terms.slot_bytes, cur.device
    values = torch.arange(BYTE_VALUES * BYTE_VALUES, device=dev)  # every (byte 2, byte 3)
    for _ in range(cfg.rounds):
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
        if change is None or best > cfg.gain * float(dist):  # a slip's character explains most of the residual
            break
        cur[change[0] : change[0] + CHAR_BYTES] = change[1]
        now = inf.encode_bytes(cur.unsqueeze(0).cpu().numpy().astype(np.uint8)).to(dev)  # exact, no drift
        dist = (now - z).norm(dim=-1)
        if float(dist) <= near:
            break
    return Reading(cur.unsqueeze(0), now, dist)


def greedy(
    inf: Inference,
    terms: SlotTerms | None,
    z: torch.Tensor,
    reading: Reading,
    alts: torch.Tensor,
    rounds: int,
    *,
    done: torch.Tensor | None = None,
    batch: int = 16384,
) -> Reading:
    """Up to ``rounds`` times, change the one character (of ``alts``, ``(F, C, A, 4)``) that brings each block's
    encoding nearest its latent ``z``, while that gets nearer and its distance stays above ``done`` (``(F,)``,
    default 0); returns the new reading. Candidates are encoded ``batch`` at a time (bounded memory)."""
    cur, now, dist = (x.clone() for x in reading)
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
            enc = inf.encode_bytes(trials.view(-1, t).cpu().numpy().astype(np.uint8)).to(dev).view(r, n, -1)
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
            break
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
            break
        at = (char[which] * CHAR_BYTES).unsqueeze(-1) + span  # (R', 4)
        cur[rows.unsqueeze(-1), at] = alts[rows, char[which], pick[which]]
        now[rows] = inf.encode_bytes(cur[rows].cpu().numpy().astype(np.uint8)).to(dev)  # exact, no drift
        dist[rows] = (now[rows] - z[rows]).norm(dim=-1)
    return Reading(cur, now, dist)


@torch.inference_mode()
def verify(
    inf: Inference,
    latents: torch.Tensor,
    read: np.ndarray,
    *,
    prior: CharPrior | None = None,
    cfg: VerifyConfig = VerifyConfig(),
) -> tuple[np.ndarray, VerifyStats]:
    """``(N, L)`` latents and the decoder's ``(N, T)`` byte reading of them -> the verified reading and what the
    search did. Each block is decided from its own latent (module docstring)."""
    z = latents.float().cpu()
    if inf.centred:  # codewords sum to zero: a shift common to every dimension is no evidence
        z = z - z.mean(-1, keepdim=True)
    encoded = inf.encode_bytes(read)  # (N, L)
    mismatch = (encoded - z).norm(dim=-1)  # (N,)
    norm = z.norm(dim=-1)  # (N,)
    flagged = (mismatch > cfg.flag * norm).nonzero().flatten()
    stats = VerifyStats(blocks=len(z), flagged=len(flagged))
    out = read.copy()
    use_prior = prior is not None and posterior_decoding.applies(inf)
    for group in flagged.split(cfg.group) if len(flagged) else ():
        rows = group.numpy()
        out[rows], noisy = _search(inf, z[group], read[rows], encoded[group], mismatch[group], norm[group], cfg, stats)
        stats.noisy += int(noisy.sum())
        if use_prior and noisy.any():
            assert prior is not None
            pick = group[torch.from_numpy(noisy)]
            s2 = posterior_decoding.noise_variance(encoded[pick], z[pick], centred=False)  # z is centred already
            out[rows[noisy]] = posterior_decoding.posterior(
                inf, prior, z[pick], read[rows[noisy]], encoded[pick], s2, cfg.posterior
            )
            stats.posterior += int(noisy.sum())
    stats.changed = int((out != read).any(-1).sum())
    return out, stats


def _search(
    inf: Inference,
    z: torch.Tensor,
    read: np.ndarray,
    encoded: torch.Tensor,
    mismatch: torch.Tensor,
    norm: torch.Tensor,
    cfg: VerifyConfig,
    stats: VerifyStats,
) -> tuple[np.ndarray, np.ndarray]:
    """The search on ``(F, ...)`` flagged blocks: their corrected reading (``(F, T)``) and ``(F,)`` bool, the blocks
    it left near no codeword (no encoder output)."""
    dev = inf.device
    zf, start = z.to(dev), mismatch.to(dev)  # (F, L), (F,)
    # the decoder's reading: (F, T) bytes, their (F, L) encoding, (F,) distance
    reading = Reading(torch.from_numpy(read.astype(np.int64)).to(dev), encoded.to(dev), start)
    logp = inf.log_probs(zf)  # (F, C, 4, 256)
    terms = inf.slot_terms
    near = cfg.flag * norm.to(dev)  # (F,) within this, a reading is taken as right: stop searching
    decoders = reading  # the decoder's own reading
    reading = greedy(inf, terms, zf, reading, alternatives(logp, cfg.top), cfg.rounds, done=near)
    far = (reading.dist > near).nonzero().flatten()
    if terms is not None and len(far):
        # The residual of slips lies in the slots of the slipped characters, a noisy latent's everywhere: the share
        # that one slot explains, judged on the decoder's reading and on the narrow search's (which can move slipped
        # characters to wrong neighbours and spread the residual), is about 0.575 for noise (99th percentile 0.64:
        # experiments/slip_share.py), more for slips.
        share = torch.maximum(
            terms.explained_share(decoders.now[far] - zf[far]), terms.explained_share(reading.now[far] - zf[far])
        )
        several = far[share >= cfg.several_share]  # several slips, each of one byte far down its list (a script's
        # high byte read as another script's: Thai after Tamil read as Oriya, Syriac after Chinese as Han)
        if len(several):
            rows = greedy(inf, terms, zf[several], reading.of(several), wide_alternatives(logp[several], 0), cfg.rounds,
                          done=near[several])  # fmt: skip
            reading = reading.put(several, rows)
        keep = (reading.dist[far] > near[far]) & (share >= cfg.slip_share)
        far = far[keep]  # a slip's residual lies in one slot: search every value of its bytes
        stats.wide += len(far)
    if terms is not None and len(far):
        wide = greedy(inf, terms, zf[far], reading.of(far), wide_alternatives(logp[far]), cfg.rounds, done=near[far])
        reading = reading.put(far, wide)
        for b in far[wide.dist > near[far]].tolist():  # rarer still: any character of the likeliest planes
            stats.deep += 1
            one = torch.tensor([b], device=dev)
            reading = reading.put(one, deep(inf, terms, zf[b], reading.of(one), logp[b], float(near[b]), cfg))
    cur, dist = reading.cur, reading.dist
    found = dist <= near
    stats.corrected += int(found.sum())
    accept = (found | (dist < cfg.gain * start)).cpu().numpy()  # a reading that re-encodes to its latent is right
    out = read.copy()
    out[accept] = cur.cpu().numpy()[accept].astype(np.uint8)
    return out, (~found).cpu().numpy()
