"""The correlation that ``--distance-target`` compares with, measured on a trained model.

    python experiments/batch_correlation.py MODEL [MODEL ...] [--texts runs/split/train]

Batches drawn as the shipped default's recipe draws them (its random specs, 30 % text lines, 10 %
padding); over the text and ``local`` rows of each (``--noise-on text local``), the Pearson
correlation r between latent L2 distances and character edit distances, exactly as training
computes it (``1 - tokun.training.losses.distance_loss``). Prints the mean and spread of r over the batches,
to choose a ``--distance-target`` for a run.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from tokun.core.checkpoint import load_model
from tokun.core.codec import codepoints_to_bytes
from tokun.core.sources import BlockSampler
from tokun.training.losses import distance_loss

RANDOM = ("planes0-3", "assigned", "plane0", "0-0x800", "local")
ROWS = ("text", "local")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+", help="shipped model names or model directories")
    p.add_argument("--texts", default="runs/split/train", help="text files or folder (tokun split)")
    p.add_argument("--batches", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=256)
    args = p.parse_args()
    for name in args.models:
        model = load_model(name).eval()
        sampler = BlockSampler(
            block_chars=model.cfg.block_chars, random=RANDOM, texts=(args.texts,), text_ratio=0.3, pad_ratio=0.1, seed=5
        )
        keep = np.array([i for i, source in enumerate(sampler.sources()) if source in ROWS])
        rs = []
        for step in range(args.batches):
            cps, source = sampler.sourced(step, args.batch_size)
            cps = cps[np.isin(source, keep)]  # (n, C): the rows the distance term sees
            with torch.inference_mode():
                z = model.encoder(torch.from_numpy(codepoints_to_bytes(cps)))  # (n, L)
            rs.append(1 - float(distance_loss(z, cps)))
        print(f"{name}: r = {np.mean(rs):.3f} ± {np.std(rs):.3f} over {args.batches} batches")


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
