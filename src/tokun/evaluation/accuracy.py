"""Accuracy of a tokenizer: per text file (at every cut offset) and on random codepoints.

Metrics, fractions in [0, 1], over the real characters (padding excluded):

    byte_accuracy   bytes right
    char_accuracy   characters with all 4 bytes right
    block_accuracy  blocks (one latent vector's characters) with every character right

A text is cut into consecutive blocks from its first character (offset 0) and also from
offsets 1..block_chars-1 (the first block then holds only ``offset`` characters); the worst
offset is reported, since a tokenizer must not depend on where the text was cut.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ..core import codec
from ..core.sources import random_codepoints
from ..core.textio import read_text, text_files
from ..decoding.tokenizer import Tokenizer


def codepoint_metrics(tok: Tokenizer, cps: np.ndarray, *, offset: int = 0) -> dict[str, Any]:
    """Encode and decode ``cps`` cut into blocks starting ``offset`` characters in; the metrics."""
    c = tok.block_chars
    n = len(cps)
    lead = (c - offset) % c  # padding before the text so that a block boundary falls at ``offset``
    padded = np.zeros(lead + n, dtype=np.uint32)
    padded[lead:] = cps
    rows = codec.codepoints_to_bytes(codec.pad_codepoints(padded, c))  # (N, 4C)
    pred = tok.decode_bytes(tok.encode_bytes(rows))  # (N, 4C)
    real = np.zeros(rows.shape[0] * c, dtype=bool)
    real[lead : lead + n] = True
    right_bytes = (pred == rows).reshape(-1, 4)  # (N*C, 4)
    right_chars = right_bytes.all(-1)
    block_real = real.reshape(-1, c).any(-1)
    block_right = (right_chars | ~real).reshape(-1, c).all(-1)
    return {
        "chars": int(n),
        "byte_accuracy": float(right_bytes[real].mean()) if n else 1.0,
        "char_accuracy": float(right_chars[real].mean()) if n else 1.0,
        "block_accuracy": float(block_right[block_real].mean()) if n else 1.0,
    }


def text_metrics(tok: Tokenizer, text: str, *, offsets: Iterable[int] | None = None) -> dict[str, Any]:
    """Metrics of ``text`` at each offset (default: all of 0..block_chars-1); the worst one is returned
    with ``worst_offset`` naming it."""
    cps = codec.to_codepoints(text)
    worst: dict[str, Any] | None = None
    for offset in range(tok.block_chars) if offsets is None else offsets:
        m = codepoint_metrics(tok, cps, offset=offset)
        if worst is None or (m["char_accuracy"], m["block_accuracy"]) < (
            worst["char_accuracy"],
            worst["block_accuracy"],
        ):
            worst = {**m, "worst_offset": offset}
    assert worst is not None
    return worst


def evaluate(
    tok: Tokenizer,
    paths: list[str] | None = None,
    random: list[str] | None = None,
    *,
    samples: int = 1_000_000,
    seed: int = 0,
    offsets: Iterable[int] | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """``{"model", "files": {path: metrics}, "random": {spec: metrics}}`` (the ``tokun eval --json`` shape)."""
    from tqdm import tqdm

    files = text_files(list(paths or []))
    random = list(random or [])
    out: dict[str, Any] = {"model": tok.name, "files": {}, "random": {}}
    with tqdm(total=len(files) + len(random), disable=not progress, unit="set", leave=False) as bar:
        for path in files:
            bar.set_description(Path(path).name)
            out["files"][str(path)] = text_metrics(tok, read_text(path), offsets=offsets)
            bar.update(1)
        for spec in random:
            bar.set_description(spec)
            out["random"][spec] = codepoint_metrics(
                tok, random_codepoints(spec, samples, seed=seed, block_chars=tok.block_chars)
            )
            bar.update(1)
    return out
