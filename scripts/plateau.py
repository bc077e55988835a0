"""The initial plateau of a two-level autoencoder, on a tiny model: what lets training leave it.

    python scripts/plateau.py

A [4, 4] model (embedding 16, latent 32) on codepoints 0-255, 300 AdamW steps, seed 0: the
baseline predicts each byte's marginal distribution (loss ~1.39, character accuracy ~0). Each row
changes one thing; the loss every 100 steps and the final character accuracy are printed.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tokun.config import ModelConfig
from tokun.data import BlockSampler
from tokun.model import AutoEncoder, byte_metrics


def run(label: str, *, lr: float = 3e-3, batch: int = 64, patch=None, **cfg) -> None:
    torch.manual_seed(0)
    config = ModelConfig(**({"token_dim": (4, 4), "embed_dim": 16, "latent_dim": 32} | cfg))
    model = AutoEncoder(config)
    if patch:
        patch(model)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    sampler = BlockSampler(block_chars=config.block_chars, random=("0-0x100",))
    losses = []
    for step in range(300):
        x = torch.from_numpy(sampler.bytes(step, batch))
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, 256), x.reshape(-1).long())
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 99:
            losses.append(round(loss.item(), 3))
    print(f"{label:28} loss {losses}  char accuracy {byte_metrics(logits, x)['char_accuracy']:.3f}", flush=True)


def linear_decoder(model: AutoEncoder) -> None:
    for block in model.decoder.blocks:
        block.act = nn.Identity()


def no_decoder_norm(model: AutoEncoder) -> None:
    for block in model.decoder.blocks:
        block.norm = nn.Identity()


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


if __name__ == "__main__":
    main()
