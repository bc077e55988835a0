"""How likely each character is, alone and after another: the prior of posterior decoding.

A latent that a language model predicted is no codeword: the decoder reads the nearest text it can, but under
noise several texts lie about as near. Which one was meant is a question of likelihood (how far each text's
codeword is from the latent) *and* of prior (how likely the text is): `tokun.repair.posterior` weighs both.
This module is the prior: character unigram and bigram counts of some text, an interpolated bigram model

    log p(b | a) = log(mix * count(a, b) / count(a) + (1 - mix) * p(b)),   p(b) = (count(b) + 1/2) / (total + 1/2)

(a character never seen gets half a count: rare, never impossible). Stored as safetensors (codepoints and
counts, no text); the shipped one is built from the training split of the corpora::

    python scripts/build_prior.py runs/split/train --out src/tokun/priors/text.safetensors
"""

from __future__ import annotations

import collections
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save

from .errors import ModelError
from .files import atomic_output, read_text, text_files

CODESPACE = 0x110000
MIX = 0.7  # weight of the bigram in the interpolation


def shipped_prior() -> Path:
    """The prior shipped inside the package (built from the training split of the corpora)."""
    return Path(str(resources.files("tokun") / "priors" / "text.safetensors"))


class CharPrior:
    """Interpolated character bigram log-probabilities (module docstring), looked up on tensors of codepoints."""

    def __init__(self, unigram: dict[int, int], bigram: dict[tuple[int, int], int], *, mix: float = MIX) -> None:
        if not unigram:
            raise ModelError("a character prior needs some text")
        if not 0 <= mix < 1:
            raise ModelError(f"mix must be in [0, 1), got {mix}")
        self.mix = mix
        self.total = sum(unigram.values())
        self.unigram_counts, self.bigram_counts = unigram, bigram
        counts = torch.full((CODESPACE,), 0.5)
        counts[torch.tensor(list(unigram))] += torch.tensor(list(unigram.values()), dtype=torch.float32)
        self.p = counts / (self.total + 0.5)  # (CODESPACE,) p(b), each unseen character half a count
        pairs = sorted(bigram)  # keys a * CODESPACE + b, sorted, after a sentinel -1 that matches no pair
        self.keys = torch.tensor([-1] + [a * CODESPACE + b for a, b in pairs], dtype=torch.int64)  # (1 + P,)
        self.follow = torch.tensor([0.0] + [bigram[k] / unigram[k[0]] for k in pairs])  # (1 + P,) p(b | a)

    @classmethod
    def from_texts(cls, paths: list[str | Path], *, mix: float = MIX) -> CharPrior:
        """Count the characters and adjacent pairs of UTF-8 files (or folders of ``*.txt``), line by line."""
        unigram: collections.Counter[int] = collections.Counter()
        bigram: collections.Counter[tuple[int, int]] = collections.Counter()
        for path in text_files([str(p) for p in paths]):
            for line in read_text(path).splitlines(keepends=True):
                cps = [ord(c) for c in line]
                unigram.update(cps)
                bigram.update(zip(cps, cps[1:]))
        return cls(dict(unigram), dict(bigram), mix=mix)

    def save(self, path: str | Path) -> None:
        uni = np.array(sorted(self.unigram_counts), dtype=np.int64)
        pairs = sorted(self.bigram_counts)
        tensors = {
            "unigram_codepoints": uni.astype(np.int32),
            "unigram_counts": np.array([self.unigram_counts[c] for c in uni.tolist()], dtype=np.int64),
            "bigram_keys": np.array([a * CODESPACE + b for a, b in pairs], dtype=np.int64),
            "bigram_counts": np.array([self.bigram_counts[k] for k in pairs], dtype=np.int64),
        }
        with atomic_output(path) as fh:
            fh.write(save(tensors, metadata={"mix": str(self.mix)}))

    @classmethod
    def load(cls, path: str | Path | None = None) -> CharPrior:
        """A prior written by :meth:`save`; ``None``: the shipped one."""
        path = Path(path) if path is not None else shipped_prior()
        try:
            with safe_open(str(path), framework="numpy") as f:
                mix = float((f.metadata() or {}).get("mix", MIX))
                t = {name: f.get_tensor(name) for name in f.keys()}
            unigram = dict(zip(t["unigram_codepoints"].tolist(), t["unigram_counts"].tolist()))
            keys = t["bigram_keys"].tolist()
            bigram = {(k // CODESPACE, k % CODESPACE): n for k, n in zip(keys, t["bigram_counts"].tolist())}
        except (OSError, KeyError, ValueError, SafetensorError) as err:
            raise ModelError(f"{path}: not a character prior ({err})") from None
        return cls(unigram, bigram, mix=mix)

    def first(self, cur: torch.Tensor) -> torch.Tensor:
        """``(...)`` codepoints -> ``(...)`` log p(cur), for a character without one before it."""
        return self.p[cur.clamp(0, CODESPACE - 1)].log()

    def after(self, prev: torch.Tensor, cur: torch.Tensor) -> torch.Tensor:
        """``(...)`` codepoints, ``(...)`` codepoints -> ``(...)`` log p(cur | prev)."""
        prev, cur = prev.clamp(0, CODESPACE - 1), cur.clamp(0, CODESPACE - 1)
        key = prev * CODESPACE + cur
        at = torch.searchsorted(self.keys, key).clamp(max=len(self.keys) - 1)
        follow = torch.where(self.keys[at] == key, self.follow[at], 0.0)
        return (self.mix * follow + (1 - self.mix) * self.p[cur]).log()
