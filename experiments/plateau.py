"""The initial plateau of hierarchical autoencoders, on tiny models: what lets training leave it.

    python scripts/plateau.py

A [4, 4] model (embedding 16, latent 32) on codepoints 0-255, 300 AdamW steps, seed 0: the
baseline predicts each byte's marginal distribution (loss ~1.39, character accuracy ~0). Each row
changes one thing; the loss every 100 steps and the final character accuracy are printed.

Then a [4, 4, 4] model (embedding 16, hidden 32, latent 64, SiLU, batch 128, 600 steps), where
none of those changes helps enough: only the per-level loss (``--level-loss``, the decoder's lower
blocks also decode the encoder's intermediate levels) leaves the plateau.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tokun.core.config import ModelConfig
from tokun.core.model import AutoEncoder, byte_metrics
from tokun.core.sources import BlockSampler

TWO_LEVELS = {"token_dim": (4, 4), "embed_dim": 16, "latent_dim": 32}
THREE_LEVELS = {"token_dim": (4, 4, 4), "embed_dim": 16, "hidden_dim": 32, "latent_dim": 64, "activation": "silu"}


def run(
    label: str,
    *,
    lr: float = 3e-3,
    batch: int = 64,
    steps: int = 300,
    level_loss: float = 0.0,
    patch=None,
    base: dict = TWO_LEVELS,
    **cfg,
) -> None:
    torch.manual_seed(0)
    config = ModelConfig(**(base | cfg))
    model = AutoEncoder(config)
    if patch:
        patch(model)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    sampler = BlockSampler(block_chars=config.block_chars, random=("0-0x100",))
    losses = []
    for step in range(steps):
        x = torch.from_numpy(sampler.bytes(step, batch))
        target = x.reshape(-1).long()
        out = model(x, shortcuts=level_loss > 0, details=True)
        logits = out.logits
        main_loss = F.cross_entropy(logits.reshape(-1, 256), target)
        loss = main_loss + level_loss * sum(F.cross_entropy(b.reshape(-1, 256), target) for b in out.below)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 99:
            losses.append(round(main_loss.item(), 3))  # without the per-level terms
    print(f"{label:28} loss {losses}  char accuracy {byte_metrics(logits, x)['char_accuracy']:.3f}", flush=True)


def linear_decoder(model: AutoEncoder) -> None:
    for block in model.decoder.blocks:
        block.act = nn.Identity()


def no_decoder_norm(model: AutoEncoder) -> None:
    for block in model.decoder.blocks:
        block.norm = nn.Identity()


def orthogonal_init(model: AutoEncoder) -> None:
    for module in model.modules():
        if isinstance(module, nn.Linear):
            nn.init.orthogonal_(module.weight)
            nn.init.zeros_(module.bias)


def main() -> None:
    torch.set_num_threads(1)
    run("baseline")
    run("no decoder activation", patch=linear_decoder)
    run("no decoder LayerNorm", patch=no_decoder_norm)
    run("no LayerNorm", layer_norm=False)
    run("lr 1e-3", lr=1e-3)
    run("lr 1e-2", lr=1e-2)
    run("batch 512", batch=512)
    run("hidden 64 (wider middle)", hidden_dim=64)
    run("latent 64", latent_dim=64)
    print("three levels [4, 4, 4], batch 128, 600 steps:")
    deep = {"base": THREE_LEVELS, "batch": 128, "steps": 600}
    run("baseline", **deep)
    run("orthogonal init", patch=orthogonal_init, **deep)
    run("hidden 64 (wider middle)", hidden_dim=64, **deep)
    run("lr 1e-2", lr=1e-2, **deep)
    run("level loss 0.3", level_loss=0.3, **deep)
    run("level loss 1.0", level_loss=1.0, **deep)


if __name__ == "__main__":
    main()
