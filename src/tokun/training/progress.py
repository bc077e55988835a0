"""Around the training loop, on rank 0: the progress bar, the periodic evaluation on fixed held-out blocks
(``log.jsonl``), and the stop signals (SIGINT, SIGTERM: a checkpoint, then exit), agreed on by every rank."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from tqdm import tqdm

from ..core.codec import codepoints_to_bytes
from ..core.model import AutoEncoder, byte_metrics
from ..core.sources import BlockSampler, random_codepoints
from .config import TrainConfig
from .distributed import Dist


class Evaluator:
    """Fixed held-out blocks (seeded apart from training) per random spec and per text file."""

    def __init__(self, cfg: TrainConfig) -> None:
        c = cfg.model.block_chars
        rows = max(1, cfg.eval_samples // c)
        self.sets: dict[str, np.ndarray] = {}
        for spec in cfg.random:
            cps = random_codepoints(spec, rows * c, seed=cfg.seed + 1_000_003, block_chars=c)
            self.sets[spec] = codepoints_to_bytes(cps.reshape(rows, c))
        if cfg.texts:
            sampler = BlockSampler(block_chars=c, random=(), texts=cfg.texts, seed=cfg.seed + 1_000_003)
            self.sets["texts"] = sampler.bytes(0, rows)

    @torch.inference_mode()
    def __call__(self, model: AutoEncoder, device: torch.device) -> dict[str, dict[str, float]]:
        was_training = model.training
        model.eval()
        out = {}
        for name, data in self.sets.items():
            x = torch.from_numpy(data).to(device)
            logits = torch.cat([model(chunk) for chunk in x.split(4096)])
            out[name] = byte_metrics(logits, x)
        model.train(was_training)
        return out


class Stop:
    """Set by SIGINT/SIGTERM: the loop saves a checkpoint at the end of the step and exits."""

    def __init__(self) -> None:
        self.signal: int | None = None

    def __call__(self, signum: int, frame: Any) -> None:
        self.signal = signum


class Progress:
    """Rank 0's progress bar, periodic evaluation (``log.jsonl``) and the stop signals, around the loop."""

    def __init__(self, cfg: TrainConfig, out: Path, ranks: Dist, start: int, progress: bool) -> None:
        self.cfg, self.out, self.ranks = cfg, out, ranks
        self.evaluator = Evaluator(cfg) if ranks.main else None
        self.stop = Stop()
        self.bar = tqdm(
            total=cfg.steps, initial=start, disable=not (progress and ranks.main), unit="step", dynamic_ncols=True
        )
        self.result: dict[str, dict[str, float]] = {}
        self.t0 = time.time()

    def __enter__(self) -> Progress:
        self.previous = {s: signal.signal(s, self.stop) for s in (signal.SIGINT, signal.SIGTERM)}
        self.log = open(self.out / "log.jsonl", "a", encoding="utf-8") if self.ranks.main else None
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()
        if self.log is not None:
            self.log.close()
        for s, handler in self.previous.items():
            signal.signal(s, handler)

    def step(
        self,
        done: int,
        loss: torch.Tensor,
        logits: torch.Tensor,
        x: torch.Tensor,
        model: AutoEncoder,
        dev: torch.device,
        lr: float,
    ) -> None:
        cfg = self.cfg
        if self.ranks.main and (done % 10 == 0 or done == cfg.steps):
            m = byte_metrics(logits.detach(), x)
            self.bar.set_postfix(
                loss=f"{loss.item():.4f}",
                byte=f"{m['byte_accuracy']:.4f}",
                char=f"{m['char_accuracy']:.4f}",
                block=f"{m['block_accuracy']:.3f}",
            )
        self.bar.update(1)
        if self.ranks.main and (done % cfg.eval_every == 0 or done == cfg.steps):
            assert self.evaluator is not None and self.log is not None
            self.result = self.evaluator(model, dev)
            record = {"step": done, "loss": loss.item(), "lr": lr, "seconds": time.time() - self.t0}
            self.log.write(json.dumps({**record, "eval": self.result}) + "\n")
            self.log.flush()
            self.bar.write(summary(done, self.result))

    def stopped(self, done: int) -> None:
        if self.ranks.main:
            self.bar.write(
                f"tokun: stopped by signal {self.stop.signal} after step {done}; resume with --resume", file=sys.stderr
            )
        raise SystemExit(128 + (self.stop.signal or 0))

    def final(self, model: AutoEncoder, dev: torch.device) -> dict[str, dict[str, float]]:
        if self.ranks.main and not self.result and self.evaluator is not None:
            self.result = self.evaluator(model, dev)
        return self.result


def summary(step: int, result: dict[str, dict[str, float]]) -> str:
    parts = [f"{name}: char {m['char_accuracy']:.5f} block {m['block_accuracy']:.4f}" for name, m in result.items()]
    return f"step {step}: " + " | ".join(parts)


def agree_stop(stop: Stop, ranks: Dist, dev: torch.device) -> bool:
    """True on every rank when any rank got a stop signal."""
    if ranks.world == 1:
        return stop.signal is not None
    flag = torch.tensor([0 if stop.signal is None else stop.signal], device=dev)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    if stop.signal is None and flag.item():
        stop.signal = int(flag.item())
    return bool(flag.item())
