"""Samples of the trained language models of `tokun lm compare`, five prompts in five scripts, side by side.

    python experiments/lm_samples.py --out runs/lm-flops [--models tokun-words bytes bpe] [--chars 60] [--seed 0]

Each model continues each prompt by ``--chars`` characters (``tokun lm generate --chars``), temperature 0.8, top-p
0.95, the same seed; the script prints a Markdown table (docs/RESULTS.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tokun.lm.compare import generate

PROMPTS = ["The history of the ", "Le gouvernement a ", "Москва является ", "東京は日本の", "القاهرة هي "]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="runs/lm-flops", help="the --out folder of `tokun lm compare`")
    p.add_argument("--models", nargs="+", default=["tokun-words", "bytes", "bpe"])
    p.add_argument("--chars", type=int, default=60)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    print("| prompt | " + " | ".join(args.models) + " |")
    print("|---" * (len(args.models) + 1) + "|")
    for prompt in PROMPTS:
        cells = []
        for name in args.models:
            text = generate(prompt, folder=Path(args.out) / name, chars=args.chars, seed=args.seed)
            cells.append(text[len(prompt) :].replace("\n", "⏎").replace("|", "\\|"))
        print(f"| {prompt} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
