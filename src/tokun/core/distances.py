"""Distances between texts: Levenshtein distance of codepoint rows (rapidfuzz's C++ kernels, many pairs per call)."""

from __future__ import annotations

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein


def edit_distance(a: np.ndarray, b: np.ndarray) -> int:
    """Levenshtein distance of two short codepoint rows."""
    return int(Levenshtein.distance(np.asarray(a).tolist(), np.asarray(b).tolist()))


def edit_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Levenshtein distances of ``(P, C)`` codepoint rows ``a[p]`` and ``b[p]``: ``(P,)``."""
    rows_a, rows_b = np.asarray(a).tolist(), np.asarray(b).tolist()
    return process.cpdist(rows_a, rows_b, scorer=Levenshtein.distance, dtype=np.int64).reshape(len(rows_a))


def edit_distance_matrix(rows: np.ndarray) -> np.ndarray:
    """Levenshtein distances between every two of ``(n, C)`` codepoint rows: ``(n, n)``, symmetric, zero diagonal."""
    listed = np.asarray(rows).tolist()
    return process.cdist(listed, listed, scorer=Levenshtein.distance, dtype=np.int64)
