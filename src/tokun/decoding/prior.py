"""How likely a text is, character by character: the prior of posterior decoding.

A latent that a language model predicted is no codeword: the decoder reads the nearest text it can, but under
noise several texts lie about as near. Which one was meant is a question of likelihood (how far each text's
codeword is from the latent) *and* of prior (how likely the text is): `tokun.repair.posterior` weighs both.
This module is the prior: a character n-gram model (``order`` 4 by default: each character given the three
before it) with interpolated Kneser-Ney smoothing,

    p(w | h) = max(c(h w) - D_m, 0) / c(h) + D_m T(h) / c(h) * p(w | h'),      h' = h without its first character

where c counts the n-grams of the top order and, below it, the distinct characters seen before them
(continuation counts), T(h) is the number of distinct characters seen after h, and D_m = n1 / (n1 + 2 n2) from
the order's counts of counts. A history never seen backs off to the shorter one; the first character of a
block, which has none, takes the characters' plain frequencies. Under the unigram lies a base distribution over
every codepoint, for characters the text never had: each window of 128 codepoints gets a share in proportion to
the distinct characters seen in it (plus one), spread evenly over its assigned codepoints (``unicodedata``
categories other than Cn, Cs, Co), so that an unseen Hangul syllable or emoji is far likelier than an unseen
private-use or unassigned codepoint, and nothing is impossible.

Stored as safetensors (the distinct characters, the n-gram keys and their counts, the base distribution's
tables; no text); the shipped one is built from the training split of the corpora::

    tokun prior build runs/split/train --out src/tokun/decoding/priors/text.safetensors
"""

from __future__ import annotations

import unicodedata
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save

from ..core.errors import ModelError
from ..core.textio import atomic_output, read_text, text_files

CODESPACE = 0x110000
ORDER = 4  # characters per n-gram: each character given the three before it
WINDOW = 128  # codepoints per window of the base distribution
UNLISTED = 1e-3  # share of the base distribution for codepoints outside every assigned category


def shipped_prior() -> Path:
    """The prior shipped inside the package (built from the training split of the corpora)."""
    return Path(str(resources.files("tokun.decoding") / "priors" / "text.safetensors"))


def listed_codepoints() -> np.ndarray:
    """``(CODESPACE,)`` bool: the codepoints of an assigned category other than private use (``unicodedata``)."""
    return np.array([unicodedata.category(chr(c)) not in ("Cn", "Cs", "Co") for c in range(CODESPACE)])


def _keys(ids: np.ndarray, m: int, base: int) -> np.ndarray:
    """``(T,)`` character ids (``base - 1``: unknown) -> the keys of the m-grams of known characters, the first
    character most significant."""
    n = len(ids) - m + 1
    key = np.zeros(n, dtype=np.int64)
    for i in range(m):
        key = key * base + ids[i : n + i]
    unknown = np.concatenate([[0], np.cumsum(ids == base - 1)])
    return key[unknown[m:] - unknown[:n] == 0]


def _lookup(keys: torch.Tensor, query: torch.Tensor, *values: torch.Tensor) -> list[torch.Tensor]:
    """Each of ``values`` at ``query`` in the sorted ``keys`` (a sentinel -1 first, whose values are 0), else 0."""
    at = torch.searchsorted(keys, query).clamp(max=len(keys) - 1)
    at = torch.where(keys[at] == query, at, 0)
    return [v[at] for v in values]


class CharPrior:
    """An interpolated Kneser-Ney character n-gram model (module docstring), looked up on tensors of codepoints.

    ``chars``: the ``(V,)`` distinct characters (sorted codepoints) and ``counts`` their ``(V,)`` frequencies;
    ``grams[m]``: the sorted keys of the m-grams seen (m = 2 .. order; over character ids 0 .. V-1, base V + 1)
    and their counts; ``window_p``: each window's probability per listed codepoint; ``listed``: the packed bits
    of :func:`listed_codepoints`."""

    def __init__(
        self,
        chars: np.ndarray,
        counts: np.ndarray,
        grams: dict[int, tuple[np.ndarray, np.ndarray]],
        window_p: np.ndarray,
        listed: np.ndarray,
    ) -> None:
        if len(chars) == 0:
            raise ModelError("a character prior needs some text")
        self.order = 1 + len(grams)
        self.chars_np, self.counts_np, self.grams, self.window_p, self.listed = chars, counts, grams, window_p, listed
        self.total = int(counts.sum())
        self.chars = torch.from_numpy(chars.astype(np.int64))
        self.size = len(chars)  # V; id V stands for every character not among them
        self.base = self.size + 1
        on = np.unpackbits(listed)[:CODESPACE].astype(bool)
        p0 = np.where(on, np.repeat(window_p, WINDOW)[:CODESPACE], 0.0)
        p0 = (1 - UNLISTED) * p0 / max(p0.sum(), 1e-300) + UNLISTED / CODESPACE
        self.p0 = torch.from_numpy(p0)  # (CODESPACE,) float64: the base distribution
        self.plain = self._unigram(counts.astype(np.float64))  # frequencies, for a block's first character
        # Kneser-Ney: counts of the top order as they are; below it, how many distinct characters came before
        levels: dict[int, np.ndarray] = {m: grams[m][1].astype(np.float64) for m in grams}
        self.continued = self.plain  # the unigram under a history (order 1: the same)
        for m in range(self.order - 1, 0, -1):
            keys, cont = np.unique(grams[m + 1][0] % self.base**m, return_counts=True)  # last m characters
            if m == 1:
                c1 = np.zeros(self.size)
                c1[keys] = cont
                self.continued = self._unigram(c1)
            else:
                levels[m] = np.zeros(len(grams[m][0]))
                levels[m][np.searchsorted(grams[m][0], keys)] = cont
        self.levels = {}  # m -> keys, counts, history keys, history totals, history types, discount
        for m in range(2, self.order + 1):
            keys, c = grams[m][0], levels[m]
            keys, c = keys[c > 0], c[c > 0]
            hist, inv = np.unique(keys // self.base, return_inverse=True)
            self.levels[m] = (
                torch.from_numpy(np.concatenate([[-1], keys])),
                torch.from_numpy(np.concatenate([[0.0], c])),
                torch.from_numpy(np.concatenate([[-1], hist])),
                torch.from_numpy(np.concatenate([[0.0], np.bincount(inv, weights=c)])),
                torch.from_numpy(np.concatenate([[0.0], np.bincount(inv).astype(np.float64)])),
                _discount(c),
            )

    def _unigram(self, c: np.ndarray) -> tuple[torch.Tensor, float]:
        """``(V,)`` counts -> ``(V + 1,)`` absolutely discounted frequencies (0 for id V, a character not among
        ``chars``), and the weight taken off them, which goes to the base distribution."""
        d, total = _discount(c[c > 0]), c.sum()
        return torch.from_numpy(np.append(np.maximum(c - d, 0) / total, 0.0)), float(d * (c > 0).sum() / total)

    # -- counting, saving, loading ----------------------------------------------------------------

    @classmethod
    def from_texts(cls, paths: list[str | Path], *, order: int = ORDER) -> CharPrior:
        """Count the characters and n-grams (up to ``order``) of UTF-8 files (or folders of ``*.txt``). The
        most frequent characters that fit the keys (46,340 for order 4) have ids; others count as unseen."""
        if not 1 <= order <= 6:
            raise ModelError(f"order must be 1 to 6, got {order}")
        texts = [np.array([ord(c) for c in read_text(p)], dtype=np.int64) for p in text_files([str(p) for p in paths])]
        every = np.concatenate(texts) if texts else np.zeros(0, np.int64)
        chars, counts = np.unique(every, return_counts=True)
        room = int((2**62) ** (1 / order)) - 1  # ids whose keys fit in int64
        if len(chars) > room:
            keep = np.sort(np.argsort(-counts, kind="stable")[:room])
            chars, counts = chars[keep], counts[keep]
        base = len(chars) + 1
        ids = [np.where(np.isin(t, chars), np.searchsorted(chars, t), base - 1) for t in texts]
        grams = {}
        for m in range(2, order + 1):
            keys = [_keys(t, m, base) for t in ids if len(t) >= m]
            grams[m] = np.unique(np.concatenate(keys) if keys else np.zeros(0, np.int64), return_counts=True)
        listed = listed_codepoints()
        windows = -(-CODESPACE // WINDOW)
        per = np.zeros(windows * WINDOW, bool)
        per[:CODESPACE] = listed
        assigned = per.reshape(windows, WINDOW).sum(1)
        mass = np.where(assigned > 0, np.bincount(chars // WINDOW, minlength=windows) + 1.0, 0.0)
        window_p = mass / mass.sum() / np.maximum(assigned, 1)
        return cls(chars, counts, grams, window_p, np.packbits(listed))

    def save(self, path: str | Path) -> None:
        tensors = {"chars": self.chars_np.astype(np.int32), "counts": _smallest(self.counts_np)}
        for m, (keys, counts) in self.grams.items():
            tensors[f"gram{m}_keys"] = keys.astype(np.int64)
            tensors[f"gram{m}_counts"] = _smallest(counts)
        tensors["window_p"] = self.window_p.astype(np.float64)
        tensors["listed"] = self.listed.astype(np.uint8)
        with atomic_output(path) as fh:
            fh.write(save(tensors, metadata={"format": "tokun-char-ngram"}))  # one key: a byte-identical rebuild

    @classmethod
    def load(cls, path: str | Path | None = None) -> CharPrior:
        """A prior written by :meth:`save`; ``None``: the shipped one."""
        path = Path(path) if path is not None else shipped_prior()
        try:
            with safe_open(str(path), framework="numpy") as f:
                meta = f.metadata() or {}
                if meta.get("format") != "tokun-char-ngram":
                    raise ValueError("no tokun-char-ngram format in its metadata")
                t = {name: f.get_tensor(name) for name in f.keys()}
            order = 1 + sum(name.endswith("_keys") for name in t)
            grams = {m: (t[f"gram{m}_keys"], t[f"gram{m}_counts"].astype(np.int64)) for m in range(2, order + 1)}
            return cls(t["chars"].astype(np.int64), t["counts"].astype(np.int64), grams, t["window_p"], t["listed"])
        except (OSError, KeyError, ValueError, SafetensorError) as err:
            raise ModelError(f"{path}: not a character prior ({err})") from None

    # -- probabilities ------------------------------------------------------------------------------

    def ids(self, cps: torch.Tensor) -> torch.Tensor:
        """``(...)`` codepoints -> ``(...)`` ids, V for a character not among ``chars``."""
        cps = cps.clamp(0, CODESPACE - 1)
        at = torch.searchsorted(self.chars, cps).clamp(max=self.size - 1)
        return torch.where(self.chars[at] == cps, at, self.size)

    def logp(self, history: torch.Tensor, cur: torch.Tensor) -> torch.Tensor:
        """``(M, H)`` codepoints before each character (-1 where there is none, on the left), ``(M,)`` codepoints
        -> ``(M,)`` float32 log p(cur | history): up to the last ``order - 1`` of the history count."""
        w = self.ids(cur)
        h = self.ids(history)
        after = history[:, -1] >= 0 if history.shape[1] else torch.zeros_like(w, dtype=torch.bool)
        (plain, plain_share), (cont, cont_share) = self.plain, self.continued
        base = self.p0[cur.clamp(0, CODESPACE - 1)]
        p = torch.where(after, cont[w] + cont_share * base, plain[w] + plain_share * base)  # (M,)
        key = torch.zeros_like(w)
        known = torch.ones_like(after)
        for m in range(1, min(history.shape[1], self.order - 1) + 1):  # the last m characters: level m + 1
            known = known & (history[:, -m] >= 0) & (h[:, -m] < self.size)
            key = key + h[:, -m] * self.base ** (m - 1)
            keys, counts, hkeys, htotal, htypes, d = self.levels[m + 1]
            total, types = _lookup(hkeys, key, htotal, htypes)
            (seen,) = _lookup(keys, key * self.base + w, counts)
            p = torch.where(known & (total > 0), ((seen - d).clamp(min=0) + d * types * p) / total.clamp(min=1), p)
        return p.log().float()

    def context_logp(self, cps: torch.Tensor, x: torch.Tensor, j: int) -> torch.Tensor:
        """``(F, C)`` blocks of codepoints, ``(F, K)`` candidates for position ``j`` -> ``(F, K)`` the log-
        probabilities of the characters whose history holds position ``j`` (itself and the ``order - 1`` after
        it), with each candidate in place: what changing that character changes of the block's log p."""
        f, c = cps.shape
        k = x.shape[1]
        seq = cps.unsqueeze(1).repeat(1, k, 1)  # (F, K, C)
        seq[:, :, j] = x
        seq = seq.view(f * k, c)
        padded = torch.cat([torch.full((f * k, self.order - 1), -1, dtype=seq.dtype), seq], 1)
        out = torch.zeros(f * k)
        for i in range(j, min(j + self.order, c)):
            out += self.logp(padded[:, i : i + self.order - 1], seq[:, i])
        return out.view(f, k)

    def block_logp(self, cps: torch.Tensor) -> torch.Tensor:
        """``(F, C)`` blocks of codepoints -> ``(F,)`` log p of each (its first character without history)."""
        padded = torch.cat([torch.full((len(cps), self.order - 1), -1, dtype=cps.dtype), cps], 1)
        return sum(self.logp(padded[:, i : i + self.order - 1], cps[:, i]) for i in range(cps.shape[1]))


def _discount(c: np.ndarray) -> float:
    """Kneser-Ney's discount n1 / (n1 + 2 n2) from counts ``c`` (0.5 when neither occurs)."""
    n1, n2 = int((c == 1).sum()), int((c == 2).sum())
    return n1 / (n1 + 2 * n2) if n1 + n2 else 0.5


def _smallest(counts: np.ndarray) -> np.ndarray:
    """Counts in the smallest unsigned type that holds them (the file stays small, nothing is lost)."""
    top = int(counts.max()) if len(counts) else 0
    return counts.astype(np.uint16 if top < 2**16 else np.uint32 if top < 2**32 else np.int64)
