"""Text that crosses scripts at every line: the first lines of every corpus file, dealt round-robin (line 1 of every
file, then line 2 of every file, ...), written to one file that ``tokun eval`` reads at every cut offset.

A corpus file holds one language; blocks that hold the end of one script's line, a line break and the start of
another's are rare in it, and they are where the decoder slips on several characters at once (docs/experiments.md,
"Blocks across scripts"). Usage::

    python experiments/mixed_scripts.py ../shared/corpora --lines 40 --out runs/mixed/mixed.txt
    tokun eval runs/mixed/mixed.txt --json
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tokun.core.textio import atomic_output, read_text, text_files


def deal(paths: list[str], lines: int) -> str:
    """The first ``lines`` non-blank lines of every file, dealt round-robin, joined by line breaks."""
    per_file = [[line for line in read_text(p).splitlines() if line.strip()][:lines] for p in text_files(paths)]
    return "\n".join(f[i] for i in range(lines) for f in per_file if i < len(f))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("corpora", nargs="+", help="UTF-8 text files or folders of *.txt")
    p.add_argument("--lines", type=int, default=40, help="lines taken from each file (default 40)")
    p.add_argument("--out", required=True, help="the text file to write")
    args = p.parse_args()
    text = deal(args.corpora, args.lines)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(args.out) as fh:
        fh.write(text.encode("utf-8"))
    print(f"{len(text.splitlines()):,} lines, {len(text):,} characters -> {args.out}")


if __name__ == "__main__":
    main()
