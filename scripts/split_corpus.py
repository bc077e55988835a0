"""Write the corpora split by line into train/ and val/ folders (one file per language).

The same split as ``tokun lm compare`` (every 10th line, from the first, to validation). Used to
train a tokun model on real text while measuring it on lines it never saw:

    python scripts/split_corpus.py ../shared/corpora runs/split
    tokun train ... --text runs/split/train ...
    tokun noise runs/split/val --model runs/.../model
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tokun.files import atomic_output, read_text, split_lines, text_files


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("corpora", help="folder of *.txt files")
    p.add_argument("out", help="output folder (train/ and val/ are written below it)")
    args = p.parse_args()
    files = text_files([args.corpora])
    for path in files:
        for part, text in zip(("train", "val"), split_lines(read_text(path))):
            folder = Path(args.out) / part
            folder.mkdir(parents=True, exist_ok=True)
            with atomic_output(folder / path.name) as f:
                f.write((text + "\n").encode("utf-8"))
    print(f"{len(files)} files split into {args.out}/train and {args.out}/val")


if __name__ == "__main__":
    main()
