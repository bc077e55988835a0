"""The autoencoder: byte embedding, tokenize blocks, latent; detokenize blocks, byte logits.

Shapes for the default ``4x16`` (B blocks of 64 bytes, E = embed width, L = latent width):

    bytes (B, 64) -> embed (B, 64, E) -> block g=4 -> (B, 16, H) -> block g=16 -> (B, 1, L) -> (B, L)
    (B, L) -> (B, 1, L) -> unblock g=16 -> (B, 16, H) -> unblock g=4 -> (B, 64, E) -> head (B, 64, 256)

Encoder and Decoder are independent modules; the device always follows the input.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig

BYTE_VALUES = 256

ACTIVATIONS = {"relu": nn.ReLU, "silu": nn.SiLU, "gelu": nn.GELU, "tanh": nn.Tanh}


class SlotAttention(nn.Module):
    """Non-causal multi-head self-attention among the G slots of a group, with a residual path."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, g, d = x.shape  # (B, G, D)
        q, k, v = self.qkv(x).view(b, g, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)  # 3 x (B, h, G, D/h)
        y = F.scaled_dot_product_attention(q, k, v)  # (B, h, G, D/h)
        y = y.transpose(1, 2).reshape(b, g, d)  # (B, G, D)
        return x + self.out(y)


class TokenizeBlock(nn.Module):
    """Merge groups of G vectors of width D into one vector of width D_out.

    LayerNorm -> split into groups of G -> + positional bias per slot -> attention -> concat -> Linear -> act.
    """

    def __init__(self, group: int, dim: int, out_dim: int, cfg: ModelConfig, *, activation: bool = True) -> None:
        super().__init__()
        self.group = group
        self.norm = nn.LayerNorm(dim) if cfg.layer_norm else nn.Identity()
        self.position = nn.Parameter(torch.zeros(group, dim))
        self.attention = SlotAttention(dim, cfg.heads) if cfg.attention else None
        self.proj = nn.Linear(group * dim, out_dim)
        self.act = ACTIVATIONS[cfg.activation]() if activation else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, s, d = x.shape  # (B, S, D)
        x = self.norm(x)
        x = x.view(b * (s // self.group), self.group, d) + self.position  # (B*S/G, G, D)
        if self.attention is not None:
            x = self.attention(x)
        x = x.reshape(b, s // self.group, self.group * d)  # (B, S/G, G*D)
        return self.act(self.proj(x))  # (B, S/G, D_out)


class DetokenizeBlock(nn.Module):
    """Split each vector of width D_in into G vectors of width D: the mirror of TokenizeBlock.

    Linear -> act -> split into G slots -> + positional bias -> attention -> LayerNorm.
    """

    def __init__(self, group: int, in_dim: int, dim: int, cfg: ModelConfig) -> None:
        super().__init__()
        self.group = group
        self.proj = nn.Linear(in_dim, group * dim)
        self.act = ACTIVATIONS[cfg.activation]()
        self.position = nn.Parameter(torch.zeros(group, dim))
        self.attention = SlotAttention(dim, cfg.heads) if cfg.attention else None
        self.norm = nn.LayerNorm(dim) if cfg.layer_norm else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, s, _ = x.shape  # (B, S, D_in)
        x = self.act(self.proj(x))  # (B, S, G*D)
        x = x.view(b * s, self.group, -1) + self.position  # (B*S, G, D)
        if self.attention is not None:
            x = self.attention(x)
        return self.norm(x.reshape(b, s * self.group, -1))  # (B, S*G, D)


class LatentMLP(nn.Module):
    """A residual MLP on whole latents, ``(B, 1, L) -> (B, 1, L)``: x + W2 act(W1 LN(x)).

    At the decoder's input it sees every character of the block at once, before the detokenize blocks
    split the latent into per-character slots; zero-initialised output, so it starts as the identity.
    """

    def __init__(self, dim: int, hidden: int, cfg: ModelConfig) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.up = nn.Linear(dim, hidden)
        self.act = ACTIVATIONS[cfg.activation]()
        self.down = nn.Linear(hidden, dim)
        nn.init.zeros_(self.down.weight)
        nn.init.zeros_(self.down.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.down(self.act(self.up(self.norm(x))))  # (B, 1, L)


class InFloat32(nn.Module):
    """``module`` run in float32 whatever its input's dtype; the output in the input's dtype. For float16
    inference: the first detokenize block of a noise-trained decoder reaches pre-activations beyond float16's
    range (its LayerNorm brings them back to order 1)."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module.float()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.module(x.float()).to(x.dtype)


class Encoder(nn.Module):
    """``(..., N, block_bytes)`` byte values (any integer dtype) -> ``(..., N, latent_dim)`` latents."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        widths = cfg.block_widths()
        self.embed = nn.Embedding(BYTE_VALUES, cfg.embed_dim)
        last = len(cfg.token_dim) - 1
        self.blocks = nn.ModuleList(
            TokenizeBlock(g, widths[i], widths[i + 1], cfg, activation=i < last or cfg.latent_activation)
            for i, g in enumerate(cfg.token_dim)
        )

    def forward(self, data: torch.Tensor) -> torch.Tensor:
        return self.levels(data)[-1]

    def slot_weights(self) -> torch.Tensor:
        """``(L, G, D)``: the last tokenize block's Linear split per slot, centred when the latents are (centring is
        linear). A change x of slot s's vector (after the block's LayerNorm) moves the latent by ``W[:, s] @ x``."""
        last = self.blocks[-1]
        weight = last.proj.weight.view(last.proj.out_features, last.group, -1)
        return weight - weight.mean(0, keepdim=True) if self.cfg.center_latent else weight

    def levels(self, data: torch.Tensor) -> list[torch.Tensor]:
        """The output of every tokenize block: ``(B, T/G1, D1)``, ``(B, T/G1/G2, D2)``, ..., and last
        the ``(..., L)`` latents, as :meth:`forward` returns them."""
        lead = data.shape[:-1]
        x = self.embed(data.reshape(-1, data.shape[-1]).long())  # (B, T, E)
        out = []
        for block in self.blocks:
            x = block(x)  # (B, T/G, D)
            out.append(x)
        if self.cfg.center_latent:
            x = x - x.mean(-1, keepdim=True)
        out[-1] = x.view(*lead, self.cfg.latent_dim)  # (..., L)
        return out


class Decoder(nn.Module):
    """``(..., N, latent_dim)`` latents -> ``(..., N, block_bytes, 256)`` byte logits."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        widths = cfg.block_widths()
        self.blocks = nn.ModuleList(
            DetokenizeBlock(g, widths[i + 1], widths[i], cfg) for i, g in reversed(list(enumerate(cfg.token_dim)))
        )
        self.head = nn.Linear(cfg.embed_dim, BYTE_VALUES)
        self.mlp = LatentMLP(cfg.latent_dim, cfg.decoder_mlp, cfg) if cfg.decoder_mlp else None

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(latents))  # (..., T, 256)

    def features(self, latents: torch.Tensor) -> torch.Tensor:
        """``(..., N, latent_dim)`` latents -> ``(..., N, block_bytes, embed_dim)``: each byte's vector, before the
        head (which a read may apply to some positions and byte values only: `Inference.read`)."""
        lead = latents.shape[:-1]
        x = latents.reshape(-1, 1, latents.shape[-1])  # (B, 1, L)
        if self.cfg.center_latent:
            x = x - x.mean(-1, keepdim=True)  # blind to a shift common to every dimension
        if self.mlp is not None:
            x = self.mlp(x)  # (B, 1, L)
        return self.down_from(x, len(self.blocks)).view(*lead, self.cfg.block_bytes, -1)  # (..., T, E)

    def from_level(self, x: torch.Tensor, level: int) -> torch.Tensor:
        """Byte logits ``(B, T, 256)`` of ``(B, S, D)`` vectors of hierarchy ``level`` (0: bytes, 1: characters
        for ``4x...`` models, ``len(token_dim)``: latents), through the detokenize blocks below it."""
        return self.head(self.down_from(x, level))  # (B, T, 256)

    def down_from(self, x: torch.Tensor, level: int) -> torch.Tensor:
        """``(B, S, D)`` vectors of hierarchy ``level`` -> ``(B, T, E)`` byte vectors, through the blocks below it."""
        for block in self.blocks[len(self.blocks) - level :]:
            x = block(x)  # (B, S*G, D)
        return x


@dataclass
class Outputs:
    """What :meth:`AutoEncoder.forward` returns with ``details=True`` (for training losses)."""

    logits: torch.Tensor  # (B, T, 256)
    latents: torch.Tensor  # (B, L), before any noise or dropout
    below: list[torch.Tensor]  # (B, T, 256) per intermediate level, lowest first (empty without shortcuts)
    levels: list[torch.Tensor]  # the encoder's levels, as :meth:`Encoder.levels` returns them


class AutoEncoder(nn.Module):
    """Encoder + Decoder. ``forward`` maps bytes to byte logits; train with cross-entropy on the input."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)

    def forward(
        self,
        data: torch.Tensor,
        *,
        noise: float = 0.0,
        noise_rows: torch.Tensor | None = None,
        dropout: float = 0.0,
        shortcuts: bool = False,
        details: bool = False,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor | Outputs:
        """Byte logits of ``(B, T)`` ``data``; ``noise`` > 0 adds isotropic Gaussian noise of ``noise * sigma``
        to the latents first (sigma: the latents' spread, sqrt of the mean per-dimension variance).

        ``noise_rows``: ``(B,)`` bool, only these rows get noise and sigma is their spread (the others
        are decoded clean), e.g. text-like blocks that must be robust next to random ones that must be exact.

        ``dropout``: latent dropout, each latent dimension zeroed with this probability (the rest scaled by
        ``1 / (1 - dropout)``), on the ``noise_rows`` only when given.

        ``details``: return :class:`Outputs` (the logits and the clean latents). ``shortcuts`` (implies
        ``details``): its ``below`` also holds the byte logits of each intermediate level of the encoder decoded
        by the decoder's blocks below that level, for the per-level loss that gets deep hierarchies off their
        initial plateau (``TrainConfig.level_loss``). Each level enters as the next tokenize block sees it
        (after its LayerNorm).

        ``generator``: draws the noise and the dropout mask (training seeds one per step, so that a resumed run
        draws what an uninterrupted one would); default torch's global generator.
        """
        levels = self.encoder.levels(data)  # [(B, T/G1, D1), ..., (B, L)]
        latents = levels[-1]
        if noise > 0:
            latents = add_noise(latents, noise, rows=noise_rows, generator=generator)
        if dropout > 0:
            latents = drop_dimensions(latents, dropout, rows=noise_rows, generator=generator)
        logits = self.decoder(latents)  # (B, T, 256)
        if not (details or shortcuts):
            return logits
        below = []
        if shortcuts:
            below = [
                self.decoder.from_level(self.encoder.blocks[i + 1].norm(x), i + 1) for i, x in enumerate(levels[:-1])
            ]
        return Outputs(logits, levels[-1], below, levels)

    def encode(self, data: torch.Tensor) -> torch.Tensor:
        return self.encoder(data)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        return self.decoder(latents)

    @torch.no_grad()
    def rescale_latents(self, factor: float) -> None:
        """Multiply every latent by ``factor`` without changing what decodes: the encoder's last Linear times
        ``factor``, the decoder's first Linear's weights divided by it (the centring between them is linear).
        Nothing in training fixes the latents' scale and every measure here is scale-free, but float16 needs
        them well inside its range (65,504)."""
        if self.cfg.latent_activation or self.cfg.decoder_mlp:
            raise ValueError("only a linear path from the last tokenize block to the first detokenize block rescales")
        last, first = self.encoder.blocks[-1].proj, self.decoder.blocks[0].proj
        last.weight.mul_(factor)
        last.bias.mul_(factor)
        first.weight.div_(factor)


def latent_sigma(latents: torch.Tensor) -> torch.Tensor:
    """sqrt(mean over dimensions of the per-dimension variance) of ``(..., L)`` latents: a scalar."""
    flat = latents.reshape(-1, latents.shape[-1])
    return flat.var(0, unbiased=False).mean().sqrt()


def participation_ratio(latents: torch.Tensor) -> torch.Tensor:
    """tr(C)^2 / tr(C^2) of the ``(N, L)`` latents' covariance C, a differentiable scalar: how many directions
    their variance effectively uses (L when spread evenly, 1 when all on a line). Scale-free."""
    zc = latents - latents.mean(0)  # (N, L)
    small = zc @ zc.T if zc.shape[0] <= zc.shape[1] else zc.T @ zc  # same non-zero spectrum as N * C
    return small.diagonal().sum().pow(2) / (small.pow(2).sum() + 1e-12)


def add_noise(
    latents: torch.Tensor, k: float, *, rows: torch.Tensor | None = None, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``(B, L)`` latents plus N(0, (k * sigma)^2) on every dimension, sigma from :func:`latent_sigma` (not
    differentiated). ``rows``: ``(B,)`` bool, only these rows get noise and sigma is their spread. ``generator``
    draws the noise (default: torch's global one)."""
    noise = torch.randn(latents.shape, generator=generator, device=latents.device, dtype=latents.dtype)
    if rows is None:
        return latents + k * latent_sigma(latents.detach()) * noise
    if int(rows.sum()) < 2:  # no spread to measure
        return latents
    mask = rows.to(latents.dtype).unsqueeze(-1)  # (B, 1)
    return latents + k * latent_sigma(latents[rows].detach()) * mask * noise


def drop_dimensions(
    latents: torch.Tensor, p: float, *, rows: torch.Tensor | None = None, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``(B, L)`` latents with each dimension zeroed with probability ``p`` and the others scaled by
    ``1 / (1 - p)``; ``rows``: ``(B,)`` bool, only these rows are touched; ``generator`` draws the mask."""
    draw = torch.rand(latents.shape, generator=generator, device=latents.device, dtype=latents.dtype)
    keep = (draw >= p).to(latents.dtype) / (1 - p)  # (B, L)
    if rows is not None:
        keep = torch.where(rows.unsqueeze(-1), keep, torch.ones_like(keep))
    return latents * keep


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def byte_metrics(logits: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    """Byte, character (4 bytes) and block (all bytes of a latent) accuracy of ``(..., T, 256)`` logits."""
    right = logits.argmax(-1) == target.long()  # (..., T)
    flat = right.reshape(-1, right.shape[-1])  # (B, T)
    chars = flat.view(flat.shape[0], -1, 4).all(-1)  # (B, T/4)
    return {
        "byte_accuracy": flat.float().mean().item(),
        "char_accuracy": chars.float().mean().item(),
        "block_accuracy": chars.all(-1).float().mean().item(),
    }
