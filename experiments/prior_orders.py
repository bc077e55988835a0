"""How much each order of the character prior buys: noisy latents of held-out text read with priors of order
1 to 4 counted from training text, next to the decoder's own reading.

    python experiments/prior_orders.py runs/split/train runs/split/val --k 0.5 0.75 --json   # ~2 min

Each prior is counted in memory from the training texts (as ``tokun prior build --order N``), the noise is
isotropic at k times sigma of the held-out blocks' own latents (as ``tokun noise``), the same draws for every row.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import torch

from tokun.core import codec
from tokun.core.errors import TokunError
from tokun.core.model import latent_sigma
from tokun.decoding.prior import CharPrior
from tokun.decoding.tokenizer import Tokenizer
from tokun.evaluation.noise import char_accuracy, corpus_blocks, isotropic_noise


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("train", help="UTF-8 text files or a folder of *.txt to count the priors from")
    p.add_argument("held_out", help="UTF-8 text files or a folder of *.txt to measure on")
    p.add_argument("--model", default=None)
    p.add_argument("--orders", type=int, nargs="+", default=[1, 2, 3, 4])
    p.add_argument("--k", type=float, nargs="+", default=[0.5])
    p.add_argument("--max-blocks", type=int, default=4096)
    p.add_argument("--draws", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    try:
        priors = {0: False} | {n: CharPrior.from_texts([args.train], order=n) for n in args.orders}
        plain = Tokenizer.load(args.model, prior=False)
        cps = corpus_blocks(plain, [args.held_out], max_blocks=args.max_blocks, seed=args.seed)
    except TokunError as e:
        print(f"prior_orders: error: {e}", file=sys.stderr)
        return 2
    z = plain.encode_bytes(codec.codepoints_to_bytes(cps))
    sigma = float(latent_sigma(z))
    gen = torch.Generator().manual_seed(args.seed)
    noisy = {k: [isotropic_noise(z, k, sigma, generator=gen) for _ in range(args.draws)] for k in args.k}
    rows = []
    for order, prior in priors.items():
        tok = Tokenizer.load(args.model, prior=prior)
        for k in args.k:
            t0 = time.perf_counter()
            acc = sum(char_accuracy(tok, x, cps) for x in noisy[k]) / args.draws
            rows.append(
                {
                    "order": order,  # 0: no prior, the decoder's reading
                    "ngrams": sum(len(keys) for keys, _ in prior.grams.values()) if prior else 0,
                    "k": k,
                    "char_accuracy": acc,
                    "chars_per_s": cps.size * args.draws / (time.perf_counter() - t0),
                }
            )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print("| prior | n-grams (2 and up) | k | character accuracy | chars/s |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        name = f"order {r['order']}" if r["order"] else "none (the decoder's reading)"
        print(f"| {name} | {r['ngrams']:,} | {r['k']} | {r['char_accuracy']:.3%} | {r['chars_per_s']:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
