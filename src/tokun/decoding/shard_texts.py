"""The documents of a shard folder (``tokun encode-dataset``), decoded exactly by the model that made them.

Used by ``tokun decode-dataset`` (:func:`tokun.streaming.decoded.decode_dataset`) and by ``tokun lm compare
--corpora SHARD_DIR``: one loop, one check that the model's weights are the ones that wrote the shards.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from ..core import codec, shards
from ..core.errors import InputError
from .tokenizer import Tokenizer

BATCH_BLOCKS = 1 << 16  # latents per call of the decoder: 64 MB in float32 whatever the shard's size


def shard_tokenizer(folder: str | Path, tok: Tokenizer | None = None) -> Tokenizer:
    """``tok``, or the model the manifest names, loaded; InputError if its weights are not the ones that made the
    shards (the manifest's ``model_sha256``)."""
    manifest = shards.read_manifest(folder)
    if tok is None:
        tok = Tokenizer.load(manifest["model"])
    want = manifest.get("model_sha256", "")
    if want and tok.fingerprint and tok.fingerprint != want:
        raise InputError(
            f"{folder} was encoded by model {manifest['model']!r} (weights {want}), not by {tok.name!r} "
            f"(weights {tok.fingerprint}): decode it with the model that made it"
        )
    return tok


def shard_texts(folder: str | Path, tok: Tokenizer | None = None) -> Iterator[tuple[shards.Shard, list[str]]]:
    """Each shard of a finished folder, in the inputs' order, with its documents decoded to their exact lengths;
    ``tok``: the model to decode with (default: the one the manifest names), checked by :func:`shard_tokenizer`."""
    tok = shard_tokenizer(folder, tok)
    for shard in shards.iter_shards(folder):
        yield shard, decode_shard(tok, shard)


def decode_shard(tok: Tokenizer, shard: shards.Shard) -> list[str]:
    """A shard's documents decoded to their exact lengths: the stacked latents in calls of about ``BATCH_BLOCKS``
    (whole documents), not a call per document (the same text: each block is decoded from its own latent)."""
    ends = np.cumsum([len(z) for z in shard.latents])  # (D,) end row of each document in shard.vectors
    lengths = shard.chars.tolist()
    texts: list[str] = []
    first = 0  # the group's first document
    while first < len(ends):
        low = int(ends[first - 1]) if first else 0
        last = max(first + 1, int(np.searchsorted(ends, low + BATCH_BLOCKS, side="right")))  # one past the group
        high = int(ends[last - 1])
        data = tok.decode_bytes(torch.from_numpy(shard.vectors[low:high].astype(np.float32)))  # (rows, B) uint8
        parts = np.split(data, ends[first : last - 1] - low)
        texts += [codec.decode(p, length=n) for p, n in zip(parts, lengths[first:last])]
        first = last
    return texts
