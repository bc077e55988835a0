"""A patch language model: tokun latents of each patch in, a global transformer over patches, a local causal
decoder out (MEGABYTE's design with tokun's pretrained encoder as the patch embedding).

    patches (B, P, 64) UTF-32-BE bytes ──encoder──▶ (B, P, 256) ──Linear──▶ (B, P, dim)   tokun encoder, frozen or
                                                                                      fine-tuned; or learned
                                                                                      (the ablation)
    ──Body (causal, over patches)──▶ states (B, P, dim)
    ──LocalDecoder──▶ the next patch's UTF-8 bytes, one by one, closed by a 0 byte

A patch is a word (:func:`~tokun.lm.patching.word_patches`) or a fixed run of characters, at most 16, so one
tokun block holds it (padded with U+0000). The local decoder predicts the patch's **UTF-8 bytes** followed by a
closing 0 byte: a patch costs what its text weighs (a Latin word of 5 letters is 6 units, not the 64 UTF-32 bytes
of its block, 48 of them zeros), and the closing byte makes where a patch ends part of what is predicted, so the
likelihood is normalised. The model's bits per byte is the summed negative log-probability of each predicted
patch's bytes and its closing byte, over the UTF-8 bytes of the text those patches hold: exact, no estimate (the
canonical patching's probability, a lower bound of the text's, so the figure is an upper bound).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..core import codec
from ..core.errors import InputError
from ..core.model import AutoEncoder
from .flops import Mode, Part, macs_per_block
from .local import LocalConfig, LocalDecoder
from .model import Body, LMConfig
from .patching import fixed_patches, pad_patches, word_patches

BLOCK_CHARS = 16  # characters of a tokun block: the longest patch
UNITS = 4 * BLOCK_CHARS + 4  # UTF-8 bytes of the longest patch and its closing 0 byte, rounded to 4
END = 0  # the closing unit: UTF-8 text holds no 0 byte but U+0000's


def patches_of(text: str, scheme: str) -> list[str]:
    """``scheme``: ``words``, ``words-N`` (word patches cut at N characters, N <= 16) or ``fixed-N`` (N characters)."""
    if scheme == "words":
        return word_patches(text, most=BLOCK_CHARS)
    if scheme.startswith("words-") and scheme[6:].isdigit() and 1 <= int(scheme[6:]) <= BLOCK_CHARS:
        return word_patches(text, most=int(scheme[6:]))
    if scheme.startswith("fixed-") and scheme[6:].isdigit() and 1 <= int(scheme[6:]) <= BLOCK_CHARS:
        return fixed_patches(text, int(scheme[6:]))
    raise InputError(f"unknown patching scheme {scheme!r}: words, words-N or fixed-N with N from 1 to {BLOCK_CHARS}")


@dataclass
class Patched:
    """A text cut into patches: ``blocks`` (N, 64) uint8 UTF-32-BE (the input), ``units`` (N, UNITS) uint8 UTF-8
    bytes closed by 0 (the target), ``nbytes`` (N,) the UTF-8 bytes of each patch's text."""

    blocks: np.ndarray
    units: np.ndarray
    nbytes: np.ndarray

    @classmethod
    def of(cls, text: str, scheme: str) -> Patched:
        return cls.of_patches(patches_of(text, scheme))

    @classmethod
    def of_patches(cls, patches: list[str]) -> Patched:
        if any("\x00" in patch for patch in patches):
            raise InputError("the patch models close a patch with U+0000: text holding U+0000 cannot be scored")
        cps, _ = pad_patches(patches, BLOCK_CHARS)  # (N, 16)
        units = np.zeros((len(patches), UNITS), dtype=np.uint8)  # (N, U): zeros close each patch
        nbytes = np.zeros(len(patches), dtype=np.int64)
        for i, patch in enumerate(patches):
            raw = patch.encode("utf-8")
            units[i, : len(raw)] = np.frombuffer(raw, dtype=np.uint8)
            nbytes[i] = len(raw)
        return cls(codec.codepoints_to_bytes(cps), units, nbytes)

    def __len__(self) -> int:
        return len(self.units)


class LearnedPatchEmbedding(nn.Module):
    """The ablation's patch embedding, learned from scratch: MEGABYTE's concatenated byte embeddings of the
    patch's 64 UTF-32-BE bytes, ``(B, P, 64)`` -> ``(B, P, dim)``."""

    def __init__(self, dim: int, byte_dim: int = 16) -> None:
        super().__init__()
        self.embed = nn.Embedding(256, byte_dim)
        self.proj = nn.Linear(4 * BLOCK_CHARS * byte_dim, dim)

    def forward(self, blocks: torch.Tensor) -> torch.Tensor:
        return self.proj(self.embed(blocks.long()).flatten(-2))  # (B, P, 64 * byte_dim) -> (B, P, dim)


class TokunPatchEmbedding(nn.Module):
    """The tokun encoder + a trainable Linear: ``(B, P, 64)`` bytes -> ``(B, P, dim)``. The encoder is frozen, or
    fine-tuned end to end with the language model (``tune=True``), starting from the pretrained weights."""

    def __init__(self, autoencoder: AutoEncoder, dim: int, latent_scale: float, *, tune: bool = False) -> None:
        super().__init__()
        if autoencoder.cfg.block_chars != BLOCK_CHARS:
            raise InputError(f"patch models read {BLOCK_CHARS}-character blocks, not {autoencoder.cfg.block_chars}")
        self.tune = tune
        self.encoder = autoencoder.encoder.requires_grad_(tune)
        self.latent_scale = latent_scale
        self.proj = nn.Linear(autoencoder.cfg.latent_dim, dim)

    def forward(self, blocks: torch.Tensor) -> torch.Tensor:
        with torch.set_grad_enabled(self.tune and torch.is_grad_enabled()):
            z = self.encoder(blocks) / self.latent_scale  # (B, P, L) at unit spread
        return self.proj(z)


class PatchLM(nn.Module):
    """A global transformer over patch embeddings and a local decoder of each next patch's UTF-8 bytes."""

    def __init__(self, embedding: nn.Module, cfg: LMConfig, local: LocalConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.input = embedding
        self.body = Body(cfg)
        self.local = LocalDecoder(local)

    @staticmethod
    def local_config(cfg: LMConfig, *, dim: int = 64, layers: int = 1, heads: int = 2) -> LocalConfig:
        return LocalConfig(
            units=UNITS, unit_vocab=256, global_dim=cfg.dim, dim=dim, layers=layers, heads=heads, end_unit=END
        )

    def states(self, blocks: torch.Tensor) -> torch.Tensor:
        """``(B, P, 64)`` patches -> ``(B, P, dim)``: the state after each patch, which predicts the next."""
        return self.body(self.input(blocks))

    def nll(self, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """``(B, T)`` NLL (nats) of each next patch's bytes and closing byte given the patches before it."""
        blocks, units = batch  # (B, T+1, 64), (B, T+1, U)
        return -self.local.log_prob(self.states(blocks[:, :-1]), units[:, 1:])  # (B, T)

    def loss(self, batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, int]:
        """Summed NLL (nats) of each next patch's bytes and closing byte, and the count of units scored."""
        return self.nll(batch).sum(), int(self.local.scored(batch[1][:, 1:]).sum())

    def flop_parts(self, patches: int, runs: Sequence[tuple[int, int]] | None = None) -> list[Part]:
        """Training FLOPs of ``patches`` patch positions whose local decoding runs ``runs``, ``[(n units, patches)]``
        (:meth:`~tokun.lm.local.LocalDecoder.runs`; default: every patch at all U units)."""
        body = sum(p.numel() for p in self.body.parameters() if p.ndim >= 2)
        parts = [Part("body", body, patches, Mode.TRAINED, self.cfg.layers, self.cfg.context, self.cfg.dim)]
        if isinstance(self.input, TokunPatchEmbedding):
            enc, _ = macs_per_block(self.input.encoder.cfg)  # multiply-adds per block: 2 FLOPs each forward
            if self.input.tune:
                parts.append(Part("tokun encoder (fine-tuned)", enc, patches, Mode.TRAINED))
            else:
                parts.append(Part("tokun encoder (frozen, forward only)", enc, patches, Mode.FROZEN))
            parts.append(Part("input projection", self.input.proj.weight.numel(), patches))
        else:
            parts.append(Part("learned patch embedding", self.input.proj.weight.numel(), patches))
        return parts + self.local.flop_parts(patches, runs=runs)
