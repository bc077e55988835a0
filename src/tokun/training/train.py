"""Training: ``train(config, out_dir)``, and ``run(args)`` for ``tokun train``.

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

import argparse
import dataclasses
import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from tqdm import tqdm

from ..core import checkpoint
from ..core.codec import codepoints_to_bytes
from ..core.config import PRESETS, ModelConfig, field_help, preset
from ..core.errors import CheckpointError, ConfigError
from ..core.model import AutoEncoder, byte_metrics
from ..core.optim import adamw, lr_scale
from ..core.sources import BlockSampler, random_codepoints
from .config import TrainConfig
from .losses import distance_loss, separation_loss, spread_loss


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


@dataclasses.dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup_distributed(device: str | None) -> tuple[Dist, torch.device]:
    """Join the process group when started by torchrun (WORLD_SIZE > 1); pick the device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    info = Dist(int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0")))
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if dev.type == "cuda":
        dev = torch.device("cuda", info.local_rank if dev.index is None else dev.index)
        torch.cuda.set_device(dev)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
    return info, dev


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


class _Stop:
    """Set by SIGINT/SIGTERM: the loop saves a checkpoint at the end of the step and exits."""

    def __init__(self) -> None:
        self.signal: int | None = None

    def __call__(self, signum: int, frame: Any) -> None:
        self.signal = signum


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
    still runs over ``cfg.steps``; continue with ``resume=True``).
    """
    out = Path(out_dir)
    ranks, dev = setup_distributed(device)
    if dev.type == "cpu":
        # A trained model's activations and gradients underflow into denormal floats, which the CPU handles
        # 3x slower (benchmarks/train_step_bench.py): flush them to zero
        torch.set_flush_denormal(True)
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
    with _Progress(cfg, out, ranks, start, progress) as report:
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
            report.step(step + 1, loss, logits, batch.x, model, dev)
            stopping = _agree_stop(report.stop, ranks, dev)
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


class _Progress:
    """Rank 0's progress bar, periodic evaluation (``log.jsonl``) and the stop signals, around the loop."""

    def __init__(self, cfg: TrainConfig, out: Path, ranks: Dist, start: int, progress: bool) -> None:
        self.cfg, self.out, self.ranks = cfg, out, ranks
        self.evaluator = Evaluator(cfg) if ranks.main else None
        self.stop = _Stop()
        self.bar = tqdm(
            total=cfg.steps, initial=start, disable=not (progress and ranks.main), unit="step", dynamic_ncols=True
        )
        self.result: dict[str, dict[str, float]] = {}
        self.t0 = time.time()

    def __enter__(self) -> _Progress:
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
            record = {"step": done, "loss": loss.item(), "lr": lr_at(done - 1, cfg), "seconds": time.time() - self.t0}
            self.log.write(json.dumps({**record, "eval": self.result}) + "\n")
            self.log.flush()
            self.bar.write(_summary(done, self.result))

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


def _initialise(model: AutoEncoder, init: str) -> None:
    """Copy the weights of model ``init`` (shipped name or directory) into ``model``, whose config must match."""
    source = checkpoint.load_model(init)
    if source.cfg != model.cfg:
        raise ConfigError(
            f"--init {init}: its config {source.cfg.to_dict()} differs from the run's {model.cfg.to_dict()}"
        )
    model.load_state_dict(source.state_dict())


def _summary(step: int, result: dict[str, dict[str, float]]) -> str:
    parts = [f"{name}: char {m['char_accuracy']:.5f} block {m['block_accuracy']:.4f}" for name, m in result.items()]
    return f"step {step}: " + " | ".join(parts)


def _agree_stop(stop: _Stop, ranks: Dist, dev: torch.device) -> bool:
    """True on every rank when any rank got a stop signal."""
    if ranks.world == 1:
        return stop.signal is not None
    flag = torch.tensor([0 if stop.signal is None else stop.signal], device=dev)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    if stop.signal is None and flag.item():
        stop.signal = int(flag.item())
    return bool(flag.item())


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


# -- command line: every option is a field of TrainConfig or ModelConfig, declared once -------------------------

FLAG_NAMES = {"texts": "--text"}  # a field whose flag is not its name
RUN_FLAGS = ("out", "resume", "device", "threads", "no_progress")


def _flag(name: str) -> str:
    return FLAG_NAMES.get(name, "--" + name.replace("_", "-"))


def _add_field(p: argparse.ArgumentParser | argparse._ArgumentGroup, f: dataclasses.Field, help: str) -> None:
    """One flag for a dataclass field, typed from its annotation; default None (the config's default applies)."""
    kind = str(f.type)
    kwargs: dict[str, Any] = {"default": None, "help": help, "dest": f.name}
    if kind == "bool":
        kwargs["action"] = argparse.BooleanOptionalAction
    elif kind == "tuple[int, ...]":
        kwargs.update(type=_int_list, metavar="G,G")
    elif kind.startswith("tuple["):
        kwargs.update(nargs="*", action="extend", metavar=f.name.rstrip("s").upper())  # a repeated flag adds
    else:
        kwargs["type"] = {"int": int, "float": float}.get(kind.split(" |")[0], str)
    p.add_argument(_flag(f.name), **kwargs)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--recipe", metavar="FILE", help="run a recipe (recipes/*.toml): its stages, in order, into --out")
    p.add_argument("--preset", choices=sorted(PRESETS), help="model configuration (default: 4x16, the shipped default)")
    shape = p.add_argument_group("model (override the preset's, or --init's, configuration)")
    helps = field_help(ModelConfig)
    for f in dataclasses.fields(ModelConfig):
        _add_field(shape, f, helps.get(f.name, ""))
    run = p.add_argument_group("training (docs/training.md)")
    helps = field_help(TrainConfig)
    for f in dataclasses.fields(TrainConfig):
        if f.name != "model":
            default = f.default if f.default is not dataclasses.MISSING else None
            _add_field(run, f, f"{helps.get(f.name, '')} (default: {default})".strip())
    p.add_argument("--out", default=None, help="run directory (checkpoints, log, final model; default runs/tokun)")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --out")
    p.add_argument("--device", help="cpu, cuda, cuda:1... (default: cuda when available)")
    p.add_argument("--threads", type=int, help="CPU threads (default: torch's)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _int_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.replace("x", ",").split(",") if x)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers like 4,16, got {text!r}") from None


def given_options(args: argparse.Namespace) -> dict[str, Any]:
    """The model and training options set on the command line: ``{field: value}``."""
    names = [f.name for f in dataclasses.fields(ModelConfig)] + [
        f.name for f in dataclasses.fields(TrainConfig) if f.name != "model"
    ]
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    given = given_options(args)
    shape = {f.name for f in dataclasses.fields(ModelConfig)}
    if args.init and args.preset:
        raise ConfigError("--init takes the model's own configuration: drop --preset")
    base = checkpoint.read_config(checkpoint.resolve(args.init)) if args.init else preset(args.preset or "4x16")
    model = dataclasses.replace(base, **{k: v for k, v in given.items() if k in shape})
    return TrainConfig(
        model=model, **{k: tuple(v) if isinstance(v, list) else v for k, v in given.items() if k not in shape}
    )


def run(args: argparse.Namespace) -> int:
    """``tokun train`` from flags (``--recipe`` is :func:`tokun.training.recipe.run_args`)."""
    cfg = config_from_args(args)
    out = args.out or "runs/tokun"
    result = train(cfg, out, resume=args.resume, device=args.device, progress=not args.no_progress)
    if result:
        print(json.dumps({"out": str(Path(out) / "model"), "eval": result}, indent=2))
    if dist.is_initialized():
        dist.destroy_process_group()
    return 0
