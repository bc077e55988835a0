"""The initial plateau of hierarchical autoencoders, on tiny models: what lets training leave it.

    python experiments/plateau.py          # a few minutes on one thread

A [4, 4] model (embedding 16, latent 32) on codepoints 0-255, 300 steps of 64 blocks, seed 0, a constant learning
rate, trained by tokun's own trainer (:func:`tokun.training.train.train`, its optimizer and gradient clipping): the
baseline predicts each byte's marginal distribution (loss ~1.39 = ln 256 / 4, character accuracy ~0). Each row
changes one thing; printed are the training loss every 100 steps (as ``log.jsonl`` records it: with the per-level
terms where they are on), then, on the trainer's held-out blocks of codepoints 0-255, the loss of the decoder's
output alone and the character accuracy.

Then a [4, 4, 4] model (embedding 16, hidden 32, latent 64, SiLU, batch 128, 600 steps), where none of those
changes helps enough: only the per-level loss (``--level-loss``, the decoder's lower blocks also decode the
encoder's intermediate levels) leaves the plateau.

Rows that change the model's structure or initialisation (no decoder activation, no decoder LayerNorm,
orthogonal initialisation) apply their change to the model the trainer builds, before it builds the optimizer.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from tokun.core.config import ModelConfig
from tokun.core.model import AutoEncoder
from tokun.training import progress
from tokun.training import train as trainer
from tokun.training.config import TrainConfig

# the historical models' settings (GELU, latents not centred; a two-level model's middle as wide as its latent),
# written out: ModelConfig's defaults are the shipped 4x16's
TWO_LEVELS = {"token_dim": (4, 4), "embed_dim": 16, "hidden_dim": None, "latent_dim": 32}
TWO_LEVELS |= {"activation": "gelu", "center_latent": False}
THREE_LEVELS = {"token_dim": (4, 4, 4), "embed_dim": 16, "hidden_dim": 32, "latent_dim": 64}
THREE_LEVELS |= {"activation": "silu", "center_latent": False}
DATA = "0-0x100"


@contextlib.contextmanager
def built_by_trainer(patch: Callable[[AutoEncoder], None] | None) -> Iterator[list[AutoEncoder]]:
    """Within the block, the model :func:`tokun.training.train.train` builds (:func:`~tokun.training.train.build_model`:
    seeded, before its optimizer) gets ``patch`` applied, and is appended to the yielded list."""
    built: list[AutoEncoder] = []
    original = trainer.build_model

    def build_model(cfg: TrainConfig, device: torch.device) -> AutoEncoder:
        model = original(cfg, device)
        if patch is not None:
            patch(model)
        built.append(model)
        return model

    trainer.build_model = build_model
    try:
        yield built
    finally:
        trainer.build_model = original


def run(
    label: str,
    *,
    lr: float = 3e-3,
    batch: int = 64,
    steps: int = 300,
    level_loss: float = 0.0,
    patch: Callable[[AutoEncoder], None] | None = None,
    base: dict = TWO_LEVELS,
    **changes,
) -> dict:
    cfg = TrainConfig(
        model=ModelConfig(**(base | changes)),
        random=(DATA,),
        pad_ratio=0.0,
        level_loss=level_loss,
        steps=steps,
        batch_size=batch,
        lr=lr,
        warmup_steps=0,
        min_lr_ratio=1.0,  # a constant learning rate
        eval_every=100,
        save_every=steps,
        seed=0,
    )
    with tempfile.TemporaryDirectory() as out, built_by_trainer(patch) as built:
        result = trainer.train(cfg, out, device="cpu", progress=False)
        losses = [round(json.loads(line)["loss"], 3) for line in (Path(out) / "log.jsonl").read_text().splitlines()]
    model = built[0].eval()  # the trained model (with its patch)
    x = torch.from_numpy(progress.Evaluator(cfg).sets[DATA])  # (N, T): the held-out blocks the trainer scores
    with torch.inference_mode():
        held_out = F.cross_entropy(model(x).reshape(-1, 256), x.reshape(-1).long()).item()
    char = result[DATA]["char_accuracy"]
    print(f"{label:28} loss {losses}  held-out loss {held_out:.3f}  char accuracy {char:.3f}", flush=True)
    return {"label": label, "losses": losses, "held_out_loss": held_out, "char_accuracy": char}


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
