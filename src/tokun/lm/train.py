"""One training loop for every language model of the comparison (:class:`~tokun.lm.zoo.LanguageModel`).

AdamW and the learning-rate schedule are :mod:`tokun.core.optim`'s, as in ``tokun train``. The budget is
training FLOPs (counted by :mod:`tokun.lm.flops`), wall-clock, or both (the first reached ends training). Under a
FLOPs budget the steps are planned up front (the budget over the mean cost of a step, measured on sample batches),
so that warm-up and decay are the same **shares of each model's own steps** (:class:`Schedule`); under wall-clock
alone they are shares of the time.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from ..core.optim import adamw, lr_scale
from .data import Encoded
from .flops import model_train_flops
from .model import LMConfig, vocabulary_and_body_parameters
from .zoo import LanguageModel

TIME_STEPS = 10_000  # a wall-clock budget's schedule: its time cut into this many virtual steps


@dataclass(frozen=True)
class Schedule:
    """Warm-up and cosine decay as shares of a model's steps, the same for every model."""

    warmup: float = 0.1  # linear warm-up over the first tenth of the steps
    decay: float = 0.9  # cosine decay over the last nine tenths, to ``min_ratio`` of the peak
    min_ratio: float = 0.02

    def steps(self, total: int) -> tuple[int, int]:
        """``(warm-up steps, decay steps)`` of ``total`` steps."""
        return max(1, round(self.warmup * total)), max(1, round(self.decay * total))

    def scale(self, step: int, total: int) -> float:
        """The multiplier of the peak learning rate at ``step`` of ``total``."""
        warmup, decay = self.steps(total)
        return lr_scale(step, total, warmup=warmup, decay=decay, min_ratio=self.min_ratio)


@dataclass(frozen=True)
class Budget:
    """Training FLOPs and/or wall-clock seconds per model and seed (the first reached ends), and the batch."""

    flops: float | None = None
    seconds: float = 0.0
    batch: int = 16


def to_device(x: Any, device: str | torch.device) -> Any:
    return tuple(t.to(device) for t in x) if isinstance(x, tuple) else x.to(device)


def plan_steps(model: LanguageModel, data: Encoded, budget: Budget, *, samples: int = 8) -> int | None:
    """Steps that spend ``budget.flops``: the budget over the mean FLOPs of ``samples`` batches drawn from a
    generator of their own (the training draws stay those of the seed). None without a FLOPs budget."""
    if not budget.flops:
        return None
    rng = np.random.default_rng(12345)
    positions = budget.batch * model.cfg.context
    per_step = np.mean(
        [model_train_flops(model.flop_parts(positions, model.batch(data, rng, budget.batch))) for _ in range(samples)]
    )
    return max(1, math.ceil(budget.flops / per_step))


def train(
    model: LanguageModel,
    data: Encoded,
    cfg: LMConfig,
    *,
    budget: Budget,
    lr: float,
    seed: int,
    schedule: Schedule = Schedule(),
    chars_per_position: float = 1.0,
    progress: bool = False,
    device: str = "cpu",
) -> dict[str, Any]:
    """Build a fresh network of body ``cfg`` for ``model`` (seeded by ``seed``) and train it on random windows of
    ``data``; what the run did (steps, FLOPs, schedule, speed in characters: ``chars_per_position`` of the data)."""
    if not budget.flops and not budget.seconds:
        raise ValueError("a training budget needs FLOPs, seconds or both")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = model.build(cfg).to(device)
    net.train()
    optimizer = adamw(net.named_parameters(), lr=lr, weight_decay=0.1, betas=(0.9, 0.95))
    params = [p for p in net.parameters() if p.requires_grad]
    planned = plan_steps(model, data, budget)
    positions = budget.batch * cfg.context
    t0, step, spent = time.time(), 0, 0
    bar = tqdm(total=planned, disable=not progress, desc=model.name, leave=False)

    def out_of_time() -> bool:
        return bool(budget.seconds) and time.time() - t0 >= budget.seconds

    while (step < planned if planned else True) and not out_of_time():
        if planned:
            scale = schedule.scale(step, planned)
        else:  # wall-clock alone: shares of the time
            scale = schedule.scale(int(TIME_STEPS * (time.time() - t0) / budget.seconds), TIME_STEPS)
        for group in optimizer.param_groups:
            group["lr"] = lr * scale
        batch = model.batch(data, rng, budget.batch)
        loss, count = model.loss(to_device(batch, device))
        optimizer.zero_grad(set_to_none=True)
        (loss / count).backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        spent += model_train_flops(model.flop_parts(positions, batch))
        step += 1
        bar.update()
        bar.set_postfix(loss=f"{loss.item() / count:.3f}")
    bar.close()
    seconds = time.time() - t0
    warmup, decay = schedule.steps(planned or TIME_STEPS)
    net.eval()
    return {
        "stopped_by": "flops" if planned and step >= planned else "minutes",
        "steps": step,
        "planned_steps": planned,
        "warmup_steps": warmup if planned else None,
        "decay_steps": decay if planned else None,
        "seconds": seconds,
        "train_chars_per_s": step * positions * chars_per_position / max(seconds, 1e-9),
        "train_flops": float(spent),
        "parameters": vocabulary_and_body_parameters(net),
    }

