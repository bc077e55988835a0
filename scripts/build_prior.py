"""Build the character prior of posterior decoding (unigram and bigram counts) from UTF-8 text.

    python scripts/build_prior.py runs/split/train --out src/tokun/priors/text.safetensors

The shipped prior is built so from the training split of the corpora (``scripts/split_corpus.py``): counts of
characters and adjacent pairs, no text. See :mod:`tokun.prior`.
"""

from __future__ import annotations

import argparse
import sys

from tokun.errors import TokunError
from tokun.prior import MIX, CharPrior


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", help="UTF-8 text files or folders of *.txt")
    p.add_argument("--out", required=True, help="the prior file to write (safetensors)")
    p.add_argument("--mix", type=float, default=MIX, help="weight of the bigram against the unigram (default %(default)s)")
    args = p.parse_args()
    try:
        prior = CharPrior.from_texts(args.paths, mix=args.mix)
        prior.save(args.out)
    except TokunError as e:
        print(f"build_prior: error: {e}", file=sys.stderr)
        return 2
    print(f"{prior.total:,} characters, {len(prior.unigram_counts):,} distinct, {len(prior.bigram_counts):,} pairs -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
