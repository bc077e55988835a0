"""Intervals and verdicts of the comparison: a model's bits per byte over seeds and test files, and the paired
difference of two models on the same files.

The bootstrap draws seeds (each model's own, with replacement) and test files (the same files for both models of
a pair, with replacement) ``draws`` times; a draw's bits per byte is the mean over its seeds of the files' bits
over the files' bytes. The 95 % interval is the 2.5th to 97.5th percentile of the draws.

The verdict of a difference ``a − b`` (bits per byte, lower is better): **win** when the whole interval is below
0, **loss** when it is above 0, **tie** otherwise.

>>> verdict((-0.05, -0.01)), verdict((-0.01, 0.02)), verdict((0.003, 0.02))
('win', 'tie', 'loss')
"""

from __future__ import annotations

from typing import Any

import numpy as np

DRAWS = 2000


def bits_per_byte(bits: np.ndarray, nbytes: np.ndarray) -> float:
    """Mean over seeds of ``(S, F)`` bits summed over files, over the ``(F,)`` files' bytes."""
    return float(np.mean(bits.sum(-1) / nbytes.sum()))


def _draws(bits: np.ndarray, nbytes: np.ndarray, files: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """``(D,)`` bits per byte of each draw: ``files`` ``(D, F)`` and ``seeds`` ``(D, S)`` indices."""
    per_seed = bits[seeds[:, :, None], files[:, None, :]].sum(-1) / nbytes[files].sum(-1)[:, None]  # (D, S)
    return per_seed.mean(-1)


def interval(draws: np.ndarray) -> tuple[float, float]:
    lo, hi = np.percentile(draws, [2.5, 97.5])
    return float(lo), float(hi)


def model_interval(bits: np.ndarray, nbytes: np.ndarray, *, draws: int = DRAWS, seed: int = 0) -> dict[str, Any]:
    """Mean and 95 % interval of a model's bits per byte from ``(S, F)`` bits of S seeds on F files."""
    rng = np.random.default_rng(seed)
    s, f = bits.shape
    files, seeds = rng.integers(0, f, (draws, f)), rng.integers(0, s, (draws, s))
    return {"mean": bits_per_byte(bits, nbytes), "ci": interval(_draws(bits, nbytes, files, seeds))}


def verdict(ci: tuple[float, float]) -> str:
    """``win`` if the interval of ``a − b`` lies below 0, ``loss`` if above, else ``tie``."""
    return "win" if ci[1] < 0 else "loss" if ci[0] > 0 else "tie"


def paired(a: np.ndarray, b: np.ndarray, nbytes: np.ndarray, *, draws: int = DRAWS, seed: int = 0) -> dict[str, Any]:
    """Bits per byte of ``a`` minus ``b`` (``(S, F)`` bits each, on the same F files): mean, 95 % interval and
    verdict. Each draw takes the same files for both and each model's seeds on their own."""
    rng = np.random.default_rng(seed)
    f = a.shape[1]
    files = rng.integers(0, f, (draws, f))
    seeds_a, seeds_b = rng.integers(0, a.shape[0], (draws, a.shape[0])), rng.integers(0, b.shape[0], (draws, b.shape[0]))
    diff = _draws(a, nbytes, files, seeds_a) - _draws(b, nbytes, files, seeds_b)
    ci = interval(diff)
    return {"mean": bits_per_byte(a, nbytes) - bits_per_byte(b, nbytes), "ci": ci, "verdict": verdict(ci)}


def paired_per_file(a: np.ndarray, b: np.ndarray, nbytes: np.ndarray, files: list[str], **kw: Any) -> dict[str, Any]:
    """:func:`paired` on each file alone: ``{file: {mean, ci, verdict}}`` of ``a − b``, ``(S, F)`` bits each. With one
    file a draw resamples seeds only: the interval is the spread of training (seeds), not of the file's text. Below
    two seeds for either model there is no spread to draw from: the verdict is ``"n/a"``."""
    out = {f: paired(a[:, [i]], b[:, [i]], nbytes[[i]], **kw) for i, f in enumerate(files)}
    if min(len(a), len(b)) < 2:
        out = {f: {**p, "verdict": "n/a"} for f, p in out.items()}
    return out


def tally(per_file: dict[str, dict[str, Any]]) -> dict[str, int] | None:
    """``{"win": n, "loss": n, "tie": n}``: the verdicts of :func:`paired_per_file` (None when they are "n/a")."""
    verdicts = [p["verdict"] for p in per_file.values()]
    if "n/a" in verdicts:
        return None
    return {v: verdicts.count(v) for v in ("win", "loss", "tie")}
