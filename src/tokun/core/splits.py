"""Splitting a corpus into training and held-out text, by line or by tail, as a pure function of the text."""

from __future__ import annotations

from pathlib import Path

from .textio import atomic_output, read_text, text_files

VAL_EVERY = 10  # every 10th line of a text (the 1st, 11th...) is validation
TEST_AT = 5  # split_three: the line after the middle of every ten (the 6th, 16th...) is test


def split_lines(text: str) -> tuple[str, str]:
    r"""(training, validation) text of ``text``, split by line: every :data:`VAL_EVERY`-th line to validation.

    >>> split_lines("a\nb\nc")
    ('b\nc', 'a')
    """
    lines = text.splitlines()
    train = "\n".join(line for i, line in enumerate(lines) if i % VAL_EVERY)
    return train, "\n".join(line for i, line in enumerate(lines) if i % VAL_EVERY == 0)


def split_three(text: str) -> tuple[str, str, str]:
    r"""(train, tune, test) text of ``text``, by line: of every :data:`VAL_EVERY` lines, the first to tune (the
    lines :func:`split_lines` holds out), the :data:`TEST_AT`-th to test, the rest to train. Disjoint, and together
    every line once.

    >>> split_three("\n".join("abcdefghijk"))
    ('b\nc\nd\ne\ng\nh\ni\nj', 'a\nk', 'f')
    """
    lines = text.splitlines()
    parts: tuple[list[str], list[str], list[str]] = ([], [], [])
    for i, line in enumerate(lines):
        parts[1 if i % VAL_EVERY == 0 else 2 if i % VAL_EVERY == TEST_AT else 0].append(line)
    train, tune, test = ("\n".join(part) for part in parts)
    return train, tune, test


def split_tail(text: str) -> tuple[str, str]:
    r"""(training, validation) text of ``text``: its last ``1 / VAL_EVERY`` of lines (at least one) to validation,
    a passage whose neighbouring lines are not in training.

    >>> split_tail("a\nb\nc")
    ('a\nb', 'c')
    """
    lines = text.splitlines()
    cut = len(lines) - max(1, len(lines) // VAL_EVERY)
    return "\n".join(lines[:cut]), "\n".join(lines[cut:])


def write_split(corpora: str | Path, out: str | Path, *, tail: bool = False) -> list[Path]:
    """Write every text of ``corpora`` split by :func:`split_lines` (``tail``: by :func:`split_tail`) to
    ``out/train`` and ``out/val`` (same names)."""
    files = text_files([corpora])
    split = split_tail if tail else split_lines
    for path in files:
        for part, text in zip(("train", "val"), split(read_text(path))):
            folder = Path(out) / part
            folder.mkdir(parents=True, exist_ok=True)
            with atomic_output(folder / path.name) as f:
                f.write((text + "\n").encode("utf-8"))
    return files
