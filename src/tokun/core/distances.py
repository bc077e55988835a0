"""Distances between texts: Levenshtein distance of codepoint rows, vectorised over pairs (numpy only)."""

from __future__ import annotations

import numpy as np


def edit_distance(a: np.ndarray, b: np.ndarray) -> int:
    """Levenshtein distance of two short codepoint rows."""
    return int(edit_distances(np.asarray(a)[None], np.asarray(b)[None])[0])


def edit_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Levenshtein distances of ``(P, C)`` codepoint rows ``a[p]`` and ``b[p]``: ``(P,)``, vectorised over pairs."""
    p, n, m = a.shape[0], a.shape[1], b.shape[1]
    prev = np.broadcast_to(np.arange(m + 1), (p, m + 1)).copy()  # (P, m+1)
    for i in range(1, n + 1):
        cur = np.empty_like(prev)
        cur[:, 0] = i
        sub = prev[:, :-1] + (a[:, i - 1 : i] != b)  # (P, m): substitution or match
        dele = prev[:, 1:] + 1  # (P, m)
        for j in range(1, m + 1):  # insertions chain along the row
            cur[:, j] = np.minimum(np.minimum(sub[:, j - 1], dele[:, j - 1]), cur[:, j - 1] + 1)
        prev = cur
    return prev[:, -1]
