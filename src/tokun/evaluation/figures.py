"""The figures of ``tokun inspect --all``: accuracy, noise and speed measured on small samples, so the report has
every section in about a minute (``tokun eval``, ``tokun noise`` and ``tokun bench`` measure the full ones)."""

from __future__ import annotations

from typing import Any

from ..core.errors import MissingExtra
from ..decoding.tokenizer import Tokenizer
from . import noise
from .accuracy import evaluate
from .bench import bench

RANDOM_SAMPLES = 20_000  # random codepoints of planes 0-3, one cut offset
NOISE_BLOCKS = 512  # blocks of the corpora, one noise draw per k
SPEED_CHARS = 200_000  # characters of the corpora, timed once


def quick_figures(
    tok: Tokenizer, text: str, paths: list[str], *, others: dict[str, Any] | None = None, progress: bool = False
) -> dict[str, dict[str, Any] | None]:
    """``{"accuracy", "noise", "speed"}`` (the JSON of ``tokun eval``, ``noise``, ``bench``) from small samples of
    ``paths`` (whose joined text is ``text``); ``others``: more backends timed beside torch (``bench``'s); ``speed`` is
    None without tiktoken, the reference it is timed against."""
    accuracy = evaluate(tok, paths, ["planes0-3"], samples=RANDOM_SAMPLES, offsets=[0], progress=progress)
    noise_result = noise.measure(tok, paths, max_blocks=NOISE_BLOCKS, draws=1)
    try:
        speed = bench(tok, text[:SPEED_CHARS], repeats=1, others=others)
    except MissingExtra:
        speed = None
    return {"accuracy": accuracy, "noise": noise_result, "speed": speed}
