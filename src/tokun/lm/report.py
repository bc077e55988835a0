"""From a comparison's runs to its figures: each model's JSON entry (mean of seeds and interval), the paired
differences with their verdicts, overall and per test file, and the rows ``tokun lm compare`` prints. Pure functions
of the runs or of compare.json, so a saved comparison can be read again (``experiments/lm_table.py``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import stats

PAIRS = (("tokun", "bpe"), ("tokun", "bytes"), ("tokun", "patch-learned"))  # paired differences, with verdicts


def seed_bits(model: dict[str, Any], files: list[str], nbytes: np.ndarray) -> np.ndarray:
    """``(S, F)`` test bits of one model's entry of compare.json: its seeds' bits per byte of each file times the
    file's bytes."""
    return np.array([model["per_language_seeds"][f] for f in files]).T * nbytes


def paired_differences(result: dict[str, Any]) -> dict[str, Any]:
    """From a comparison's JSON: ``paired`` (each pair of :data:`PAIRS` over all test files, with its verdict) and
    ``paired_per_language`` (each pair on each file: its interval over seeds, its verdict; and the tally)."""
    files = list(result["test_bytes_per_file"])
    nbytes = np.array([result["test_bytes_per_file"][f] for f in files])
    models = result["models"]
    bits = {name: seed_bits(models[name], files, nbytes) for a, b in PAIRS for name in (a, b) if name in models}
    pairs = [(a, b) for a, b in PAIRS if a in bits and b in bits]
    per_language = {f"{a}-{b}": stats.paired_per_file(bits[a], bits[b], nbytes, files) for a, b in pairs}
    return {
        "paired": {f"{a}-{b}": stats.paired(bits[a], bits[b], nbytes) for a, b in pairs},
        "paired_per_language": {
            pair: {"tally": stats.tally(by_file), "files": by_file} for pair, by_file in per_language.items()
        },
    }


def summarise(runs: list[dict[str, Any]], bits: np.ndarray, files: list[str], nbytes: dict[str, int]) -> dict:
    """One model's JSON entry from its seeds' runs: test figures (mean of seeds, interval), tune figures, training."""
    test = [r["test"] for r in runs]
    interval = stats.model_interval(bits, np.array([nbytes[f] for f in files]))
    info = {k: v for k, v in runs[0].items() if k not in ("tune", "test")}
    info.update(
        bits_per_byte=float(np.mean([t["bits_per_byte"] for t in test])),
        bits_per_byte_ci=list(interval["ci"]),
        bits_per_byte_seeds=[t["bits_per_byte"] for t in test],
        tune_bits_per_byte=float(np.mean([r["tune"]["bits_per_byte"] for r in runs])),
        scored_bytes=test[0]["scored_bytes"],
        per_language={f: float(np.mean([t["per_language"][f] for t in test])) for f in test[0]["per_language"]},
        per_language_seeds={f: [t["per_language"][f] for t in test] for f in test[0]["per_language"]},
        stopped_by=sorted({r["stopped_by"] for r in runs}),
    )
    for key in ("train_flops", "train_chars_per_s", "seconds", "steps"):
        info[key] = float(np.mean([r[key] for r in runs]))
    return info


def languages_won(models: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Per model: the test files where no other model scores lower (`tokun` is not counted against the model it
    names, nor that model against it)."""
    won = {}
    for kind, m in models.items():
        won[kind] = sum(
            all(
                m["per_language"][lang] <= o["per_language"].get(lang, 1e9)
                for k, o in models.items()
                if k != kind and k != m.get("model") and o.get("model") != kind
            )
            for lang in m["per_language"]
        )
    return won


def summary_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The printed table of ``tokun lm compare``: one row per model (bits per byte and interval, seeds' spread,
    positions, parameters, speed, FLOPs, languages won)."""
    models, rows = result["models"], []
    won = languages_won(models)
    for kind, m in models.items():
        seeds = m["bits_per_byte_seeds"]
        rows.append({
            "model": kind,
            "bits_per_byte": m["bits_per_byte"],
            "ci": m.get("bits_per_byte_ci"),
            "seeds_std": float(np.std(seeds, ddof=min(1, len(seeds) - 1))),
            "seeds": len(seeds),
            "positions_per_1000_chars": m["positions_per_1000_chars"],
            "vocabulary_parameters": m["parameters"]["vocabulary"],
            "body_parameters": m["parameters"]["body"],
            "train_chars_per_s": m["train_chars_per_s"],
            "train_flops": m["train_flops"],
            "languages_won": won[kind],
            "languages": len(m["per_language"]),
        })  # fmt: skip
    return rows
