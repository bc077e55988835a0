"""The optional terms of the training loss: latent distances that follow edit distances, variance spread over
directions, and codewords kept apart (each described in docs/training.md)."""

from __future__ import annotations

import numpy as np
import torch

from ..core.distances import edit_distance_matrix
from ..core.model import AutoEncoder, latent_sigma, participation_ratio


def distance_loss(latents: torch.Tensor, chars: np.ndarray, target: float = 1.0) -> torch.Tensor:
    """How far, over every pair of rows, the Pearson correlation between the L2 distance of ``(n, L)``
    latents and the edit distance of their ``(n, C)`` characters falls short of ``target``:
    ``max(0, target - r)``. With ``target`` 1 that is ``1 - r``, 0 when latent distances follow edit
    distances linearly; below 1 it is a hinge that stops pulling once the batch reaches ``target``."""
    n = latents.shape[0]
    if n < 3:
        return latents.sum() * 0.0
    pi, pj = np.triu_indices(n, 1)  # (P,) each: every pair once
    i, j = torch.from_numpy(pi).to(latents.device), torch.from_numpy(pj).to(latents.device)
    l2 = ((latents[i] - latents[j]).pow(2).sum(-1) + 1e-8).sqrt()  # (P,); eps: finite gradient at 0
    edit = torch.from_numpy(edit_distance_matrix(chars)[pi, pj]).to(l2)  # (P,)
    l2, edit = l2 - l2.mean(), edit - edit.mean()
    r = (l2 * edit).sum() / (l2.norm() * edit.norm() + 1e-8)
    return (target - r).clamp(min=0)


def spread_loss(latents: torch.Tensor) -> torch.Tensor:
    """How unevenly ``(n, L)`` latents spread their variance over directions: ``1 - PR / min(n - 1, L)``,
    where PR = tr(C)^2 / tr(C^2) is the participation ratio of their covariance C (the number of
    directions it effectively uses). 0 when every direction the batch can span carries the same variance,
    which is how a Gaussian channel carries the most under isotropic noise."""
    n, dim = latents.shape
    if n < 3:
        return latents.sum() * 0.0
    return 1 - participation_ratio(latents) / min(n - 1, dim)


def separation_loss(
    model: AutoEncoder, levels: list[torch.Tensor], chars: np.ndarray, slot: int, margin: float, *, most: int = 1024
) -> torch.Tensor:
    """How far a batch's distinct characters fall short of ``margin`` latent spreads from each other as codewords.

    ``levels``: the encoder's levels of ``(n, ...)`` rows (the last: their ``(n, L)`` latents, whose spread is
    sigma); ``chars``: their ``(n, C)`` codepoints. Two characters in slot ``slot`` of the linear last tokenize
    block make codewords ``||C W_s (x_a - x_b)||`` apart (x: the slot vector after the block's LayerNorm; C: the
    centring). Over up to ``most`` distinct characters, the sum over pairs of ``max(0, margin - d / sigma)^2``,
    per character."""
    last = model.encoder.blocks[-1]
    below, latents = levels[-2], levels[-1]  # (n, G, D), (n, L)
    n, groups, width = below.shape
    keys = chars.reshape(n * groups, -1)  # (n*G, C/G): the characters of each slot
    _, first = np.unique(keys, axis=0, return_index=True)  # one row per distinct slot content
    if len(first) < 2:
        return latents.sum() * 0.0
    pick = torch.from_numpy(np.random.default_rng(slot + len(keys)).permutation(first)[:most]).to(below.device)
    x = last.norm(below.reshape(-1, width)[pick])  # (m, D)
    codes = x @ model.encoder.slot_weights()[:, slot].T  # (m, L): each character's term in the latent, up to a constant
    d = torch.cdist(codes, codes) / latent_sigma(latents)  # (m, m) in latent spreads
    short = (margin - d).clamp(min=0).pow(2)
    short = short - torch.diag(short.diagonal())  # a character and itself
    return short.sum() / len(pick)
