"""Patching schemes: text -> patches of at most ``most`` characters, as pure functions of the text.

A patch language model encodes each patch as one tokun block (the patch padded with U+0000) and
predicts the next patch unit by unit. Every scheme here is lossless (``"".join(patches) == text``),
deterministic and local, so encoding stays reproducible and the likelihood of a text is well defined.

    fixed_patches(text, size)   consecutive chunks of ``size`` characters, the last one shorter
    word_patches(text, most=16) a patch ends where a word ends (rule below), or after ``most`` characters

The word rule
-------------
Each character has a *kind*: a **break** (Unicode general category Z* (spaces), P* (punctuation) or
Cc (controls such as ``"\\n"`` and ``"\\t"``)), a **mark** (M*: combining characters), or a **letter**
(anything else: letters, digits, symbols, emoji, format characters such as ZWJ/ZWNJ, which Persian
and Indic words use inside a word). Letters and marks also carry the *script run class* of their
Unicode block when that script is written without spaces between words (``unicodedata`` has no
Script property, so blocks stand in for it; the ranges are in ``RUNS`` below):

    han       CJK radicals 2E80-2FDF, 々〆〇〻 (3005-3007, 303B), CJK Extension A 3400-4DBF,
              Unified Ideographs 4E00-9FFF, Compatibility Ideographs F900-FAFF,
              supplementary ideographs 20000-3FFFF
    hiragana  3040-309F
    katakana  30A0-30FF, 31F0-31FF, halfwidth FF66-FF9F
    thai 0E00-0E7F, lao 0E80-0EFF, tibetan 0F00-0FFF, myanmar 1000-109F A9E0-A9FF AA60-AA7F,
    khmer 1780-17FF 19E0-19FF

Every other character has no run class (scripts written with spaces, digits, Latin letters inside
CJK text). The boundaries are decided by **two adjacent characters only**, ``p`` then ``c``:

1. a break followed by a non-break: boundary. Runs of breaks stay together and close the patch of
   the word before them (``"Hello, "`` | ``"world"``), as SpaceByte groups spacelike bytes: a lone
   space or comma would otherwise be a patch of its own (more global positions for no information).
2. ``c`` is a break, or ``c`` is a mark: no boundary (punctuation closes a word; a mark stays on its
   base; a mark after a break starts a patch by rule 1).
3. two letters/marks of different run classes: boundary (a script change, e.g. ``"2024"`` | ``"年"``),
   except inside Japanese: hiragana continues a han or katakana run, so that a content word keeps
   its okurigana and particles (``"東京に"`` | ``"行きました"``: a bunsetsu-like unit), and the
   neutral Japanese marks ー ゝ ゞ ヽ ヾ (which follow either kana) never split a Japanese run.

Scripts without spaces thus split at punctuation (Chinese 。，, Thai and Lao spaces between phrases,
the Tibetan tsheg ་ between syllables, which is punctuation) and at script changes; a Han run then
closes at ``most`` characters. A word, or run, longer than ``most`` is cut into pieces of ``most``
characters from its start, a cut moved back to the base of a character's combining marks (Thai
vowels, Indic matras) unless the marks fill the whole patch.

Locality (the exact guarantee, tested): wherever the two-character rule puts a boundary between
``text[i-1]`` and ``text[i]``, ``word_patches(text) == word_patches(text[:i]) + word_patches(text[i:])``.
In particular a text ending with a break, followed by one starting with a non-break, patches as the
concatenation of the two patchings. Only the ``most`` cuts of a long run depend on more than two
characters: on where the run and its last piece began.

>>> word_patches("Hello, world! 東京に行きました。")
['Hello, ', 'world! ', '東京に', '行きました。']
>>> fixed_patches("abcdefghij", 4)
['abcd', 'efgh', 'ij']
>>> rows, lengths = pad_patches(["ab", "c"], block_chars=3)
>>> rows.tolist(), lengths.tolist()
([[97, 98, 0], [99, 0, 0]], [2, 1])
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..core.codec import to_codepoints
from ..core.errors import InputError

# (first, last, class) of the scripts written without spaces between words; inclusive ranges
RUNS: tuple[tuple[int, int, str], ...] = (
    (0x0E00, 0x0E7F, "thai"),
    (0x0E80, 0x0EFF, "lao"),
    (0x0F00, 0x0FFF, "tibetan"),
    (0x1000, 0x109F, "myanmar"),
    (0x1780, 0x17FF, "khmer"),
    (0x19E0, 0x19FF, "khmer"),
    (0x2E80, 0x2FDF, "han"),
    (0x3005, 0x3007, "han"),
    (0x303B, 0x303B, "han"),
    (0x3040, 0x309F, "hiragana"),
    (0x30A0, 0x30FF, "katakana"),
    (0x31F0, 0x31FF, "katakana"),
    (0x3400, 0x4DBF, "han"),
    (0x4E00, 0x9FFF, "han"),
    (0xA9E0, 0xA9FF, "myanmar"),
    (0xAA60, 0xAA7F, "myanmar"),
    (0xF900, 0xFAFF, "han"),
    (0xFF66, 0xFF9F, "katakana"),
    (0x20000, 0x3FFFF, "han"),
)
JAPANESE_NEUTRAL = frozenset("ーゝゞヽヾ")  # prolonged sound mark and kana iteration marks
JAPANESE = frozenset({"han", "hiragana", "katakana"})

BREAK, MARK, LETTER = "break", "mark", "letter"


def fixed_patches(text: str, size: int) -> list[str]:
    """Consecutive chunks of ``size`` characters; the last one is shorter when ``size`` does not divide the text."""
    if size < 1:
        raise InputError(f"patch size must be at least 1, got {size}")
    return [text[i : i + size] for i in range(0, len(text), size)]


@lru_cache(maxsize=1 << 16)
def kind(char: str) -> tuple[str, str | None]:
    """``(break | mark | letter, run class or None)`` of one character (see the module docstring)."""
    category = unicodedata.category(char)
    if category[0] in "ZP" or category == "Cc":
        return BREAK, None
    cp = ord(char)
    run = next((name for first, last, name in RUNS if first <= cp <= last), None)
    if char in JAPANESE_NEUTRAL:
        run = "japanese"
    return (MARK if category[0] == "M" else LETTER), run


def boundary(p: str, c: str) -> bool:
    """Whether a word patch ends between the adjacent characters ``p`` and ``c`` (before the ``most`` cut)."""
    (p_kind, p_run), (c_kind, c_run) = kind(p), kind(c)
    if p_kind == BREAK:
        return c_kind != BREAK
    if c_kind in (BREAK, MARK) or p_run == c_run:
        return False
    if "japanese" in (p_run, c_run):
        return not {p_run, c_run} <= JAPANESE | {"japanese"}
    return not (c_run == "hiragana" and p_run in JAPANESE)


def word_patches(text: str, *, most: int = 16) -> list[str]:
    """Word-aligned patches of 1..``most`` characters (the rule is in the module docstring)."""
    if most < 1:
        raise InputError(f"most must be at least 1, got {most}")
    patches: list[str] = []
    start = 0
    for i in range(1, len(text) + 1):
        if i == len(text) or boundary(text[i - 1], text[i]):
            patches.append(text[start:i])
            start = i
        elif i - start == most:
            # cut a long run before the base of a trailing cluster rather than between a base and its marks
            cut = i
            while cut > start and kind(text[cut])[0] == MARK:
                cut -= 1
            cut = cut if cut > start else i
            patches.append(text[start:cut])
            start = cut
    return patches


def pad_patches(patches: list[str], block_chars: int) -> tuple[np.ndarray, np.ndarray]:
    """Patches -> ``(N, block_chars)`` uint32 codepoints padded with U+0000, and their ``(N,)`` lengths.

    A patch ends at its first U+0000, so the rows alone decode any text without U+0000; a text that
    contains U+0000 itself needs the lengths, which are returned for that. Raises InputError for a
    patch longer than ``block_chars``.
    """
    lengths = np.array([len(p) for p in patches], dtype=np.int64)  # (N,)
    if len(patches) and lengths.max() > block_chars:
        i = int(lengths.argmax())
        raise InputError(f"patch {i} has {lengths[i]} characters, more than the block's {block_chars}")
    rows = np.zeros((len(patches), block_chars), dtype=np.uint32)  # (N, C)
    for row, patch in zip(rows, patches):
        row[: len(patch)] = to_codepoints(patch)
    return rows, lengths


@dataclass(frozen=True)
class PatchStats:
    """Counts of one text's patching."""

    chars: int
    patches: int
    utf8_bytes: int
    longest: int

    @property
    def chars_per_patch(self) -> float:
        return self.chars / max(self.patches, 1)

    @property
    def bytes_per_patch(self) -> float:
        return self.utf8_bytes / max(self.patches, 1)


def patch_stats(texts: Mapping[str, str], patch: Callable[[str], list[str]] = word_patches) -> dict[str, PatchStats]:
    """Patching statistics of each named text (e.g. one per corpus file), each patched whole.

    >>> patch_stats({"en": "one two\\nthree"})["en"].chars_per_patch
    4.333333333333333
    """
    out = {}
    for name, text in texts.items():
        patches = patch(text)
        out[name] = PatchStats(
            chars=len(text),
            patches=len(patches),
            utf8_bytes=len(text.encode("utf-8", "surrogatepass")),
            longest=max((len(p) for p in patches), default=0),
        )
    return out
