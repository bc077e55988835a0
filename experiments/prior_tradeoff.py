"""What the character prior costs where it does not fit: noisy latents of text vs of random codepoints.

    python experiments/prior_tradeoff.py ../shared/corpora --k 0.2 0.3 0.5 0.75 --json   # ~3 min

Character accuracy of isotropic noise at each k (sigma as ``tokun noise``: over each set's own latents), read
two ways: without a prior (verified decoding leaves noisy latents as the decoder reads them) and with the
shipped prior (posterior decoding), each with its decoding speed (the decoder's chars/s include the
re-encoding that finds the latents noisy). On text of the kind the
prior was counted from, the posterior wins; on random codepoints (``assigned``: any assigned character; ``local``:
runs from one Unicode block, like text in a script the prior never saw) the prior is wrong about which characters
are likely, which is the price of using it.
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
from tokun.core.sources import random_codepoints
from tokun.decoding.tokenizer import Tokenizer
from tokun.evaluation.noise import char_accuracy, corpus_blocks, isotropic_noise


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", help="UTF-8 text files or folders of *.txt")
    p.add_argument("--model", default=None)
    p.add_argument("--k", type=float, nargs="+", default=[0.2, 0.3, 0.5, 0.75])
    p.add_argument("--max-blocks", type=int, default=4096)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    try:
        plain = Tokenizer.load(args.model, prior=False)
        posterior = Tokenizer.load(args.model)
        sets = {
            "text": corpus_blocks(plain, args.paths, max_blocks=args.max_blocks, seed=args.seed),
            "assigned": random_codepoints("assigned", 1024 * plain.block_chars, seed=args.seed).reshape(
                -1, plain.block_chars
            ),
            "local": random_codepoints("local", 1024 * plain.block_chars, seed=args.seed).reshape(
                -1, plain.block_chars
            ),
        }
    except TokunError as e:
        print(f"prior_tradeoff: error: {e}", file=sys.stderr)
        return 2
    rows = []
    for name, cps in sets.items():
        z = plain.encode_bytes(codec.codepoints_to_bytes(cps))
        sigma = float(latent_sigma(z))
        for k in args.k:
            noisy = isotropic_noise(z, k, sigma, generator=torch.Generator().manual_seed(args.seed))
            t0 = time.perf_counter()
            decoder = char_accuracy(plain, noisy, cps)
            t1 = time.perf_counter()
            read = char_accuracy(posterior, noisy, cps)
            t2 = time.perf_counter()
            rows.append(
                {
                    "set": name,
                    "k": k,
                    "decoder": decoder,
                    "posterior": read,
                    "decoder_chars_per_s": cps.size / (t1 - t0),
                    "posterior_chars_per_s": cps.size / (t2 - t1),
                }
            )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print("| set | k | decoder alone | posterior (shipped prior) | chars/s decoder | chars/s posterior |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['set']} | {r['k']} | {r['decoder']:.3%} | {r['posterior']:.3%} "
            f"| {r['decoder_chars_per_s']:,.0f} | {r['posterior_chars_per_s']:,.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
