"""Training and evaluation data: random codepoints, text corpora, and their mixture.

Random specs (``parse_spec``):

    planes0-3   uniform over [0, 0x40000), the original tokun's training range (surrogates excluded)
    plane0 ... plane16   one Unicode plane (65,536 codepoints, surrogates excluded)
    assigned    every codepoint ``unicodedata`` knows (category not Cn, surrogates excluded; private
                use included), all 17 planes
    all         [0, 0x110000) without surrogates
    A-B         a hexadecimal range, end excluded, e.g. ``0-0x800`` or ``0x3040-0x3100``
    local       text-like blocks: each block draws its characters from one window of 128 consecutive
                assigned codepoints (one script, as natural text does) starting at a uniform point of
                planes 0-1, a third of them replaced by spaces, digits and ASCII punctuation; it trains
                what uniform sampling never shows: blocks of 16 near-identical codepoints

Every batch is drawn from a generator seeded by ``(seed, rank, step)``, so a resumed run and a
fresh run draw the same data, and DDP ranks draw different data.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import codec
from .errors import ConfigError, InputError
from .textio import read_text, text_files

SURROGATE_LO, SURROGATE_HI = 0xD800, 0xE000
UNICODE_END = 0x110000


@dataclass(frozen=True)
class CodepointSpace:
    """A set of codepoints to sample uniformly: either a range or an explicit table."""

    name: str
    start: int = 0
    stop: int = 0
    table: np.ndarray | None = None

    @property
    def size(self) -> int:
        return len(self.table) if self.table is not None else self.stop - self.start - self._surrogates_inside()

    def _surrogates_inside(self) -> int:
        return max(0, min(self.stop, SURROGATE_HI) - max(self.start, SURROGATE_LO))

    def sample(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        """Uniform codepoints of this space, ``shape`` uint32."""
        if self.table is not None:
            return self.table[rng.integers(0, len(self.table), size=shape)]
        # draw over the range with the surrogates removed, then shift the values above them
        cps = rng.integers(0, self.size, size=shape, dtype=np.int64) + self.start
        gap = self._surrogates_inside()
        if gap:
            cps[cps >= SURROGATE_LO] += gap
        return cps.astype(np.uint32)


COMMON = np.array([ord(c) for c in " \n0123456789.,;:!?-()'\"/"], dtype=np.uint32)


@dataclass(frozen=True)
class LocalSpace:
    """Blocks whose characters come from one window of ``window`` consecutive assigned codepoints."""

    name: str = "local"
    window: int = 128
    common_ratio: float = 1 / 3
    span: int = 0x20000  # window starts are uniform over [0, span): planes 0-1, where scripts live

    @property
    def size(self) -> int:
        return len(assigned_codepoints())

    def sample(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        """``shape`` = (..., C): one window per row of C characters."""
        table = assigned_codepoints()
        rows = int(np.prod(shape[:-1]))
        c = shape[-1]
        points = rng.integers(0, self.span, size=(rows, 1))
        starts = np.minimum(np.searchsorted(table, points), len(table) - self.window)
        out = table[starts + rng.integers(0, self.window, size=(rows, c))]  # (R, C)
        common = rng.random((rows, c)) < self.common_ratio
        out[common] = COMMON[rng.integers(0, len(COMMON), size=int(common.sum()))]
        return out.reshape(shape)


@functools.lru_cache(maxsize=1)
def assigned_codepoints() -> np.ndarray:
    """All codepoints with a Unicode category other than Cn (unassigned) and Cs (surrogate)."""
    cps = [c for c in range(UNICODE_END) if unicodedata.category(chr(c)) not in ("Cn", "Cs")]
    return np.array(cps, dtype=np.uint32)


def parse_spec(spec: str) -> CodepointSpace | LocalSpace:
    """A random-codepoint spec (``planes0-3``, ``plane5``, ``assigned``, ``all``, ``local``, ``0-0x800``)."""
    name = spec.strip().lower()
    if name == "local":
        return LocalSpace()
    if name == "planes0-3":
        return CodepointSpace(name, 0, 0x40000)
    if name == "all":
        return CodepointSpace(name, 0, UNICODE_END)
    if name == "assigned":
        return CodepointSpace(name, table=assigned_codepoints())
    if m := re.fullmatch(r"plane(\d+)", name):
        plane = int(m.group(1))
        if plane > 16:
            raise ConfigError(f"there are 17 planes (0 to 16), got {spec!r}")
        return CodepointSpace(name, plane << 16, (plane + 1) << 16)
    if m := re.fullmatch(r"(0x[0-9a-f]+|\d+)-(0x[0-9a-f]+|\d+)", name):
        start, stop = int(m.group(1), 0), int(m.group(2), 0)
        if not 0 <= start < stop <= UNICODE_END:
            raise ConfigError(f"range {spec!r} must satisfy 0 <= start < stop <= 0x110000")
        space = CodepointSpace(name, start, stop)
        if space.size == 0:
            raise ConfigError(f"range {spec!r} holds only surrogates")
        return space
    raise ConfigError(
        f"unknown random spec {spec!r}; use planes0-3, plane0..plane16, assigned, all, local or START-STOP"
    )


class TextSource:
    """The codepoints of several texts, joined with newlines, to cut blocks at random offsets."""

    def __init__(self, paths: list[str | Path]) -> None:
        files = text_files(paths)
        joined = "\n".join(read_text(p) for p in files)
        self.codepoints = codec.to_codepoints(joined)
        if len(self.codepoints) == 0:
            raise InputError("the training texts are empty")

    def sample(self, rng: np.random.Generator, rows: int, chars: int) -> np.ndarray:
        """``(rows, chars)`` windows starting at uniform offsets; the end of the text pads with U+0000."""
        n = len(self.codepoints)
        starts = rng.integers(0, n, size=rows)
        idx = starts[:, None] + np.arange(chars)  # (R, C)
        out = np.zeros((rows, chars), dtype=np.uint32)
        inside = idx < n
        out[inside] = self.codepoints[idx[inside]]
        return out


class BlockSampler:
    """Batches of ``(batch, block_chars)`` codepoints: random specs and texts, mixed.

    ``text_ratio`` of the rows come from the texts (if any); the rest pick a random spec per row.
    ``pad_ratio`` of the rows then keep a random-length head and are padded with U+0000.
    """

    def __init__(
        self,
        *,
        block_chars: int,
        random: tuple[str, ...] = ("planes0-3",),
        texts: tuple[str, ...] = (),
        text_ratio: float = 0.5,
        pad_ratio: float = 0.0,
        seed: int = 0,
        rank: int = 0,
    ) -> None:
        self.block_chars = block_chars
        self.spaces = [parse_spec(s) for s in random]
        self.text = TextSource(list(texts)) if texts else None
        self.text_ratio = text_ratio if self.text is not None else 0.0
        if not self.spaces:
            self.text_ratio = 1.0
        self.pad_ratio = pad_ratio
        self.seed = seed
        self.rank = rank

    def codepoints(self, step: int, batch: int) -> np.ndarray:
        """The batch of ``step``: ``(batch, block_chars)`` uint32, deterministic in (seed, rank, step)."""
        return self.sourced(step, batch)[0]

    def sources(self) -> list[str]:
        """Names of the row sources :meth:`sourced` numbers: the random specs in order, then ``"text"``."""
        return [s.name for s in self.spaces] + ["text"]

    def sourced(self, step: int, batch: int) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`codepoints` and ``(batch,)`` the index in :meth:`sources` each row was drawn from."""
        rng = np.random.default_rng([self.seed, self.rank, step])
        c = self.block_chars
        out = np.empty((batch, c), dtype=np.uint32)
        source = np.full(batch, len(self.spaces), dtype=np.int64)  # text unless drawn from a spec
        from_text = rng.random(batch) < self.text_ratio
        n_text = int(from_text.sum())
        if n_text:
            assert self.text is not None
            out[from_text] = self.text.sample(rng, n_text, c)
        if n_text < batch:
            which = rng.integers(0, len(self.spaces), size=batch - n_text)
            rand = np.empty((batch - n_text, c), dtype=np.uint32)
            for i, space in enumerate(self.spaces):
                rows = which == i
                rand[rows] = space.sample(rng, (int(rows.sum()), c))
            out[~from_text] = rand
            source[~from_text] = which
        if self.pad_ratio:
            padded = rng.random(batch) < self.pad_ratio
            keep = rng.integers(0, c, size=batch)  # characters kept in a padded row
            out[padded[:, None] & (np.arange(c)[None, :] >= keep[:, None])] = 0  # (B, C) mask
        return out, source

    def bytes(self, step: int, batch: int) -> np.ndarray:
        """``(batch, 4 * block_chars)`` uint8 UTF-32-BE bytes of :meth:`codepoints`."""
        return codec.codepoints_to_bytes(self.codepoints(step, batch))


def random_codepoints(spec: str, count: int, *, seed: int = 0, block_chars: int = 16) -> np.ndarray:
    """``count`` codepoints drawn from ``spec`` (for evaluation); ``local`` windows change every block."""
    space = parse_spec(spec)
    rng = np.random.default_rng(seed)
    if isinstance(space, LocalSpace):
        return space.sample(rng, (-(-count // block_chars), block_chars)).reshape(-1)[:count]
    return space.sample(rng, (count,))


def text_blocks(paths: list[str | Path], block_chars: int, *, most: int, seed: int = 0) -> np.ndarray:
    """``(N, block_chars)`` codepoint blocks of the texts (each cut at offset 0), at most ``most``, sampled evenly:
    the blocks on which a latent spread or a noise curve is measured."""
    blocks = [codec.pad_codepoints(codec.to_codepoints(read_text(p)), block_chars) for p in text_files(list(paths))]
    out = np.concatenate(blocks) if blocks else np.zeros((0, block_chars), np.uint32)
    if len(out) > most:
        out = out[np.sort(np.random.default_rng(seed).choice(len(out), most, replace=False))]
    return out
