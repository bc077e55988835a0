"""Samples of the trained language models of `tokun lm compare`, five prompts in five scripts, side by side.

    python experiments/lm_samples.py --out runs/lm-flops [--models tokun bytes bpe] [--chars 60] [--seed 0]
    python experiments/lm_samples.py --models runs/a/tokun-words8 runs/b/bytes runs/b/bpe   # models of several runs

Each model continues each prompt by ``--chars`` characters (``tokun lm generate --chars``), temperature 0.8, top-p
0.95, the same seed; the script prints a Markdown table (docs/RESULTS.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tokun.lm import generate, model_folder

PROMPTS = ["The history of the ", "Le gouvernement a ", "Москва является ", "東京は日本の", "القاهرة هي "]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="runs/lm-flops", help="the --out folder of `tokun lm compare`")
    p.add_argument("--models", nargs="+", default=["tokun", "bytes", "bpe"], help="names in --out, or model folders")
    p.add_argument("--chars", type=int, default=60)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    folders = [Path(m) if "/" in m else model_folder(Path(args.out), m) for m in args.models]
    print("| prompt | " + " | ".join(f.name for f in folders) + " |")
    print("|---" * (len(args.models) + 1) + "|")
    for prompt in PROMPTS:
        cells = []
        for folder in folders:
            text = generate(prompt, folder=folder, chars=args.chars, seed=args.seed)
            cells.append(text[len(prompt) :].replace("\n", "⏎").replace("|", "\\|"))
        print(f"| {prompt} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
