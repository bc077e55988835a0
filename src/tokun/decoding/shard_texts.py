"""The documents of a shard folder (``tokun encode-dataset``), decoded exactly by the model that made them.

Used by ``tokun decode-dataset`` (:func:`tokun.streaming.datasets.decode_dataset`) and by ``tokun lm compare
--corpora SHARD_DIR``: one loop, one check that the model's weights are the ones that wrote the shards.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from ..core import shards
from ..core.errors import InputError
from .tokenizer import Tokenizer


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
        latents = [torch.from_numpy(z.astype(np.float32)) for z in shard.latents]  # (N_i, L)
        yield shard, tok.decode_batch(latents, lengths=shard.chars.tolist())
