"""Where a training step's time goes on the CPU: denormal floats, and the distance term's edit distances.

    python benchmarks/train_step_bench.py runs/4x16/base/checkpoints/step-00020000 [--steps 20] [--threads 1]

CHECKPOINT is a checkpoint folder of a `tokun train` run (its stage's train_config.json two folders up).
Prints the denormal floats in the checkpoint's optimizer state, the forward-backward time per step from
its weights with the CPU's default arithmetic and with denormals flushed to zero (interleaved, twice each),
the same for a fresh model, and the edit distances of one batch's noisy rows (every pair) per step.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file

from tokun.core.distances import edit_distance_matrix
from tokun.core.sources import BlockSampler
from tokun.training.config import TrainConfig
from tokun.training.train import build_model, draw_batch, step_generator, step_loss


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    cfg = TrainConfig.from_dict(json.loads((args.checkpoint.parent.parent / "train_config.json").read_text()))
    state = load_file(args.checkpoint / "train_state.safetensors")
    tiny = sum(int(((v.abs() > 0) & (v.abs() < torch.finfo(torch.float32).tiny)).sum()) for v in state.values()
               if v.is_floating_point())  # fmt: skip
    print(f"denormal floats in the optimizer state: {tiny:,}")
    dev = torch.device("cpu")
    sampler = BlockSampler(
        block_chars=cfg.model.block_chars, random=cfg.random, texts=cfg.texts, text_ratio=cfg.text_ratio,
        pad_ratio=cfg.pad_ratio, seed=cfg.seed, rank=0,
    )  # fmt: skip
    noisy = np.array([i for i, name in enumerate(sampler.sources()) if name in cfg.noise_on]) if cfg.noise_on else None
    batches = [draw_batch(sampler, cfg, noisy, step, dev) for step in range(args.steps)]
    for name in ("fresh", "checkpoint"):
        model = build_model(cfg, dev)
        if name == "checkpoint":
            model.load_state_dict(load_file(args.checkpoint / "model.safetensors"))
        for flush in (False, True, False, True):
            torch.set_flush_denormal(flush)
            start = time.perf_counter()
            for step, batch in enumerate(batches):
                loss, _ = step_loss(model, model, cfg, batch, step, step_generator(cfg, 0, step, dev))
                model.zero_grad(set_to_none=True)
                loss.backward()
            ms = (time.perf_counter() - start) / len(batches) * 1000
            print(f"{name} weights, {'denormals flushed' if flush else 'default arithmetic'}: {ms:.0f} ms per step")
    rows = [b.cps if b.noise_rows is None else b.cps[b.noise_rows.numpy()] for b in batches]
    start = time.perf_counter()
    for chars in rows:
        edit_distance_matrix(chars)
    ms = (time.perf_counter() - start) / len(rows) * 1000
    print(f"edit distances of every pair of {np.mean([len(r) for r in rows]):.0f} rows: {ms:.1f} ms per step")


if __name__ == "__main__":
    main()
