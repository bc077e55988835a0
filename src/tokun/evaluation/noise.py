"""How much imprecision the decoder forgives: latent noise sweeps, int8 latents, distances.

sigma_d is the per-dimension standard deviation of the latents over the given texts and
sigma = sqrt(mean_d sigma_d^2), so isotropic noise at k carries k^2 times the latents' total
variance (signal-to-noise ratio 1/k^2), whatever the latents' scale.

    isotropic   z + N(0, (k sigma)^2) on every dimension, a fresh draw per latent
    structured  z + k sigma_d on each dimension d (the original article's shift)
    int8        each dimension quantised to 8 bits, symmetric, per-dimension scale max|z_d|/127

k_star is the largest k of the sweep whose character accuracy is >= 0.999. Latents are decoded as the
tokenizer decodes them (verified unless it was loaded with ``verify=False``: :mod:`tokun.repair`), which
corrects slips of clean and int8 latents and reads noisy ones by their posterior when the tokenizer has a
character prior (:mod:`tokun.prior`; the shipped one by default), else as the decoder reads them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..core import codec
from ..core.distances import edit_distances
from ..core.errors import InputError
from ..core.model import latent_sigma, participation_ratio
from ..core.sources import text_blocks
from ..decoding.tokenizer import Tokenizer

SWEEP = (0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
THRESHOLD = 0.999


def corpus_blocks(tok: Tokenizer, paths: list[str], *, max_blocks: int, seed: int = 0) -> np.ndarray:
    """``(N, block_chars)`` codepoint blocks of the texts (offset 0), at most ``max_blocks``, sampled evenly."""
    return text_blocks(paths, tok.block_chars, most=max_blocks, seed=seed)


def char_accuracy(tok: Tokenizer, latents: torch.Tensor, cps: np.ndarray) -> float:
    """Share of the real (non-padding) characters decoded right."""
    pred = codec.bytes_to_codepoints(tok.decode_bytes(latents))  # (N, C)
    real = np.ones_like(cps, dtype=bool)
    # padding: trailing zeros of each text's last block are not characters to score
    real[(cps == 0) & (np.cumsum(cps[:, ::-1] != 0, axis=1)[:, ::-1] == 0)] = False
    return float((pred == cps)[real].mean())


def int8_roundtrip(latents: torch.Tensor) -> torch.Tensor:
    scale = latents.abs().amax(0).clamp_min(1e-12) / 127  # (L,)
    return (latents / scale).round().clamp(-127, 127) * scale


def isotropic_noise(
    latents: torch.Tensor, k: float, sigma: float | None = None, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``latents`` plus one fresh draw of N(0, (k sigma)^2) on every dimension of every latent.

    ``sigma``: the latents' spread (default: :func:`tokun.core.model.latent_sigma` of ``latents``; pass it to
    measure several sets on one scale). The draw is made on the CPU from ``generator`` (a CPU
    ``torch.Generator``; ``None``: the global one), so a seed gives the same noise on every device.

    >>> z = torch.zeros(2, 4)
    >>> gen = torch.Generator().manual_seed(0)
    >>> isotropic_noise(z, 0.5, 2.0, generator=gen).shape
    torch.Size([2, 4])
    """
    if sigma is None:
        sigma = float(latent_sigma(latents))
    draw = torch.randn(latents.shape, generator=generator)  # (..., L), float32 on the CPU
    return latents + k * sigma * draw.to(latents)


def sweep(
    tok: Tokenizer, latents: torch.Tensor, cps: np.ndarray, *, ks=SWEEP, draws: int = 3, seed: int = 0
) -> dict[str, Any]:
    sigma_d = latents.std(0, unbiased=False)  # (L,)
    sigma = float(latent_sigma(latents))
    gen = torch.Generator().manual_seed(seed)
    iso, struct = [], []
    for k in ks:
        accs = [
            char_accuracy(tok, isotropic_noise(latents, k, sigma, generator=gen), cps) for _ in range(draws if k else 1)
        ]
        iso.append([k, float(np.mean(accs))])
        struct.append([k, char_accuracy(tok, latents + k * sigma_d, cps)])

    def k_star(curve: list[list[float]]) -> float:
        ok = [k for k, acc in curve if acc >= THRESHOLD]
        return max(ok) if ok else 0.0

    return {
        "sigma": sigma,
        "sigma_d_spread": float(sigma_d.std() / sigma_d.mean()),  # how far sigma_d is from uniform
        # directions the variance uses: isotropic noise hits all alike, so crowding into few costs tolerance
        "participation_ratio": float(participation_ratio(latents.double())),
        "isotropic": {"k_star": k_star(iso), "curve": iso},
        "structured": {"k_star": k_star(struct), "curve": struct},
        "int8": {"char_accuracy": char_accuracy(tok, int8_roundtrip(latents), cps)},
    }


def distance_correlation(latents: torch.Tensor, cps: np.ndarray, *, pairs: int = 5000, seed: int = 0) -> float:
    """Spearman correlation between latent L2 distance and character edit distance over random block pairs."""
    rng = np.random.default_rng(seed)
    i, j = rng.integers(0, len(cps), pairs), rng.integers(0, len(cps), pairs)
    keep = i != j
    i, j = i[keep], j[keep]
    l2 = (latents[i] - latents[j]).norm(dim=-1).numpy()
    ed = edit_distances(cps[i], cps[j]).astype(float)
    return _spearman(l2, ed)


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    def ranks(v: np.ndarray) -> np.ndarray:
        order = np.argsort(v, kind="stable")
        r = np.empty(len(v))
        r[order] = np.arange(len(v))
        # average ranks of ties
        _, inv, counts = np.unique(v, return_inverse=True, return_counts=True)
        sums = np.bincount(inv, weights=r)
        return sums[inv] / counts[inv]

    rx, ry = ranks(x), ranks(y)
    return float(np.corrcoef(rx, ry)[0, 1])


def neighbours(latents: torch.Tensor, cps: np.ndarray, index: int, *, count: int = 8) -> list[dict[str, Any]]:
    """The blocks nearest to block ``index`` in latent space, with the share of common characters and
    of characters at the same position (the original article's neighbour table)."""
    d = (latents - latents[index]).norm(dim=-1)
    out = []
    for j in d.argsort()[1 : count + 1].tolist():
        a, b = cps[index], cps[j]
        common = sum(min(list(a).count(c), list(b).count(c)) for c in set(a.tolist())) / len(a)
        out.append(
            {
                "block": codec.from_codepoints(b),
                "distance": float(d[j]),
                "common_chars": common,
                "same_position": float((a == b).mean()),
            }
        )
    return out


def measure(
    tok: Tokenizer, paths: list[str], *, max_blocks: int = 4096, draws: int = 3, seed: int = 0
) -> dict[str, Any]:
    """The ``tokun noise --json`` object for ``paths``: the sweep, int8, and latent distances."""
    cps = corpus_blocks(tok, paths, max_blocks=max_blocks, seed=seed)
    latents = tok.encode_bytes(codec.codepoints_to_bytes(cps))
    result = sweep(tok, latents, cps, draws=draws, seed=seed)
    result["model"] = tok.name
    result["verified"] = tok.verify
    result["prior"] = tok.prior_name  # "shipped", a prior file, or None
    result["blocks"] = len(cps)
    result["distance"] = {"spearman_l2_vs_edit": distance_correlation(latents, cps, seed=seed)}
    probe = max(range(min(len(cps), 2000)), key=lambda i: len(set(cps[i].tolist())))  # a varied block
    result["distance"]["neighbours"] = {
        "block": codec.from_codepoints(cps[probe]),
        "nearest": neighbours(latents, cps, probe),
    }
    return result


def plot(result: dict[str, Any], path: str) -> None:
    """A PNG of character accuracy against noise k, isotropic and structured (``tokun noise --plot``)."""
    try:
        import matplotlib
    except ImportError:
        raise InputError("--plot needs matplotlib: pip install -e '.[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for kind in ("isotropic", "structured"):
        ks, acc = zip(*result[kind]["curve"])
        ax.plot(ks, acc, marker="o", label=f"{kind} (k* = {result[kind]['k_star']})")
    ax.axhline(0.999, color="grey", linestyle=":", label="0.999")
    ax.set_xlabel("noise k (multiples of sigma)")
    ax.set_ylabel("character accuracy")
    ax.set_title(f"tokun {result['model']}: latent noise tolerance")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
