"""The results table of `tokun lm compare` runs: one row per model, its seeds' mean and spread, its learning rate and
sweep, its steps, training speed and positions per 1,000 characters, and the languages where it is best among the
models given.

    python experiments/lm_table.py runs/a/compare.json runs/b/compare.json [--baseline bytes]

Several runs are merged (one per model set, e.g. the baselines in one run and the patch models in another); a model
in two runs keeps the later one. The script prints a Markdown table (docs/RESULTS.md).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("compare_json", nargs="+", help="compare.json of one or more runs")
    p.add_argument("--baseline", default="bytes", help="the ratio column's denominator (default bytes)")
    args = p.parse_args()
    models: dict = {}
    for path in args.compare_json:
        models.update(json.loads(Path(path).read_text())["models"])
    models.pop("tokun", None)  # an alias of the best tokun patch model
    langs = sorted(set.intersection(*(set(m["per_language"]) for m in models.values())))
    best = dict.fromkeys(models, 0)
    for lang in langs:
        best[min(models, key=lambda name: models[name]["per_language"][lang])] += 1
    base = models.get(args.baseline, {}).get("bits_per_byte")
    print(
        f"| model | bits/byte (mean of seeds) | seeds: min–max | × {args.baseline} | learning rate (sweep) "
        f"| steps | training chars/s | positions / 1000 chars | languages best (of {len(langs)}) |"
    )
    print("|---|---:|---:|---:|---|---:|---:|---:|---:|")
    for name, m in sorted(models.items(), key=lambda kv: kv[1]["bits_per_byte"]):
        seeds = m["bits_per_byte_seeds"]
        sweep = ", ".join(f"{rate}: {bpb:.3f}" for rate, bpb in m.get("lr_sweep", {}).items())
        ratio = f"{m['bits_per_byte'] / base:.3f}" if base else "–"
        print(
            f"| `{name}` | {m['bits_per_byte']:.3f} | {len(seeds)}: {min(seeds):.3f}–{max(seeds):.3f} | {ratio} "
            f"| {m.get('lr', '–'):g} ({sweep or 'not swept'}) | {m['steps']:.0f} | {m['train_chars_per_s']:,.0f} "
            f"| {m['positions_per_1000_chars']:.1f} | {best[name]} |"
        )
    std = {name: float(np.std(m["bits_per_byte_seeds"])) for name, m in models.items()}
    print("\nstandard deviation over seeds:", {k: round(v, 3) for k, v in std.items()})
    print(
        "training seconds and FLOPs (mean of seeds):",
        {k: f"{m['seconds']:.0f} s, {m['train_flops']:.2e}" for k, m in models.items()},
    )


if __name__ == "__main__":
    main()
