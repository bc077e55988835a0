"""The script of a character (the Unicode Script property), of a block of text, and samples of Unicode's blocks.

Python's ``unicodedata`` has no Script property; fontTools' copy of the Unicode Character Database has it
(``pip install -e '.[inspect]'``), imported on first use. Codes are ISO 15924: ``Latn``, ``Cyrl``, ``Hani``;
``Zyyy`` (Common: digits, punctuation, spaces), ``Zinh`` (Inherited: combining marks) and ``Zzzz`` (unassigned).

>>> script_of("a"), script_of("中"), script_of("7")
('Latn', 'Hani', 'Zyyy')
>>> text_script("Привет, мир!")
'Cyrl'
>>> visible("a\x1fb"), visible(" ")
('aU+001Fb', 'U+0020')
"""

from __future__ import annotations

import functools
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from ..core.sources import SURROGATE_HI, SURROGATE_LO

SHARED = ("Zyyy", "Zinh", "Zzzz")  # scripts that do not tell one writing system from another
OTHER = "other"


def _unicodedata():
    try:
        from fontTools import unicodedata
    except ImportError:
        from ..core.errors import InputError

        raise InputError("the Unicode Script property needs fontTools: pip install -e '.[inspect]'") from None
    return unicodedata


@functools.lru_cache(maxsize=1 << 16)
def script_of(char: str) -> str:
    """The ISO 15924 code of ``char``'s Unicode Script property (``Zzzz`` for unassigned codepoints)."""
    return _unicodedata().script(char)


def script_name(code: str) -> str:
    """``Latn`` -> ``Latin``; ``other`` and unknown codes as they are."""
    try:
        return _unicodedata().script_name(code)
    except KeyError:
        return code


def visible(text: str) -> str:
    """``text`` with each control, format, separator, unassigned or private-use character written ``U+001F``, and
    a text of spaces alone written out in full: what a table or a label can show (``A`` next to ``U+001F``, not
    next to an invisible mark)."""
    hidden = text.isspace()
    return "".join(
        f"U+{ord(c):04X}" if hidden or unicodedata.category(c)[0] in "CZ" and c != " " else c for c in text
    )


def text_script(text: str) -> str:
    """The commonest script of ``text``'s characters, Common and Inherited ones counted only when nothing else is
    there (a block of digits and spaces is ``Zyyy``)."""
    return main_script(script_of(c) for c in text if c != "\0")


def main_script(scripts: Iterable[str]) -> str:
    """The commonest of ``scripts``, Common and Inherited ones counted only when nothing else is there (a tie goes
    to the later code); ``Zyyy`` for none."""
    counts = Counter(scripts)
    own = [(n, s) for s, n in counts.items() if s not in SHARED]
    if own:
        return max(own)[1]
    return counts.most_common(1)[0][0] if counts else "Zyyy"


def block_samples(per_block: int, *, stop: int = 0x40000, seed: int = 0) -> np.ndarray:
    """Up to ``per_block`` assigned codepoints of each Unicode block below ``stop`` (planes 0-3 by default),
    sampled evenly with ``seed``; ``(N,)`` uint32, sorted. Surrogates and private use are left out."""
    ud = _unicodedata()
    from fontTools.unicodedata import Blocks

    rng = np.random.default_rng(seed)
    ends = list(Blocks.RANGES[1:]) + [0x110000]
    out: list[np.ndarray] = []
    for start, end, name in zip(Blocks.RANGES, ends, Blocks.VALUES):
        if start >= stop or name == "No_Block" or "Private Use" in name or SURROGATE_LO <= start < SURROGATE_HI:
            continue
        assigned = np.array([c for c in range(start, min(end, stop)) if ud.category(chr(c)) != "Cn"], np.uint32)
        if len(assigned) > per_block:
            assigned = rng.choice(assigned, per_block, replace=False)
        out.append(assigned)
    return np.sort(np.concatenate(out)) if out else np.zeros(0, np.uint32)


def top_labels(labels: Sequence[str], most: int, *, groups: dict[str, str] | None = None) -> list[str]:
    """``labels`` with all but the ``most`` commonest replaced by ``other``: a legend read at a glance.
    ``groups``: a group for each label (a language's script); a label whose group is already kept waits until
    every group has one, so that a legend of languages shows as many scripts as it can."""
    counts = Counter(labels)
    sizes = Counter(groups.get(label, label) for label in labels) if groups is not None else counts
    # the largest first; among equals (language files sampled evenly) those of the larger group (script)
    order = sorted(counts, key=lambda label: (-counts[label], -sizes[(groups or {}).get(label, label)], label))
    if groups is not None:
        seen: set[str] = set()
        first, later = [], []
        for label in order:
            (later if groups.get(label, label) in seen else first).append(label)
            seen.add(groups.get(label, label))
        order = first + later
    keep = set(order[:most])
    return [label if label in keep else OTHER for label in labels]


def legend_order(labels: Iterable[str]) -> list[str]:
    """The distinct labels, commonest first and ``other`` last."""
    counts = Counter(labels)
    return sorted(counts, key=lambda label: (label == OTHER, -counts[label], label))
