"""Generation speed of the language models of one `tokun lm compare` run, timed in turn, several rounds: each model
writes the same text (the first ``--chars`` characters of every test file) through its generation loop, batch 1,
KV caches (`tokun.lm.chars_per_second`). Rounds interleave the models, so a machine's load falls on all of them alike;
the median of the rounds is reported, with each model's ratio to BPE.

    python benchmarks/lm_generate.py runs/lm-compare [--models tokun bpe bytes] [--rounds 3] [--chars 200]

Prints one JSON object: characters per second per round and their median, and the ratios to ``--reference``.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import torch

from tokun.lm import chars_per_second, load_lm, model_folder, split_corpus


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", type=Path, help="the --out folder of a `tokun lm compare` run")
    p.add_argument("--models", nargs="+", default=["tokun", "bpe", "bytes"])
    p.add_argument("--reference", default="bpe")
    p.add_argument("--corpora", default=str(Path(__file__).resolve().parents[2] / "shared" / "corpora"))
    p.add_argument("--chars", type=int, default=200, help="characters of each test file (the run's generate_chars)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    texts = [text[: args.chars] for text in split_corpus([args.corpora]).test.values()]
    models = {name: load_lm(model_folder(args.run, name)) for name in args.models}
    rounds: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(args.rounds):
        for name, model in models.items():
            rounds[name].append(chars_per_second(model, texts))
    median = {name: statistics.median(r) for name, r in rounds.items()}
    ref = median.get(args.reference)
    print(
        json.dumps({
            "chars": sum(map(len, texts)),
            "threads": args.threads,
            "chars_per_s": {name: [round(x) for x in r] for name, r in rounds.items()},
            "median": {name: round(m) for name, m in median.items()},
            f"ratio_to_{args.reference}": {name: round(m / ref, 2) for name, m in median.items()} if ref else None,
        })  # fmt: skip
    )


if __name__ == "__main__":
    main()
