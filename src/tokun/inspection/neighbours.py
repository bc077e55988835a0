"""Nearest neighbours in latent space: which characters and which words a model puts next to a probe.

    characters   a probe's character vector (:func:`~tokun.inspection.embeddings.character_vectors`) against
                 every character point; a digit, a Latin letter and its capital, a CJK character
    words        a word alone in its block, its latent against every word of the corpora alone in its block;
                 a word in five languages

    agreement    of each point's ``k`` nearest other points, the share of its own script, averaged over the points
                 (:func:`script_agreement`): how far a map's islands are scripts; its baseline
                 (:func:`random_agreement`): the same for random vectors of the same shape and the same scripts, the
                 share that chance alone gives
    scripts      per script: its points, their agreement and their mean distance to the script's centroid
                 (:func:`script_rows`)

Distances are Euclidean (L2), in the space of the vectors compared.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..core import codec
from ..decoding.tokenizer import Tokenizer
from .embeddings import Points, blocks_of, character_vectors
from .scripts import script_name

CHAR_PROBES = ("7", "a", "A", "中")
AGREEMENT_K = 10
WORD_PROBES = ("world", "Welt", "мир", "世界", "عالم")  # English, German, Russian, Chinese, Arabic


def nearest(vectors: np.ndarray, query: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``count`` rows of ``(N, D)`` ``vectors`` nearest to ``(D,)`` ``query``: their indices and L2 distances,
    nearest first."""
    d = np.sqrt(((vectors.astype(np.float64) - query) ** 2).sum(-1))  # (N,)
    count = min(count, len(d))
    top = np.argpartition(d, count - 1)[:count] if count else np.zeros(0, int)
    top = top[np.argsort(d[top], kind="stable")]
    return top, d[top]


def table(points: Points, probe: str, query: np.ndarray, *, count: int = 8) -> dict[str, Any]:
    """``{"probe", "kind", "nearest": [{"text", "distance", "script", "language"}]}``: the probe's ``count`` nearest
    points other than itself."""
    index, dist = nearest(points.vectors, query, count + 1)
    rows = [
        {
            "text": points.texts[i],
            "distance": float(d),
            "script": points.scripts[i],
            "language": points.languages[i],
        }
        for i, d in zip(index.tolist(), dist.tolist())
        if points.texts[i] != probe
    ]
    return {"probe": probe, "kind": points.kind, "nearest": rows[:count]}


def character_tables(
    tok: Tokenizer, chars: Points, probes: tuple[str, ...] = CHAR_PROBES, *, count: int = 8
) -> list[dict[str, Any]]:
    """One :func:`table` per probe character, among the character points."""
    queries = character_vectors(tok, np.array([ord(p) for p in probes], np.uint32))  # (P, H)
    return [table(chars, p, q, count=count) for p, q in zip(probes, queries)]


def word_tables(
    tok: Tokenizer, words: Points, probes: tuple[str, ...] = WORD_PROBES, *, count: int = 8
) -> list[dict[str, Any]]:
    """One :func:`table` per probe word, among the word points (each word alone in its block)."""
    rows = codec.codepoints_to_bytes(blocks_of(tok, list(probes)))  # (P, 4C)
    queries = tok.encode_bytes(rows).numpy()  # (P, L)
    return [table(words, p, q, count=count) for p, q in zip(probes, queries)]


def agreements(points: Points, k: int = AGREEMENT_K, *, chunk: int = 1024) -> np.ndarray:
    """``(N,)``: of each point's ``k`` nearest other points (L2), the share whose script is its own; empty for fewer
    than two points. Rows are compared ``chunk`` at a time, so memory stays ``chunk x N``."""
    n = len(points)
    k = min(k, n - 1)
    if k < 1:
        return np.zeros(0)
    x = points.vectors.astype(np.float64)  # (N, D)
    norms = (x**2).sum(-1)  # (N,)
    scripts = np.unique(np.array(points.scripts), return_inverse=True)[1]  # (N,) script ids
    out = np.empty(n)
    for start in range(0, n, chunk):
        rows = slice(start, min(start + chunk, n))
        d = norms[rows, None] - 2 * x[rows] @ x.T + norms[None, :]  # (c, N) squared distances
        d[np.arange(d.shape[0]), np.arange(rows.start, rows.stop)] = np.inf  # not itself
        near = np.argpartition(d, k - 1, axis=1)[:, :k]  # (c, k)
        out[rows] = (scripts[near] == scripts[rows, None]).mean(1)
    return out


def script_agreement(points: Points, k: int = AGREEMENT_K, *, chunk: int = 1024) -> float | None:
    """Of each point's ``k`` nearest other points (L2), the share whose script is its own, averaged over all points;
    None for fewer than two points."""
    shares = agreements(points, k, chunk=chunk)
    return float(shares.mean()) if len(shares) else None


def random_agreement(points: Points, k: int = AGREEMENT_K, *, seed: int = 0) -> float | None:
    """:func:`script_agreement` of random vectors (standard normal) of the points' shape, with their scripts: what
    chance gives (about the sum of each script's share squared), the baseline of the model's figure."""
    noise = np.random.default_rng(seed).standard_normal(points.vectors.shape).astype(np.float32)
    return script_agreement(dataclasses.replace(points, vectors=noise), k)


def script_rows(points: Points, k: int = AGREEMENT_K, *, most: int = 8) -> list[dict[str, Any]]:
    """Per script, the ``most`` largest first and the rest as one row ``other (N)``: ``{"script", "points",
    "agreement"`` (:func:`agreements` averaged over its points) ``, "centroid_distance"`` (the mean L2 distance of
    its points to their script's centroid)``}``; the blob of a map as numbers."""
    if len(points) < 2:
        return []
    shares = agreements(points, k)
    scripts = np.array(points.scripts)
    names, index, counts = np.unique(scripts, return_inverse=True, return_counts=True)
    x = points.vectors.astype(np.float64)
    centroids = np.stack([x[index == i].mean(0) for i in range(len(names))])  # (S, D)
    spread = np.sqrt(((x - centroids[index]) ** 2).sum(-1))  # (N,) distance to its script's centroid
    order = sorted(range(len(names)), key=lambda i: (-counts[i], names[i]))
    groups = [(script_name(str(names[i])), index == i) for i in order[:most]]
    if len(order) > most:
        groups.append((f"other ({len(order) - most})", np.isin(index, order[most:])))
    return [
        {
            "script": name,
            "points": int(mask.sum()),
            "agreement": float(shares[mask].mean()),
            "centroid_distance": float(spread[mask].mean()),
        }
        for name, mask in groups
    ]
