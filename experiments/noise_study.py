"""Ways to make the latents noise-tolerant, compared under one budget (issue: latents a model can hit).

    python experiments/noise_study.py --steps 2000 --out runs/noise-study      # ~35 min on one core (2-3 min a row)

Every row trains the same small 4x16 (embed 64, hidden 128, SiLU) for the same steps, batch, seed
and data: random codepoints (planes 0-3, assigned, BMP, [0, 0x800), ``local`` text-like blocks)
plus 30 % real text from the training lines of the corpora (every 10th line held out, as
``tokun split`` writes). Rows differ only in how noise is used:

    none                 no noise
    all 0.5              isotropic noise k=0.5 on every latent during training
    local 0.5            noise only on the ``local`` blocks
    text 0.5             noise only on the real-text blocks
    text+local 0.3       noise 0.3 on both
    text+local 0.3 centred    the same with zero-sum latents (a decoder blind to common shifts)
    text+local dropout 0.2 centred        latent dropout instead of noise (each dimension zeroed w.p. 0.2)
    text+local 0.3 dropout 0.1 centred    both
    text+local 0.3 centred distance 0.5   noise, plus a term that makes latent distances follow edit distances
    centred distance 0.5                  that term alone (on text + local rows), no noise
    text+local 0.3 centred distance 0.5 target 0.75   the term as a hinge: no pull once a batch's
                                          correlation reaches 0.75
    text+local 0.5 centred                noise 0.5 on text + local
    text+local 0.5 centred, decoder MLP 1024   the same with a residual MLP on the whole latent at the
                                          decoder's input (``--decoder-mlp 1024``), which can correct the
                                          noise across the block's characters jointly
    text+local 0.5 centred, decoder MLP 1024, spread 0.5   plus a term that spreads the latents' variance
                                          evenly over directions (``--spread-loss 0.5``)
    text+local 0.5 centred, spread 0.5 ...   the spread row with more training noise (0.7), wider
                                          character vectors (hidden 256), wider byte embeddings (embed 128),
                                          or 60 % real text instead of 30 %

Each row is then measured on the held-out lines with ``tokun noise``'s measures (k*, the sweep,
int8, Spearman) and at k = 0 on random planes 0-3. Finished rows are skipped when rerun; ``--only``
runs some rows (e.g. one per process). Writes ``OUT/noise_study.json`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import torch

from tokun.core.config import ModelConfig
from tokun.core.sources import random_codepoints
from tokun.core.splits import write_split
from tokun.decoding.tokenizer import Tokenizer
from tokun.evaluation import noise
from tokun.evaluation.accuracy import codepoint_metrics
from tokun.training.config import TrainConfig
from tokun.training.train import train

ROOT = Path(__file__).resolve().parents[1]
MODEL = ModelConfig(token_dim=(4, 16), embed_dim=64, hidden_dim=128, activation="silu")
DATA = ("planes0-3", "assigned", "plane0", "0-0x800", "local")

TEXT_LOCAL = {"noise_on": ("text", "local")}  # noise, dropout and distance term on these rows only
CENTRED = TEXT_LOCAL | {"center": True}

ROWS: dict[str, dict] = {
    "none": {},
    "all 0.5": {"latent_noise": 0.5},
    "local 0.5": {"latent_noise": 0.5, "noise_on": ("local",)},
    "text 0.5": {"latent_noise": 0.5, "noise_on": ("text",)},
    "text+local 0.3": TEXT_LOCAL | {"latent_noise": 0.3},
    "text+local 0.3 centred": CENTRED | {"latent_noise": 0.3},
    "text+local dropout 0.2 centred": CENTRED | {"latent_dropout": 0.2},
    "text+local 0.3 dropout 0.1 centred": CENTRED | {"latent_noise": 0.3, "latent_dropout": 0.1},
    "centred distance 0.5": CENTRED | {"distance_loss": 0.5},
    "text+local 0.3 centred distance 0.5": CENTRED | {"latent_noise": 0.3, "distance_loss": 0.5},
    "text+local 0.3 centred distance 0.5 target 0.75": CENTRED
    | {"latent_noise": 0.3, "distance_loss": 0.5, "distance_target": 0.75},
    "text+local 0.5 centred": CENTRED | {"latent_noise": 0.5},
    "text+local 0.5 centred, decoder MLP 1024": CENTRED | {"latent_noise": 0.5, "decoder_mlp": 1024},
    "text+local 0.5 centred, decoder MLP 1024, spread 0.5": CENTRED
    | {"latent_noise": 0.5, "decoder_mlp": 1024, "spread_loss": 0.5},
    "text+local 0.5 centred, decoder MLP 1024, spread 2": CENTRED
    | {"latent_noise": 0.5, "decoder_mlp": 1024, "spread_loss": 2.0},
    "text+local 0.5 centred, decoder MLP 1024, spread 0.5, distance 0.5 target 0.7": CENTRED
    | {"latent_noise": 0.5, "decoder_mlp": 1024, "spread_loss": 0.5, "distance_loss": 0.5, "distance_target": 0.7},
    "text+local 0.5 centred, spread 0.5": CENTRED | {"latent_noise": 0.5, "spread_loss": 0.5},
    "text+local 0.7 centred, spread 0.5": CENTRED | {"latent_noise": 0.7, "spread_loss": 0.5},
    "text+local 0.5 centred, spread 0.5, hidden 256": CENTRED
    | {"latent_noise": 0.5, "spread_loss": 0.5, "hidden": 256},
    "text+local 0.5 centred, spread 0.5, embed 128": CENTRED | {"latent_noise": 0.5, "spread_loss": 0.5, "embed": 128},
    "text+local 0.5 centred, spread 0.5, 60 % text": CENTRED
    | {"latent_noise": 0.5, "spread_loss": 0.5, "text_ratio": 0.6},
}


def measure(model_dir: Path, val: Path, samples: int) -> dict:
    tok = Tokenizer.load(model_dir)
    result = noise.measure(tok, [str(val)])  # what `tokun noise VAL --model MODEL --json` prints
    result["spearman"] = result["distance"]["spearman_l2_vs_edit"]
    planes = random_codepoints("planes0-3", samples, seed=1)
    result["planes0-3"] = codepoint_metrics(tok, planes)["char_accuracy"]
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--samples", type=int, default=100_000, help="random planes 0-3 characters at k = 0")
    p.add_argument("--corpora", default=str(ROOT.parent / "shared" / "corpora"))
    p.add_argument("--only", nargs="*", help="run only these rows")
    p.add_argument("--out", default="runs/noise-study")
    args = p.parse_args()
    out = Path(args.out)
    split = out / "split"
    if not (split / "val").is_dir():
        write_split(args.corpora, split)
    summary_path = out / "noise_study.json"
    for name, row in ROWS.items():
        if args.only and name not in args.only:
            continue
        summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
        if name in summary:
            print(f"{name}: done already")
            continue
        row = dict(row)
        model = dataclasses.replace(
            MODEL,
            center_latent=row.pop("center", False),
            decoder_mlp=row.pop("decoder_mlp", 0),
            hidden_dim=row.pop("hidden", MODEL.hidden_dim),
            embed_dim=row.pop("embed", MODEL.embed_dim),
        )
        cfg = TrainConfig(
            model=model,
            random=DATA,
            texts=(str(split / "train"),),
            text_ratio=row.pop("text_ratio", 0.3),
            steps=args.steps,
            batch_size=args.batch_size,
            lr=6e-3,
            warmup_steps=200,
            eval_every=args.steps,
            save_every=args.steps,
            **row,
        )
        run_dir = out / name.replace(" ", "_").replace("+", "-")
        t0 = time.time()
        train(cfg, run_dir, resume=run_dir.exists(), progress=False)
        seconds = time.time() - t0
        result = measure(run_dir / "model", split / "val", args.samples) | {"train_seconds": seconds}
        summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}  # other processes
        summary[name] = result
        summary_path.write_text(json.dumps(summary, indent=2) + "\n")
        print(f"{name}: iso k* {result['isotropic']['k_star']}, structured k* {result['structured']['k_star']}")
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    print("| training noise | clean held-out | iso 0.3 | iso 0.5 | iso k* | struct k* | int8 | Spearman | planes0-3 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in summary.items():
        iso = dict((k, a) for k, a in r["isotropic"]["curve"])
        print(
            f"| {name} | {iso[0.0]:.4%} | {iso[0.3]:.2%} | {iso[0.5]:.2%} | {r['isotropic']['k_star']} "
            f"| {r['structured']['k_star']} | {r['int8']['char_accuracy']:.4%} | {r['spearman']:.3f} | {r['planes0-3']:.4%} |"
        )


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
