"""The comparison's text: corpus files split three ways, and a text as one model's positions.

    split_corpus(paths) -> Splits       every file split by line into train, tune and test (core.splits.split_three)
    Encoded                             a text as positions: the model's input arrays and the UTF-8 bytes of each
    TokenText                           ids -> text for the byte and BPE models, streamed while generating

Every text a model reads or scores starts with the same shared context, the start-of-text character U+0002
(:data:`STX`), which tokun, bytes and BPE all take: position 0 of an :class:`Encoded` text holds it and no byte of
the text, so every UTF-8 byte of the text is in a later position, scored when that position is predicted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..core import shards
from ..core.splits import split_three
from ..core.textio import read_text, text_files
from ..decoding.shard_texts import shard_texts

STX = "\x02"  # start of text: the shared first position of every text


@dataclass(frozen=True)
class Splits:
    """Each corpus file's ``train``, ``tune`` and ``test`` text, by file name (stem). Choices are made on tune; test
    is read once, for the report."""

    train: dict[str, str]
    tune: dict[str, str]
    test: dict[str, str]

    def chars(self) -> dict[str, int]:
        """``{"train_chars", "tune_chars", "test_chars"}``: the characters of each split."""
        return {f"{part}_chars": sum(map(len, getattr(self, part).values())) for part in ("train", "tune", "test")}


def split_corpus(paths: Sequence[str]) -> Splits:
    """Every file of ``paths`` split by line (:func:`~tokun.core.splits.split_three`). A folder of shards
    (``tokun encode-dataset``) counts as one file: its documents, decoded, one per line."""
    train, tune, test = {}, {}, {}
    files = [f for p in paths for f in ([Path(p)] if shards.is_shard_folder(p) else text_files([p]))]
    for path in files:
        text = shard_documents(path) if path.is_dir() else read_text(path)
        train[path.stem], tune[path.stem], test[path.stem] = split_three(text)
    return Splits(train, tune, test)


def shard_documents(folder: Path) -> str:
    """The documents of a shard folder, decoded exactly by the model that made them (its weights checked against
    the manifest), joined by newlines."""
    return "\n".join(text for _, texts in shard_texts(folder) for text in texts)


@dataclass
class Encoded:
    """A text as one model's positions: ``arrays``, each ``(N, ...)``, the model's input per position (token ids;
    or tokun blocks and the patch's UTF-8 units), and ``nbytes`` ``(N,)``, the UTF-8 bytes of the text that each
    position holds: 0 at position 0, the shared start (:data:`STX`), so ``nbytes.sum()`` is the text's bytes."""

    arrays: tuple[np.ndarray, ...]
    nbytes: np.ndarray

    def __len__(self) -> int:
        return len(self.nbytes)

    def take(self, rows: np.ndarray) -> Any:
        """The model's batch at positions ``rows`` ``(B, T)``: one tensor ``(B, T, ...)``, or a tuple of them."""
        tensors = tuple(torch.from_numpy(np.ascontiguousarray(a[rows])) for a in self.arrays)
        return tensors[0] if len(tensors) == 1 else tensors

    def windows(self, rng: np.random.Generator, batch: int, context: int) -> Any:
        """``batch`` random training windows of ``context + 1`` positions."""
        starts = rng.integers(0, len(self) - context - 1, size=batch)
        return self.take(starts[:, None] + np.arange(context + 1))  # (B, T+1, ...)

    @classmethod
    def concat(cls, parts: Sequence[Encoded]) -> Encoded:
        arrays = tuple(np.concatenate(a) for a in zip(*(p.arrays for p in parts)))
        return cls(arrays, np.concatenate([p.nbytes for p in parts]))


def _byte_alphabet() -> dict[str, int]:
    """GPT-2's byte-level alphabet (used by ``tokenizers``' ByteLevel BPE): a printable character per byte value."""
    kept = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    symbols = {b: chr(b) for b in kept}
    for n, b in enumerate(b for b in range(256) if b not in symbols):
        symbols[b] = chr(256 + n)
    return {c: b for b, c in symbols.items()}


BYTE_OF_SYMBOL = _byte_alphabet()
SYMBOL_OF_BYTE = {b: c for c, b in BYTE_OF_SYMBOL.items()}


class TokenText:
    """Ids -> text for the byte and BPE models, streamed: ``piece(id)`` gives the text that id completes (a
    character cut between tokens waits for its last byte). ``bpe``: a ``tokenizers`` BPE, or None for bytes."""

    def __init__(self, bpe: Any = None) -> None:
        self.bpe = bpe
        self.pending = b""

    def ids(self, text: str) -> list[int]:
        return list(text.encode("utf-8")) if self.bpe is None else self.bpe.encode(text).ids

    def piece(self, token: int) -> str:
        if self.bpe is None:
            raw = bytes([token])
        else:  # a byte-level BPE token: one character of GPT-2's byte alphabet per byte
            raw = bytes(BYTE_OF_SYMBOL[c] for c in self.bpe.id_to_token(token) or "")
        self.pending += raw
        try:
            text, self.pending = self.pending.decode("utf-8"), b""
        except UnicodeDecodeError as err:
            if err.reason != "unexpected end of data":  # not UTF-8: shown as U+FFFD, as a decoder would
                text, self.pending = self.pending.decode("utf-8", errors="replace"), b""
            else:  # a character cut between tokens: its first bytes wait for the rest
                text, self.pending = (
                    self.pending[: err.start].decode("utf-8", errors="replace"),
                    self.pending[err.start :],
                )
        return text
