"""Posterior decoding: noisy latents (a language model's predictions, latents under noise) read by their posterior.

A latent that is no encoder output lies near no codeword, and nearest-codeword decoding is the wrong rule for it
(wrong codewords, often of characters no text uses, lie nearer than the right one). With a character prior
(:mod:`tokun.decoding.prior`) such a block is read as the text that maximises

    log p(text) + w log p_decoder(text | z) - ||E(text) - z||^2 / (2 s^2)

where s^2 is the block's noise variance per dimension, estimated from its own residual ||E(D(z)) - z||^2 / L (so
the reading of a block does not depend on the other blocks of a call), over each position's ``posterior_top``
likeliest characters under the decoder (:func:`posterior_alternatives`), greedy, ``posterior_rounds`` characters
per block. Needs one character per slot of a linear last tokenize block (:mod:`tokun.decoding.slots`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .inference import Inference
from .prior import CharPrior
from .slots import CHAR_BYTES, MAX_PLANE, codepoints, scalar_values


@dataclass(frozen=True)
class PosteriorConfig:
    """How the posterior searches (module docstring)."""

    top: int = 24  # characters tried per position
    rounds: int = 8  # characters changed per block at most
    decoder_weight: float = 0.5  # w, the weight of the decoder's own log-probabilities


def applies(inf: Inference) -> bool:
    """Posterior decoding needs a linear last block with one character per slot."""
    return inf.slot_terms is not None and inf.slot_terms.slot_bytes == CHAR_BYTES


def noise_variance(encoded: torch.Tensor, z: torch.Tensor, *, centred: bool) -> torch.Tensor:
    """``(F, L)`` encodings of a reading and ``(F, L)`` latents -> ``(F,)`` each block's noise variance per dimension,
    ``||E(read) - z||^2 / L``, if the reading is right (``z`` centred first for a centred model)."""
    zc = z - z.mean(-1, keepdim=True) if centred else z
    return (encoded - zc.float().cpu()).pow(2).mean(-1)


@torch.inference_mode()
def score_terms(inf: Inference, prior: CharPrior, z: torch.Tensor, read: np.ndarray, s2: torch.Tensor) -> torch.Tensor:
    """``(F, L)`` latents and candidate ``(F, T)`` texts (bytes) -> ``(F, 3)``: the three terms of the posterior
    (module docstring) for each, log p(text), log p_decoder(text | z) and -||E(text) - z||^2 / (2 s^2); the score is
    ``terms @ [1, decoder_weight, 1]``."""
    zc = (z - z.mean(-1, keepdim=True) if inf.centred else z).float()
    data = torch.from_numpy(read.astype(np.int64)).to(inf.device)  # (F, T)
    logp = inf.log_probs(zc.to(inf.device)).flatten(1, 2)  # (F, T, 256)
    decoder = logp.gather(-1, data.unsqueeze(-1)).squeeze(-1).sum(1).cpu()  # (F,)
    likelihood = -(inf.encode_bytes(read) - zc.cpu()).pow(2).sum(-1) / (2 * s2)  # (F,)
    cps = codepoints(data.view(len(data), -1, CHAR_BYTES)).cpu()  # (F, C)
    return torch.stack([prior.block_logp(cps), decoder, likelihood], 1)


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


def posterior(
    inf: Inference,
    prior: CharPrior,
    z: torch.Tensor,
    read: np.ndarray,
    encoded: torch.Tensor,
    s2: torch.Tensor,
    cfg: PosteriorConfig,
) -> np.ndarray:
    """``(F, L)`` noisy latents, the decoder's ``(F, T)`` reading and its ``(F, L)`` encoding -> the reading that
    maximises the posterior (module docstring) under noise of variance ``s2`` (``(F,)``, one per block) per dimension, by greedy changes
    of one character (the candidates of :func:`posterior_alternatives`). Needs a prior and one character per slot of the
    last tokenize block. U+0000 pads a text's last block: read as such, it stays; it is never a candidate."""
    terms = inf.slot_terms
    assert terms is not None and applies(inf)
    dev = inf.device
    zf = z.to(dev)
    f, t = read.shape
    c = t // CHAR_BYTES
    cur = torch.from_numpy(read.astype(np.int64)).to(dev).view(f, c, CHAR_BYTES)  # (F, C, 4)
    logp = inf.log_probs(zf)  # (F, C, 4, 256)
    alts = posterior_alternatives(logp, cfg.top)  # (F, C, A, 4)
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
    for _ in range(cfg.rounds):
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
                - ((d2 - d_cur) / (2 * s2[active].clamp_min(1e-12).unsqueeze(1).to(dev))).cpu()
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
        now[ad] = inf.encode_bytes(cur[ad].view(len(active), t).cpu().numpy().astype(np.uint8)).to(dev)
    return cur.view(f, t).cpu().numpy().astype(np.uint8)
