"""Write the corpora split by line into train/ and val/ folders (one file per language).

The same split as ``tokun lm compare`` (every 10th line, from the first, to validation). Used to
train a tokun model on real text while measuring it on lines it never saw:

    python scripts/split_corpus.py ../shared/corpora runs/split
    tokun train ... --text runs/split/train ...
    tokun noise runs/split/val --model runs/.../model

``--tail`` puts the last tenth of each file's lines in val/ instead: a passage none of whose neighbouring lines is
in train/ (a held-out check against text that only shares its language and source, not its document).
"""

from __future__ import annotations

import argparse

from tokun.core.splits import write_split


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("corpora", help="folder of *.txt files")
    p.add_argument("out", help="output folder (train/ and val/ are written below it)")
    p.add_argument("--tail", action="store_true", help="the last tenth of each file's lines to val/")
    args = p.parse_args()
    files = write_split(args.corpora, args.out, tail=args.tail)
    print(f"{len(files)} files split into {args.out}/train and {args.out}/val")


if __name__ == "__main__":
    main()
