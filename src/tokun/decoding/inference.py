"""The inference state of a tokun model: one object that the tokenizer, verified decoding and the posterior share.

It holds the autoencoder, its encoder with the first block folded into tables (:mod:`tokun.core.folded`), the
decoder in its dtype, the device, and the per-slot algebra of the last tokenize block (:mod:`tokun.decoding.slots`).
Verification and the posterior take it as an argument and never reach into the tokenizer.

>>> from tokun.core.checkpoint import load_model
>>> inf = Inference(load_model("4x16"))
>>> rows = inf.encode_bytes(np.zeros((2, 64), np.uint8))
>>> tuple(rows.shape), inf.read(rows).tolist() == np.zeros((2, 64), np.uint8).tolist()
((2, 256), True)
"""

from __future__ import annotations

import copy
import functools

import numpy as np
import torch
import torch.nn.functional as F

from ..core.folded import FoldedEncoder
from ..core.model import BYTE_VALUES, AutoEncoder, InFloat32
from .slots import CHAR_BYTES, MAX_PLANE, SlotTerms

READ_LOGITS = 8 << 20  # bytes of float32 logits per chunk of `read`: a chunk's logits stay in the CPU's cache


def read_step(block_bytes: int, batch_size: int) -> int:
    """Latents per chunk of a read: ``READ_LOGITS`` bytes of logits (128 blocks of 64 bytes), at most ``batch_size``.
    2x faster on a CPU than chunks of 512 blocks, whose 32 MB of logits the argmax reads back from memory."""
    return max(1, min(batch_size, READ_LOGITS // (block_bytes * BYTE_VALUES * 4)))


class Inference:
    """``model`` (eval mode) ready for inference: ``encode_bytes``, ``read`` (the decoder's argmax bytes) and
    ``log_probs``, ``batch_size`` blocks at a time, the decoder in ``decode_dtype`` (default: the model's)."""

    def __init__(self, model: AutoEncoder, *, decode_dtype: torch.dtype | None = None, batch_size: int = 512) -> None:
        self.model = model.eval()
        self.cfg = model.cfg
        self.batch_size = batch_size
        self.decode_dtype = decode_dtype or next(model.parameters()).dtype
        self.encoder: torch.nn.Module = model.encoder if self.cfg.attention else FoldedEncoder(model.encoder)
        self.decoder = self._decoder_in(self.decode_dtype)

    def _decoder_in(self, dtype: torch.dtype) -> torch.nn.Module:
        """The decoder in ``dtype``; in float16 its first block stays float32 (its pre-activations, and the
        weights of a model whose latents were rescaled down, can pass float16's 65,504)."""
        decoder = self.model.decoder
        half = dtype == torch.float16
        if half or dtype != next(self.model.parameters()).dtype:
            first = copy.deepcopy(decoder.blocks[0]).float() if half else None  # before its weights are cast
            decoder = copy.deepcopy(decoder).to(dtype)
            if first is not None:
                decoder.blocks[0] = InFloat32(first)
        return decoder

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def centred(self) -> bool:
        """Codewords sum to zero: a shift common to every dimension is no evidence (``center_latent``)."""
        return self.cfg.center_latent

    @functools.cached_property
    def slot_terms(self) -> SlotTerms | None:
        """The last tokenize block as per-slot terms (None when it is not linear)."""
        return SlotTerms(self.model.encoder, self.encoder) if SlotTerms.applies(self.model.encoder) else None

    @torch.inference_mode()
    def encode_bytes(self, rows: np.ndarray) -> torch.Tensor:
        """``(N, block_bytes)`` uint8 rows -> ``(N, latent_dim)`` float32 latents (on CPU)."""
        data = torch.from_numpy(np.require(rows, dtype=np.uint8, requirements=["C", "W"]))  # a copy only if read-only
        out = torch.empty(len(data), self.cfg.latent_dim)
        for i in range(0, len(data), self.batch_size):
            out[i : i + self.batch_size] = self.encoder(data[i : i + self.batch_size].to(self.device)).float().cpu()
        return out

    @torch.inference_mode()
    def read(self, latents: torch.Tensor) -> np.ndarray:
        """``(N, latent_dim)`` latents -> ``(N, block_bytes)`` uint8: the decoder's likeliest bytes of a Unicode
        scalar value at each character (:func:`~tokun.decoding.slots.read_scalar_values`). The head scores neither
        byte 0 (always 0) nor byte 1's values above 0x10: half its multiply-adds. ``max(-1).indices`` is
        ``argmax(-1)`` (the first maximum, both), 3x faster on a CPU."""
        out = np.zeros((len(latents), self.cfg.block_bytes // CHAR_BYTES, CHAR_BYTES), dtype=np.uint8)  # (N, C, 4)
        head = self.decoder.head
        planes = slice(0, MAX_PLANE + 1)  # the values byte 1 can hold
        step = read_step(self.cfg.block_bytes, self.batch_size)
        for i in range(0, len(latents), step):
            chunk = latents[i : i + step].to(device=self.device, dtype=self.decode_dtype)
            y = self.decoder.features(chunk).unflatten(1, (-1, CHAR_BYTES))  # (n, C, 4, E)
            plane = F.linear(y[:, :, 1], head.weight[planes], head.bias[planes])  # (n, C, 17)
            out[i : i + step, :, 1] = plane.max(-1).indices.to(torch.uint8).cpu().numpy()
            out[i : i + step, :, 2:] = head(y[:, :, 2:]).max(-1).indices.to(torch.uint8).cpu().numpy()
        return out.reshape(len(latents), self.cfg.block_bytes)

    @torch.inference_mode()
    def log_probs(self, latents: torch.Tensor) -> torch.Tensor:
        """``(F, latent_dim)`` latents on the device -> ``(F, C, 4, 256)`` float32 byte log-probabilities, per
        character."""
        logits = self.decoder(latents.to(self.decode_dtype)).float()  # (F, T, 256)
        return torch.log_softmax(logits, -1).view(len(latents), -1, CHAR_BYTES, BYTE_VALUES)
