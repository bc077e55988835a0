"""Build the character prior of posterior decoding (an n-gram model, :mod:`tokun.decoding.prior`) from UTF-8 text.

    python scripts/build_prior.py runs/split/train --out src/tokun/priors/text.safetensors

The shipped prior is built so from the training split of the corpora (``scripts/split_corpus.py``): counts of
characters and of their n-grams, no text.
"""

from __future__ import annotations

import argparse
import sys

from tokun.core.errors import TokunError
from tokun.decoding.prior import ORDER, CharPrior


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", help="UTF-8 text files or folders of *.txt")
    p.add_argument("--out", required=True, help="the prior file to write (safetensors)")
    p.add_argument("--order", type=int, default=ORDER, help="characters per n-gram, 1 to 6 (default %(default)s)")
    args = p.parse_args()
    try:
        prior = CharPrior.from_texts(args.paths, order=args.order)
        prior.save(args.out)
    except TokunError as e:
        print(f"build_prior: error: {e}", file=sys.stderr)
        return 2
    grams = ", ".join(f"{len(keys):,} {m}-grams" for m, (keys, _) in prior.grams.items())
    print(f"{prior.total:,} characters, {prior.size:,} distinct, {grams} -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
