"""Training: ``train(config, out_dir)``, the library behind ``tokun train``.

Runs unchanged on one process or under ``torchrun --nproc_per_node=K -m tokun train ...``
(DDP: gloo on CPU, nccl on GPU). Each rank draws its own data, noise and dropout from generators seeded by
(seed, rank, step), so a resumed run draws exactly what an uninterrupted one would; the batch size is per
rank. Only rank 0 shows progress, evaluates and writes files.

Files of a run directory:

    checkpoints/step-00001000/   model + optimizer state (atomic, last ``keep_checkpoints`` kept)
    model/                       the final model (config.json + model.safetensors)
    log.jsonl                    one JSON line per evaluation
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

from ..core import checkpoint
from ..core.codec import codepoints_to_bytes
from ..core.errors import CheckpointError, ConfigError
from ..core.model import AutoEncoder
from ..core.optim import adamw, lr_scale
from ..core.sources import BlockSampler
from .config import TrainConfig
from .distributed import Dist, setup_distributed
from .losses import distance_loss, separation_loss, spread_loss
from .progress import Progress, agree_stop


def noise_at(step: int, cfg: TrainConfig) -> float:
    """Latent noise k at ``step``: rises linearly over ``noise_ramp`` steps, then ``latent_noise``."""
    if cfg.noise_ramp <= 0:
        return cfg.latent_noise
    return cfg.latent_noise * min(1.0, step / cfg.noise_ramp)


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up to ``lr``, then cosine decay to ``lr * min_lr_ratio`` at ``steps``."""
    decay = cfg.steps - cfg.warmup_steps
    return cfg.lr * lr_scale(step, cfg.steps, warmup=cfg.warmup_steps, decay=decay, min_ratio=cfg.min_lr_ratio)


def step_generator(cfg: TrainConfig, rank: int, step: int, device: torch.device) -> torch.Generator:
    """The generator of a step's noise and dropout, seeded by (seed, rank, step) like its data."""
    seed = int(np.random.SeedSequence([cfg.seed, rank, step]).generate_state(1, np.uint64)[0] >> 1)
    return torch.Generator(device=device).manual_seed(seed)


def build_model(cfg: TrainConfig, device: torch.device) -> AutoEncoder:
    """The autoencoder to train: seeded initial weights (the same on every rank), or those of ``cfg.init``."""
    torch.manual_seed(cfg.seed)
    model = AutoEncoder(cfg.model)
    if cfg.init:
        _initialise(model, cfg.init)
    model = model.to(device)
    if cfg.freeze_encoder:
        model.encoder.requires_grad_(False)
    return model


def build_optimizer(model: AutoEncoder, cfg: TrainConfig) -> torch.optim.Optimizer:
    """AdamW over the trained parameters; no weight decay on biases, norms and positional embeddings."""
    return adamw(model.named_parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, betas=(0.9, 0.99))


@dataclasses.dataclass
class Batch:
    """One step's data: ``(B, C)`` codepoints, their ``(B, T)`` bytes, and ``(B,)`` bool, the rows that get
    noise, dropout and the extra terms (None: every row)."""

    cps: np.ndarray
    x: torch.Tensor
    noise_rows: torch.Tensor | None


def draw_batch(
    sampler: BlockSampler, cfg: TrainConfig, noisy: np.ndarray | None, step: int, dev: torch.device
) -> Batch:
    cps, source = sampler.sourced(step, cfg.batch_size)
    x = torch.from_numpy(codepoints_to_bytes(cps)).to(dev, non_blocking=True)  # (B, T)
    rows = None if noisy is None else torch.from_numpy(np.isin(source, noisy)).to(dev)  # (B,)
    return Batch(cps, x, rows)


def step_loss(
    net: torch.nn.Module, model: AutoEncoder, cfg: TrainConfig, batch: Batch, step: int, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """The loss of one step (cross-entropy on the bytes, plus each enabled term) and the ``(B, T, 256)`` logits."""
    level_loss = cfg.level_loss or 0.0  # resolved by TrainConfig: never None here
    outputs = net(
        batch.x,
        noise=noise_at(step, cfg),
        noise_rows=batch.noise_rows,
        dropout=cfg.latent_dropout,
        shortcuts=level_loss > 0,
        details=True,
        generator=gen,
    )
    target = batch.x.reshape(-1).long()  # (B*T,)
    loss = F.cross_entropy(outputs.logits.reshape(-1, outputs.logits.shape[-1]), target)
    for level_logits in outputs.below:  # (B, T, 256) per intermediate level
        loss = loss + level_loss * F.cross_entropy(level_logits.reshape(-1, 256), target)
    rows = batch.noise_rows
    keep = slice(None) if rows is None else rows
    chars = batch.cps if rows is None else batch.cps[rows.cpu().numpy()]
    if cfg.distance_loss > 0:
        loss = loss + cfg.distance_loss * distance_loss(outputs.latents[keep], chars, cfg.distance_target)
    if cfg.spread_loss > 0:
        loss = loss + cfg.spread_loss * spread_loss(outputs.latents[keep])
    if cfg.separation_loss > 0:
        levels = [level[keep] for level in outputs.levels]
        slot = step % cfg.model.token_dim[-1]
        loss = loss + cfg.separation_loss * separation_loss(model, levels, chars, slot, cfg.separation_margin)
    return loss, outputs.logits


@contextlib.contextmanager
def flush_denormals(enabled: bool = True) -> Iterator[None]:
    """Inside the block, the CPU flushes denormal floats to zero; after it, the mode it had before.

    A trained model's activations and gradients underflow into denormal floats, which the CPU handles 3x slower
    (benchmarks/train_step_bench.py). torch has no getter for the mode: a denormal multiplied by one tells it."""
    before = _flushing()
    if enabled:
        torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(before)


def _flushing() -> bool:
    """Whether the CPU flushes denormal floats to zero now."""
    return float(torch.tensor([1e-40], dtype=torch.float32).mul(1.0)[0]) == 0.0


def train(
    cfg: TrainConfig,
    out_dir: str | Path,
    *,
    resume: bool = False,
    device: str | None = None,
    progress: bool = True,
    stop_at: int | None = None,
) -> dict[str, Any]:
    """Train an autoencoder; returns the final evaluation (rank 0) or {} (other ranks).

    ``stop_at``: end after this step with a checkpoint, as an interruption would (the schedule
    still runs over ``cfg.steps``; continue with ``resume=True``). On the CPU, denormal floats are flushed to zero
    during the run (:func:`flush_denormals`).
    """
    ranks, dev = setup_distributed(device)
    with flush_denormals(dev.type == "cpu"):
        return _run(cfg, Path(out_dir), ranks, dev, resume=resume, progress=progress, stop_at=stop_at)


def _run(
    cfg: TrainConfig, out: Path, ranks: Dist, dev: torch.device, *, resume: bool, progress: bool, stop_at: int | None
) -> dict[str, Any]:
    """The training loop of :func:`train`."""
    model = build_model(cfg, dev)
    optimizer = build_optimizer(model, cfg)
    ckpt_dir = out / "checkpoints"
    start = 0
    if resume:
        start = _resume(ckpt_dir, model, optimizer, cfg, ranks)
    elif ranks.main and checkpoint.list_checkpoints(ckpt_dir):
        raise CheckpointError(f"{out} already holds checkpoints: pass --resume to continue, or another --out")
    if ranks.main:
        out.mkdir(parents=True, exist_ok=True)
        (out / "train_config.json").write_text(json.dumps(cfg.to_dict(), indent=2) + "\n")
    net: torch.nn.Module = model
    if ranks.world > 1:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[dev.index] if dev.type == "cuda" else None)
    sampler = BlockSampler(
        block_chars=cfg.model.block_chars,
        random=cfg.random,
        texts=cfg.texts,
        text_ratio=cfg.text_ratio,
        pad_ratio=cfg.pad_ratio,
        seed=cfg.seed,
        rank=ranks.rank,
    )
    noisy = None  # indices of the sources whose rows get latent noise (None: every row)
    if cfg.noise_on:
        noisy = np.array([i for i, name in enumerate(sampler.sources()) if name in cfg.noise_on])
    end = cfg.steps if stop_at is None else min(stop_at, cfg.steps)
    with Progress(cfg, out, ranks, start, progress) as report:
        model.train()
        for step in range(start, end):
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, cfg)
            batch = draw_batch(sampler, cfg, noisy, step, dev)
            loss, logits = step_loss(net, model, cfg, batch, step, step_generator(cfg, ranks.rank, step, dev))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            report.step(step + 1, loss, logits, batch.x, model, dev, lr_at(step, cfg))
            stopping = agree_stop(report.stop, ranks, dev)
            if (step + 1) % cfg.save_every == 0 or step + 1 in (cfg.steps, end) or stopping:
                if ranks.main:
                    _save(ckpt_dir, model, optimizer, cfg, step + 1)
                if ranks.world > 1:
                    dist.barrier()
            if stopping:
                report.stopped(step + 1)
        if end < cfg.steps:
            return {}
        if ranks.main and (start < cfg.steps or not (out / "model").exists()):
            checkpoint.save_model(model, out / "model", metadata={"steps": str(cfg.steps), "seed": str(cfg.seed)})
        return report.final(model, dev)


def _initialise(model: AutoEncoder, init: str) -> None:
    """Copy the weights of model ``init`` (shipped name or directory) into ``model``, whose config must match."""
    source = checkpoint.load_model(init)
    if source.cfg != model.cfg:
        raise ConfigError(
            f"--init {init}: its config {source.cfg.to_dict()} differs from the run's {model.cfg.to_dict()}"
        )
    model.load_state_dict(source.state_dict())


def _save(ckpt_dir: Path, model: AutoEncoder, optimizer: torch.optim.Optimizer, cfg: TrainConfig, step: int) -> None:
    checkpoint.save_checkpoint(
        ckpt_dir / f"step-{step:08d}", model, optimizer, {"step": step, "train_config": cfg.to_dict()}
    )
    for old in checkpoint.list_checkpoints(ckpt_dir)[: -cfg.keep_checkpoints]:
        shutil.rmtree(old, ignore_errors=True)


def _resume(ckpt_dir: Path, model: AutoEncoder, optimizer: torch.optim.Optimizer, cfg: TrainConfig, ranks: Dist) -> int:
    """Load the newest readable checkpoint (falling back past corrupted ones); its step."""
    found = checkpoint.list_checkpoints(ckpt_dir)
    if not found:
        raise CheckpointError(f"--resume: no checkpoint in {ckpt_dir}")
    for path in reversed(found):
        try:
            record = checkpoint.load_checkpoint(path, model, optimizer)
        except CheckpointError as err:
            if ranks.main:
                print(f"tokun: warning: skipping {err}", file=sys.stderr)
            continue
        saved = TrainConfig.from_dict(record["train_config"])
        if dataclasses.replace(saved, steps=cfg.steps) != cfg:
            raise CheckpointError(
                f"{path}: --resume needs the same training options as the run (only --steps may change)"
            )
        if int(record["step"]) > cfg.steps:
            raise CheckpointError(f"{path} is at step {record['step']}, past --steps {cfg.steps}: give --steps >= it")
        if ranks.main:
            print(f"tokun: resuming from {path} (step {record['step']})", file=sys.stderr)
        return int(record["step"])
    raise CheckpointError(f"--resume: every checkpoint in {ckpt_dir} is corrupted")
