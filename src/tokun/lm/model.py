"""tokun at both ends of a small llama-style language model, and the same body over bytes and BPE.

    TokunInput   frozen tokun encoder: byte blocks (B, T, 64) -> latents (B, T, 256) -> Linear -> (B, T, dim)
    TokunOutput  Linear (B, T, dim) -> (B, T, 256) -> frozen tokun decoder -> byte logits (B, T, 64, 256)
    Body         RMSNorm, rotary positions, SwiGLU, causal attention: the part all models share

The tokun model predicts the next block's 64 bytes from each position (cross-entropy through the
frozen decoder); the byte model the next byte; the BPE model the next token. Every model is scored
in bits per UTF-8 byte of the validation text, so their numbers compare directly.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..core.model import AutoEncoder


@dataclass(frozen=True)
class LMConfig:
    dim: int = 256
    layers: int = 4
    heads: int = 4
    ffn: int = 688  # SwiGLU hidden width, about 8/3 dim
    context: int = 64  # positions per training sequence


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


@functools.lru_cache(maxsize=32)
def _rotations(d: int, length: int, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """``cos`` and ``sin`` ``(length, d/2)`` of the rotary angles of positions ``0 .. length - 1``, made once per
    width, length, device and dtype (ordinary tensors, even when first asked for under ``inference_mode``)."""
    with torch.inference_mode(False), torch.no_grad():
        freqs = 1.0 / (10000 ** (torch.arange(0, d, 2, device=device, dtype=torch.float32) / d))  # (d/2,)
        angles = torch.arange(length, device=device, dtype=torch.float32)[:, None] * freqs  # (length, d/2)
        return angles.cos().to(dtype), angles.sin().to(dtype)


def rotary(x: torch.Tensor, offset: int = 0) -> torch.Tensor:
    """Rotary position embedding of ``(B, h, T, d)`` queries or keys at positions ``offset .. offset + T - 1``."""
    _, _, t, d = x.shape
    length = 1 << max(6, (offset + t - 1).bit_length())  # tables for the next power of two of positions: few sizes
    cos, sin = (table[offset : offset + t] for table in _rotations(d, length, x.device, x.dtype))  # (T, d/2) each
    x1, x2 = x[..., 0::2], x[..., 1::2]  # (B, h, T, d/2) each
    return torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1).flatten(-2)  # (B, h, T, d)


class Attention(nn.Module):
    def __init__(self, cfg: LMConfig) -> None:
        super().__init__()
        self.heads = cfg.heads
        self.qkv = nn.Linear(cfg.dim, 3 * cfg.dim, bias=False)
        self.out = nn.Linear(cfg.dim, cfg.dim, bias=False)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        """``(B, T, D)`` -> ``(B, T, D)``; with ``cache``, ``x`` continues the positions cached so far."""
        b, t, d = x.shape  # (B, T, D)
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)  # 3 x (B, h, T, d/h)
        offset = cache.length if cache is not None else 0
        q, k = rotary(q, offset), rotary(k, offset)
        if cache is not None:
            k, v = cache.extend(layer, k, v)  # (B, h, offset + T, d/h)
        mask = None  # one new position sees every key; T from the start: causal
        if offset and t > 1:  # T positions after cached ones: query i sees the cached keys and new keys <= i
            mask = torch.ones(t, offset + t, dtype=torch.bool, device=x.device).tril(diagonal=offset)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=t > 1 and not offset)  # (B, h, T, d/h)
        return self.out(y.transpose(1, 2).reshape(b, t, d))  # (B, T, D)


class SwiGLU(nn.Module):
    def __init__(self, cfg: LMConfig) -> None:
        super().__init__()
        self.gate = nn.Linear(cfg.dim, cfg.ffn, bias=False)
        self.up = nn.Linear(cfg.dim, cfg.ffn, bias=False)
        self.down = nn.Linear(cfg.ffn, cfg.dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(F.silu(self.gate(x)) * self.up(x))


class Block(nn.Module):
    def __init__(self, cfg: LMConfig) -> None:
        super().__init__()
        self.norm1, self.attn = RMSNorm(cfg.dim), Attention(cfg)
        self.norm2, self.ffn = RMSNorm(cfg.dim), SwiGLU(cfg)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), cache, layer)
        return x + self.ffn(self.norm2(x))


class KVCache:
    """The keys and values of the positions a :class:`Body` has seen, per layer, ``(B, h, T, d/h)`` each, so that
    generation runs the body on each new position only (``Body.forward(x, cache)``)."""

    def __init__(self) -> None:
        self.keys: list[torch.Tensor] = []
        self.values: list[torch.Tensor] = []
        self.length = 0  # positions cached (the same in every layer once a forward pass ends)

    def extend(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append ``(B, h, T, d/h)`` keys and values to ``layer``'s; its keys and values so far."""
        if layer == len(self.keys):
            self.keys.append(k)
            self.values.append(v)
        else:
            self.keys[layer] = torch.cat((self.keys[layer], k), dim=2)
            self.values[layer] = torch.cat((self.values[layer], v), dim=2)
        return self.keys[layer], self.values[layer]


class Body(nn.Module):
    """The transformer shared by every model: ``(B, T, dim)`` -> ``(B, T, dim)``.

    With a :class:`KVCache`, ``x`` holds the positions after the cached ones (one at a time in generation); the
    outputs are those of the whole sequence run at once, at these positions."""

    def __init__(self, cfg: LMConfig) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.layers))
        self.norm = RMSNorm(cfg.dim)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        for layer, block in enumerate(self.blocks):
            x = block(x, cache, layer)
        if cache is not None:
            cache.length += x.shape[1]
        return self.norm(x)


class TokunInput(nn.Module):
    """Frozen tokun encoder + trainable Linear(latent -> dim): byte blocks ``(B, T, 64)`` -> ``(B, T, dim)``.

    Latents are divided by ``latent_scale`` (their spread on the training text): unit scale for the body, the same
    for every batch, so a position's input does not depend on what it is batched with."""

    def __init__(self, autoencoder: AutoEncoder, dim: int, latent_scale: float) -> None:
        super().__init__()
        self.encoder = autoencoder.encoder.requires_grad_(False)
        self.latent_scale = latent_scale
        self.proj = nn.Linear(autoencoder.cfg.latent_dim, dim)

    def forward(self, blocks: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            z = self.encoder(blocks) / self.latent_scale  # (B, T, L) at unit spread
        return self.proj(z)


class TokunOutput(nn.Module):
    """Trainable Linear(dim -> latent) + frozen tokun decoder: ``(B, T, dim)`` -> byte logits ``(B, T, 64, 256)``.

    Gradients flow through the frozen decoder into the body (its weights stay fixed)."""

    def __init__(self, autoencoder: AutoEncoder, dim: int, latent_scale: float) -> None:
        super().__init__()
        self.decoder = autoencoder.decoder.requires_grad_(False)
        self.proj = nn.Linear(dim, autoencoder.cfg.latent_dim)
        self.latent_scale = latent_scale
        # a lossless decoder is very confident; a learned temperature calibrates its logits for prediction
        self.log_temperature = nn.Parameter(torch.tensor(2.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.decoder(self.proj(x) * self.latent_scale)  # (B, T, 64, 256)
        return logits / self.log_temperature.exp()


class TokunLM(nn.Module):
    """Predicts the next 16-character block from the blocks so far."""

    def __init__(self, autoencoder: AutoEncoder, cfg: LMConfig, latent_scale: float) -> None:
        super().__init__()
        self.cfg = cfg
        self.input = TokunInput(autoencoder, cfg.dim, latent_scale)
        self.body = Body(cfg)
        self.output = TokunOutput(autoencoder, cfg.dim, latent_scale)

    def forward(self, blocks: torch.Tensor) -> torch.Tensor:
        return self.output(self.body(self.input(blocks)))  # (B, T, 64, 256)

    def nll(self, blocks: torch.Tensor) -> torch.Tensor:
        """``(B, T-1)`` NLL (nats) of each next block's 64 bytes given the blocks before it."""
        logits = self(blocks[:, :-1])  # (B, T-1, 64, 256)
        target = blocks[:, 1:].long()  # (B, T-1, 64)
        return F.cross_entropy(logits.transpose(1, -1), target.transpose(1, -1), reduction="none").sum(1)

    def loss(self, blocks: torch.Tensor) -> tuple[torch.Tensor, int]:
        """Summed NLL (nats) of each next block's bytes given the previous blocks, and the count of predictions."""
        return self.nll(blocks).sum(), blocks[:, 1:].numel()


class TokenLM(nn.Module):
    """The same body over token ids (bytes: vocab 256; BPE: its vocabulary), tied embedding and head."""

    def __init__(self, vocab: int, cfg: LMConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(vocab, cfg.dim)
        nn.init.normal_(self.embed.weight, std=0.02)
        self.body = Body(cfg)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(self.embed(ids)))  # (B, T, V)

    def input(self, ids: torch.Tensor) -> torch.Tensor:
        """``(B, T)`` ids -> ``(B, T, dim)``: what the body reads (the same name as the tokun models')."""
        return self.embed(ids)

    def head(self, states: torch.Tensor) -> torch.Tensor:
        """``(B, T, dim)`` states -> ``(B, T, V)`` logits of the next token (the tied embedding)."""
        return states @ self.embed.weight.T

    def nll(self, ids: torch.Tensor) -> torch.Tensor:
        """``(B, T-1)`` NLL (nats) of each next token given the tokens before it."""
        logits = self(ids[:, :-1])  # (B, T-1, V)
        return F.cross_entropy(logits.transpose(1, 2), ids[:, 1:], reduction="none")

    def loss(self, ids: torch.Tensor) -> tuple[torch.Tensor, int]:
        return self.nll(ids).sum(), ids[:, 1:].numel()


def vocabulary_and_body_parameters(model: nn.Module) -> dict[str, int]:
    """Parameters in the vocabulary layers (embedding/head or tokun + projections) and in the body."""
    body = sum(p.numel() for p in model.body.parameters())
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"vocabulary": total - body, "body": body, "trainable": trainable}


def bits(nats: float) -> float:
    return nats / math.log(2)
