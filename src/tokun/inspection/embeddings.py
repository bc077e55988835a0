"""The points that `tokun inspect` maps: character vectors and block latents, each with its script and language.

    character vectors   the encoder's first level: one vector per character (``token_dim`` starting with 4 merges
                        the 4 bytes of one character), ``(N, H)``; every distinct character of the corpora plus a
                        sample of each Unicode block of planes 0-3
    block latents       the ``(N, L)`` latents of 16-character blocks of the corpora (offset 0), sampled evenly per
                        file

Each point carries its text (the character, or the block without its padding), its script
(:mod:`tokun.inspection.scripts`) and its language: the corpus file's name (``en``, ``zh-Hant``), for a character
the file in which it is commonest, ``UNICODE`` for a character only the Unicode sample holds.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..core import codec
from ..core.config import BYTES_PER_CHAR
from ..core.errors import InputError
from ..core.sources import text_blocks
from ..core.textio import read_text, text_files
from ..decoding.tokenizer import Tokenizer
from .scripts import block_samples, script_of, text_script

UNICODE = "(Unicode sample)"
NOT_UTF8 = "inspect reads UTF-8 text only: convert the file (iconv -t UTF-8) or leave it out"


@dataclass(frozen=True)
class Points:
    """``vectors[i]`` is the point of ``texts[i]``, of script ``scripts[i]`` and language ``languages[i]``."""

    kind: str  # "characters" or "blocks"
    vectors: np.ndarray  # (N, D) float32
    texts: list[str]
    scripts: list[str]
    languages: list[str]

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, index: np.ndarray) -> Points:
        """The points at ``index`` (an integer array), in that order."""
        pick = [int(i) for i in index]
        return Points(
            self.kind,
            self.vectors[index],
            [self.texts[i] for i in pick],
            [self.scripts[i] for i in pick],
            [self.languages[i] for i in pick],
        )

    def sample(self, most: int, *, seed: int = 0) -> Points:
        """At most ``most`` points drawn uniformly with ``seed``, in their original order."""
        if len(self) <= most:
            return self
        return self.subset(np.sort(np.random.default_rng(seed).choice(len(self), most, replace=False)))


def read_corpora(paths: list[str | Path]) -> dict[str, str]:
    """``{language: text}`` of the text files and folders named; the language is the file's name without ``.txt``."""
    texts = {Path(p).stem: read_text(p, remedy=NOT_UTF8) for p in text_files(list(paths))}
    if not any(texts.values()):
        raise InputError("no text to inspect: give UTF-8 files or folders of *.txt, e.g. ../shared/corpora")
    return texts


def character_vectors(tok: Tokenizer, cps: np.ndarray) -> np.ndarray:
    """``(N,)`` codepoints -> ``(N, H)`` float32: the encoder's first level, one vector per character. A character's
    vector depends on its 4 bytes alone, so the characters are packed ``block_chars`` to a row."""
    if tok.model.cfg.token_dim[0] != BYTES_PER_CHAR:
        raise InputError(
            f"character vectors need a model whose first level merges one character's 4 bytes; "
            f"{tok.name} has token_dim {list(tok.model.cfg.token_dim)}"
        )
    rows = torch.from_numpy(codec.codepoints_to_bytes(codec.pad_codepoints(cps, tok.block_chars)))  # (B, 4C)
    out = []
    with torch.inference_mode():
        for i in range(0, len(rows), tok.batch_size):
            first = tok.model.encoder.levels(rows[i : i + tok.batch_size].to(tok.device))[0]  # (b, C, H)
            out.append(first.reshape(-1, first.shape[-1]).float().cpu().numpy())
    return np.concatenate(out)[: len(cps)] if out else np.zeros((0, tok.model.cfg.block_widths()[1]), np.float32)


def character_points(tok: Tokenizer, texts: dict[str, str], *, per_block: int = 16, seed: int = 0) -> Points:
    """Every distinct character of ``texts`` (language: the file where it is commonest) and up to ``per_block``
    characters of each Unicode block of planes 0-3 (:func:`~tokun.inspection.scripts.block_samples`)."""
    where: dict[str, tuple[int, str]] = {}
    for language, text in texts.items():
        for char, n in Counter(text).items():
            if n > where.get(char, (0, ""))[0]:
                where[char] = (n, language)
    chars = sorted(where) + sorted({chr(c) for c in block_samples(per_block, seed=seed).tolist()} - set(where))
    return Points(
        "characters",
        character_vectors(tok, np.array([ord(c) for c in chars], np.uint32)),
        chars,
        [script_of(c) for c in chars],
        [where[c][1] if c in where else UNICODE for c in chars],
    )


def block_points(tok: Tokenizer, paths: list[str | Path], *, most: int, seed: int = 0) -> Points:
    """Up to ``most`` 16-character blocks of the files (as many from each file), and their latents."""
    files = text_files(list(paths))
    per_file = max(1, most // max(1, len(files)))
    blocks, languages = [], []
    for path in files:
        cps = text_blocks([path], tok.block_chars, most=per_file, seed=seed)  # (n, C)
        blocks.append(cps)
        languages += [path.stem] * len(cps)
    cps = np.concatenate(blocks) if blocks else np.zeros((0, tok.block_chars), np.uint32)
    texts = [codec.from_codepoints(row).rstrip("\0") for row in cps]
    latents = tok.encode_bytes(codec.codepoints_to_bytes(cps)).numpy()  # (N, L)
    return Points("blocks", latents, texts, [text_script(t) for t in texts], languages)


def word_points(tok: Tokenizer, texts: dict[str, str], *, most: int = 20_000) -> Points:
    """The ``most`` commonest words of ``texts`` (runs of word characters) that fit in one block, each alone in its
    block, and their latents: the candidates of the word neighbour tables. A word's language is the file where it
    is commonest."""
    counts: dict[str, Counter[str]] = {}
    for language, text in texts.items():
        for word in re.findall(r"\w+", text):
            if len(word) <= tok.block_chars:
                counts.setdefault(word, Counter())[language] += 1
    words = sorted(counts, key=lambda w: (-counts[w].total(), w))[:most]
    latents = tok.encode_bytes(codec.codepoints_to_bytes(blocks_of(tok, words))).numpy()  # (W, L)
    languages = [counts[w].most_common(1)[0][0] for w in words]
    return Points("words", latents, words, [text_script(w) for w in words], languages)


def blocks_of(tok: Tokenizer, texts: list[str]) -> np.ndarray:
    """``(len(texts), block_chars)`` codepoints: each text (its first block) alone in a block, padded with U+0000."""
    cut = [t[: tok.block_chars] for t in texts]
    lengths = np.array([len(t) for t in cut], dtype=np.int64)  # (W,)
    cps = codec.to_codepoints("".join(cut))  # (sum of lengths,)
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    out = np.zeros((len(cut), tok.block_chars), np.uint32)
    out[np.repeat(np.arange(len(cut)), lengths), np.arange(len(cps)) - starts] = cps
    return out
