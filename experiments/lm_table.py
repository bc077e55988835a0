"""The language-model tables of docs/RESULTS.md, in Markdown, from `tokun lm compare` runs: one row per model (test
bits per byte with its 95 % interval, tune bits per byte, learning rate and sweep, steps, inference FLOPs per byte,
generation speed, ratios to bytes and BPE), the paired differences with their verdicts and per-file tallies, and,
given a contexts.json, bits per byte against context.

    python experiments/lm_table.py runs/lm-compare/compare.json [--contexts runs/lm-contexts-cpu/contexts.json]

Several compare.json are merged (a model in two runs keeps the later one; paired rows come from the last run).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tokun.lm.report import paired_differences


def model_rows(models: dict) -> list[str]:
    """One Markdown row per model, best first; `tokun` names the model it is."""
    chosen = models.get("tokun", {}).get("model")
    models = {k: v for k, v in models.items() if k != "tokun"}  # an alias of the best tokun patch model
    ratio = {ref: models[ref]["bits_per_byte"] for ref in ("bytes", "bpe") if ref in models}
    rows = [
        "| model (test split) | bits/byte | 95 % interval | seeds | tune bits/byte | learning rate (tune: sweep) "
        "| steps | inference FLOPs / byte | generation chars/s | × bytes | × bpe |",
        "|---|---:|---:|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for name, m in sorted(models.items(), key=lambda kv: kv[1]["bits_per_byte"]):
        lo, hi = m["bits_per_byte_ci"]
        seeds = ", ".join(f"{b:.3f}" for b in m["bits_per_byte_seeds"])
        sweep = ", ".join(f"{rate}: {bpb:.3f}" for rate, bpb in m.get("lr_sweep", {}).items())
        label = f"**`tokun`** (= `{name}`, best on tune)" if name == chosen else f"`{name}`"
        speed = m.get("generate_chars_per_s")
        rows.append(
            f"| {label} | {m['bits_per_byte']:.3f} | {lo:.3f}–{hi:.3f} | {seeds} | {m['tune_bits_per_byte']:.3f} "
            f"| {m['lr']:g} ({sweep or 'one rate'}) | {m['steps']:,.0f} | {m['inference_flops_per_byte']:.2g} "
            f"| {f'{speed:,.0f}' if speed else '–'} | "
            + " | ".join(f"{m['bits_per_byte'] / ratio[ref]:.3f}" if ref in ratio else "–" for ref in ("bytes", "bpe"))
            + " |"
        )
    return rows


def paired_rows(result: dict) -> list[str]:
    """The paired differences over all test files (interval over seeds and files) and their per-file tallies."""
    per_language = paired_differences(result)["paired_per_language"]
    models = result["models"]
    rows = [
        "| paired difference (test) | mean bits/byte | ratio | 95 % interval | verdict | test files: wins / losses / ties |",
        "|---|---:|---:|---:|---|---|",
    ]
    for pair, p in result["paired"].items():
        a, b = pair.split("-", 1)
        tally = per_language.get(pair, {}).get("tally")
        files = f"{tally['win']} / {tally['loss']} / {tally['tie']}" if tally else "one seed: none"
        rows.append(
            f"| `{a}` − `{b}` | {p['mean']:+.3f} | {models[a]['bits_per_byte'] / models[b]['bits_per_byte']:.3f}× "
            f"| {p['ci'][0]:+.3f} to {p['ci'][1]:+.3f} | {p['verdict']} | {files} |"
        )
    return rows


def context_rows(contexts: dict) -> list[str]:
    """Bits per byte (interval) of each model at each context, and tokun − bpe's verdict there."""
    sizes = list(contexts)
    names = [n for n in contexts[sizes[0]] if n not in ("paired", "tokun")]  # `tokun`: an alias, in the pairs
    rows = [
        "| model | " + " | ".join(f"{s} characters" for s in sizes) + " |",
        "|---|" + "---:|" * len(sizes),
    ]
    for name in names:
        cells = []
        for s in sizes:
            m = contexts[s][name]
            cells.append(f"{m['bits_per_byte']:.3f} ({m['bits_per_byte_ci'][0]:.3f}–{m['bits_per_byte_ci'][1]:.3f})")
        rows.append(f"| `{name}` | " + " | ".join(cells) + " |")
    for pair in contexts[sizes[0]]["paired"]:
        a, b = pair.split("-", 1)
        cells = [
            f"{p['mean']:+.3f} ({p['ci'][0]:+.3f} to {p['ci'][1]:+.3f}) {p['verdict']}"
            for p in (contexts[s]["paired"][pair] for s in sizes)
        ]
        rows.append(f"| `{a}` − `{b}` | " + " | ".join(cells) + " |")
    batches = ", ".join(f"{s}: {contexts[s][names[0]]['batch']}" for s in sizes)
    rows.append(f"\nwindows per step (characters: batch): {batches}")
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("compare_json", nargs="+", help="compare.json of one or more runs (their models merged)")
    p.add_argument("--contexts", type=Path, help="contexts.json of a run at several contexts")
    args = p.parse_args()
    models: dict = {}
    result: dict = {}
    for path in args.compare_json:
        result = json.loads(Path(path).read_text())
        models.update(result["models"])
    split = result["split"]
    print(
        f"train {split['train_chars']:,} characters, tune {split['tune_chars']:,}, test {split['test_chars']:,}; "
        f"every model scored {sorted({m['scored_bytes'] for m in models.values()})} test bytes\n"
    )
    print("\n".join(model_rows(models)) + "\n")
    print("\n".join(paired_rows({**result, "models": models})) + "\n")
    flops = result["flops"]
    print(
        f"training FLOPs per model and seed: {sorted({f'{v:.3g}' for v in flops['train'].values()})}; pre-training, "
        f"not in the budget: tokun's autoencoder {flops['pretraining']['tokun_autoencoder']:.3g} FLOPs, BPE "
        f"{flops['pretraining']['bpe_seconds'] or 0:.1f} s of CPU"
    )
    if args.contexts:
        print("\n" + "\n".join(context_rows(json.loads(args.contexts.read_text()))))


if __name__ == "__main__":
    main()
