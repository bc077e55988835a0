"""The configuration study: every hierarchy and 4x16 variant trained under the same budget.

    python experiments/study.py --steps 2000 --out runs/study          # hours on a 2-core CPU; not in CI

Same steps, batch, data (uniform random codepoints of planes 0-3, the original's data), seed and
learning rate for every configuration; the last row adds the per-level loss (``--level-loss``) to
4x4x4, the fix for its plateau. Writes
``OUT/study.json`` (parameters, training time, accuracy on planes0-3, assigned and the corpora)
and ``docs/study.png`` (character accuracy on planes0-3 against steps). Finished configurations
are skipped when the command is rerun, so it can be interrupted and continued.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

from tokun.core.checkpoint import load_model
from tokun.core.config import ModelConfig
from tokun.core.model import count_parameters
from tokun.decoding.tokenizer import Tokenizer
from tokun.evaluation.accuracy import evaluate
from tokun.training.config import TrainConfig
from tokun.training.train import train

ROOT = Path(__file__).resolve().parents[1]

# The study's 4x16: the historical configuration (the original's and this project's first models: embed 256, GELU,
# not centred; the 2.77 M-parameter default of v2). The shipped 4x16 is preset("4x16").
V2 = ModelConfig(embed_dim=256, hidden_dim=None, activation="gelu", center_latent=False)
CONFIGS: dict[str, ModelConfig] = {
    "4x16": V2,
    "16x4": dataclasses.replace(V2, token_dim=(16, 4)),
    "4x4x4": dataclasses.replace(V2, token_dim=(4, 4, 4)),
    "64": dataclasses.replace(V2, token_dim=(64,)),
    "4x4": dataclasses.replace(V2, token_dim=(4, 4)),
    "4x16 attention": dataclasses.replace(V2, attention=True),
    "4x16 no LayerNorm": dataclasses.replace(V2, layer_norm=False),
    "4x16 relu": dataclasses.replace(V2, activation="relu"),
    "4x16 silu": dataclasses.replace(V2, activation="silu"),
    "4x16 tanh": dataclasses.replace(V2, activation="tanh"),
    "4x16 embed 64": dataclasses.replace(V2, embed_dim=64),
    "4x4x4 level loss": dataclasses.replace(V2, token_dim=(4, 4, 4)),
}
LEVEL_LOSS = {"4x4x4 level loss": 0.3}  # rows trained with the per-level loss, and its weight


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=6e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--only", nargs="*", help="run only these configurations")
    p.add_argument("--corpora", default=str(ROOT.parent / "shared" / "corpora"))
    p.add_argument("--samples", type=int, default=100_000, help="random characters per evaluation")
    p.add_argument("--out", default="runs/study")
    p.add_argument("--plot", default=str(ROOT / "docs" / "study.png"))
    args = p.parse_args()
    out = Path(args.out)
    summary_path = out / "study.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    for name, model_cfg in CONFIGS.items():
        if args.only and name not in args.only:
            continue
        if name in summary:
            print(f"{name}: done already")
            continue
        cfg = TrainConfig(
            model=model_cfg,
            random=("planes0-3",),
            level_loss=LEVEL_LOSS.get(name, 0.0),
            steps=args.steps,
            batch_size=args.batch_size,
            lr=args.lr,
            warmup_steps=200,
            eval_every=max(1, args.steps // 20),
            eval_samples=20_000,
            save_every=args.steps,
            seed=args.seed,
        )
        run_dir = out / name.replace(" ", "-")
        t0 = time.time()
        train(cfg, run_dir, resume=(run_dir / "checkpoints").is_dir(), progress=True)
        seconds = time.time() - t0
        tok = Tokenizer(load_model(run_dir / "model"), name=name)
        paths = [args.corpora] if Path(args.corpora).is_dir() else []
        result = evaluate(tok, paths, ["planes0-3", "assigned"], samples=args.samples, offsets=[0])
        files = result["files"].values()
        curve = [
            (r["step"], r["eval"]["planes0-3"]["char_accuracy"])
            for r in map(json.loads, (run_dir / "log.jsonl").read_text().splitlines())
        ]
        summary[name] = {
            "config": model_cfg.to_dict(),
            "parameters": count_parameters(tok.model),
            "train_seconds": round(seconds, 1),
            "planes0-3": result["random"]["planes0-3"],
            "assigned": result["random"]["assigned"],
            "corpora_min_char_accuracy": min((m["char_accuracy"] for m in files), default=None),
            "corpora_mean_char_accuracy": sum(m["char_accuracy"] for m in files) / len(files) if files else None,
            "curve": curve,
        }
        out.mkdir(parents=True, exist_ok=True)
        summary_path.write_text(json.dumps(summary, indent=2) + "\n")
        print(f"{name}: {summary[name]['planes0-3']['char_accuracy']:.5f} on planes0-3 in {seconds:.0f}s")
    plot(summary, args.plot)
    print_table(summary)


def plot(summary: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    colours = plt.get_cmap("tab20").colors
    for i, (name, s) in enumerate(summary.items()):
        steps, acc = zip(*s["curve"])
        fix = "level loss" in name  # the fixed 4x4x4: drawn thick in black
        ax.plot(
            steps,
            acc,
            label=name,
            color="black" if fix else colours[(2 * i) % 20 + (i >= 10)],
            linestyle="--" if "4x16 " in name else "-",
            linewidth=2.5 if fix else 1.5,
        )
    ax.set_xlabel("training step (batch 128 blocks)")
    ax.set_ylabel("character accuracy, random planes 0-3")
    ax.set_ylim(0, 1.01)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def print_table(summary: dict) -> None:
    print(
        "| configuration | parameters | train time (s) | planes0-3 char acc | assigned char acc | corpora min char acc |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, s in summary.items():
        corpora = s["corpora_min_char_accuracy"]
        print(
            f"| {name} | {s['parameters']:,} | {s['train_seconds']:.0f} | {s['planes0-3']['char_accuracy']:.5%} | "
            f"{s['assigned']['char_accuracy']:.5%} | {'n/a' if corpora is None else f'{corpora:.5%}'} |"
        )


if __name__ == "__main__":
    main()
