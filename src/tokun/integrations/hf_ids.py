"""The flat id layout of tokun's transformers tokenizer (`hf_tokenizer`'s docstring): its ids and characters, the
truncation rule, and the checks that turn a wrong shape or id into a one-line error."""

from __future__ import annotations

from typing import Any

import numpy as np
from transformers.tokenization_utils_base import TruncationStrategy

from ..core.errors import InputError
from ..core.model import BYTE_VALUES

BOS, EOS, SEP = "\x02", "\x03", "\x1e"  # start of text, end of text, record separator: characters, 4 ids each
PAD_ID = BYTE_VALUES  # 256: outside the byte values, so padding is never text
PAD_TOKEN = "<pad>"
VOCAB_SIZE = BYTE_VALUES + 1
IGNORE = -100  # the label that losses and transformers' collators skip


def check_id(i: int) -> int:
    """``i`` if it is a tokun id (a byte value or padding), else a one-line error."""
    if not 0 <= i <= PAD_ID:
        raise InputError(f"tokun ids are byte values 0-255 and padding {PAD_ID}, got {i}")
    return i


def kept_lengths(text: str, pair: str | None, room: int | None, strategy: TruncationStrategy) -> tuple[int, int | None]:
    """The characters of ``text`` and ``pair`` kept within ``room`` characters (`hf_tokenizer`'s docstring:
    truncation)."""
    a, b = len(text), (None if pair is None else len(pair))
    if room is None or a + (b or 0) <= room:
        return a, b
    if strategy == TruncationStrategy.ONLY_SECOND and b is None:
        raise InputError("truncation='only_second' needs a pair of texts")
    if (
        room < 0
        or (strategy == TruncationStrategy.ONLY_FIRST and b is not None and b > room)
        or (strategy == TruncationStrategy.ONLY_SECOND and a > room)
    ):
        raise InputError(
            f"max_length leaves {max(room, 0)} characters, fewer than the special characters or the text not cut "
            f"need: a larger max_length, or truncation='longest_first'"
        )
    if b is None or strategy == TruncationStrategy.ONLY_FIRST:
        return room - (b or 0), b
    if strategy == TruncationStrategy.ONLY_SECOND:
        return a, room - a
    excess = a + b - room  # longest_first: one character at a time from the longer, the pair's on a tie
    gap = abs(a - b)
    if gap >= excess:
        return (a - excess, b) if a > b else (a, b - excess)
    rest = excess - gap
    short = min(a, b)
    return short - rest // 2, short - (rest + 1) // 2


def not_whole(n: int, block_bytes: int) -> str:
    return f"{n} ids are not whole blocks: tokun's ids come {block_bytes} to a block (the tokenizer's output)"


def flat_ids(ids: Any, call: str, expected: str) -> list[int]:
    """``ids`` as a flat list of ints; nested ids (a batch, or the old (blocks, bytes) layout) are a one-line error."""
    if hasattr(ids, "tolist"):
        ids = ids.tolist()
    if isinstance(ids, int):
        return [ids]
    ids = list(ids)
    if any(not isinstance(i, (int, np.integer)) for i in ids):
        shape = np.shape(ids) if ids and all(isinstance(i, (list, tuple)) for i in ids) else "nested"
        raise InputError(
            f"{call} takes {expected}, got ids of shape {shape}: tokun's ids are flat, (batch, blocks * bytes); "
            "a 3-d (batch, blocks, bytes) array flattens with ids.reshape(len(ids), -1)"
        )
    return [int(i) for i in ids]
