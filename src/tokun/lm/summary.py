"""The per-model figures that ``tokun lm compare`` prints beside its JSON: spread over seeds and languages won."""

from __future__ import annotations

import statistics
from typing import Any


def seed_spread(values: list[float]) -> float:
    """The sample standard deviation of the seeds' bits per byte (0 for one seed)."""
    return statistics.stdev(values) if len(values) > 1 else 0.0


def languages_won(models: dict[str, dict[str, Any]], kind: str) -> int:
    """The files (languages) on which ``kind`` scores at most every other model's bits per byte. ``tokun`` is one
    of the tokun models under another name, so a model is never compared with its own alias."""
    mine = models[kind]

    def other(name: str, o: dict[str, Any]) -> bool:
        return name != kind and name != mine.get("model") and o.get("model") != kind

    return sum(
        all(
            mine["per_language"][lang] <= o["per_language"].get(lang, float("inf"))
            for name, o in models.items()
            if other(name, o)
        )
        for lang in mine["per_language"]
    )
