"""The optimiser and learning-rate schedule shared by every trainer (the autoencoder's ``tokun train`` and the
language models of ``tokun lm compare``).

    lr_scale(step, steps, warmup, decay)   linear warm-up over ``warmup`` steps, constant, then a cosine decay
                                           over the last ``decay`` steps down to ``min_ratio``
    adamw(named_parameters, ...)           AdamW; no weight decay on biases, norms and positional embeddings

>>> [round(lr_scale(s, 10, warmup=2, decay=8), 3) for s in (0, 1, 2, 9)]
[0.5, 1.0, 1.0, 0.038]
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch


def lr_scale(step: int, steps: int, *, warmup: int, decay: int, min_ratio: float = 0.0) -> float:
    """The multiplier of the peak learning rate at ``step`` (0-based) of ``steps``: ``(step + 1) / warmup`` during
    the warm-up, 1 until the last ``decay`` steps, then a cosine from 1 to ``min_ratio`` at ``steps``."""
    if step < warmup:
        return (step + 1) / warmup
    start = steps - decay
    if step < start:
        return 1.0
    progress = min(1.0, (step - start) / max(1, decay))
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def adamw(
    named_parameters: Iterable[tuple[str, torch.nn.Parameter]],
    *,
    lr: float,
    weight_decay: float,
    betas: tuple[float, float] = (0.9, 0.99),
) -> torch.optim.AdamW:
    """AdamW over the parameters that require gradients; matrices decay, vectors (biases, norms) and positional
    embeddings do not."""
    trained = [(n, p) for n, p in named_parameters if p.requires_grad]
    decays = [p.ndim >= 2 and "position" not in n for n, p in trained]
    return torch.optim.AdamW(
        [
            {"params": [p for (_, p), d in zip(trained, decays) if d], "weight_decay": weight_decay},
            {"params": [p for (_, p), d in zip(trained, decays) if not d], "weight_decay": 0.0},
        ],
        lr=lr,
        betas=betas,
    )
