"""Training: ``train(config, out_dir)``, and ``run(args)`` for ``tokun train``.

Runs unchanged on one process or under ``torchrun --nproc_per_node=K -m tokun train ...``
(DDP: gloo on CPU, nccl on GPU). Each rank draws its own data (seeded by seed, rank, step);
the batch size is per rank. Only rank 0 shows progress, evaluates and writes files.

Files of a run directory:

    checkpoints/step-00001000/   model + optimizer state (atomic, last ``keep_checkpoints`` kept)
    model/                       the final model (config.json + model.safetensors)
    log.jsonl                    one JSON line per evaluation
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
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
from ..core.config import PRESETS, preset
from ..core.distances import edit_distances
from ..core.errors import CheckpointError, ConfigError
from ..core.model import AutoEncoder, byte_metrics, latent_sigma, participation_ratio
from ..core.sources import BlockSampler, random_codepoints
from .config import TrainConfig


def noise_at(step: int, cfg: TrainConfig) -> float:
    """Latent noise k at ``step``: rises linearly over ``noise_ramp`` steps, then ``latent_noise``."""
    if cfg.noise_ramp <= 0:
        return cfg.latent_noise
    return cfg.latent_noise * min(1.0, step / cfg.noise_ramp)


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up to ``lr``, then cosine decay to ``lr * min_lr_ratio`` at ``steps``."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * cosine)


def distance_loss(latents: torch.Tensor, chars: np.ndarray, target: float = 1.0) -> torch.Tensor:
    """How far, over every pair of rows, the Pearson correlation between the L2 distance of ``(n, L)``
    latents and the edit distance of their ``(n, C)`` characters falls short of ``target``:
    ``max(0, target - r)``. With ``target`` 1 that is ``1 - r``, 0 when latent distances follow edit
    distances linearly; below 1 it is a hinge that stops pulling once the batch reaches ``target``."""
    n = latents.shape[0]
    if n < 3:
        return latents.sum() * 0.0
    pi, pj = np.triu_indices(n, 1)  # (P,) each: every pair once
    i, j = torch.from_numpy(pi).to(latents.device), torch.from_numpy(pj).to(latents.device)
    l2 = ((latents[i] - latents[j]).pow(2).sum(-1) + 1e-8).sqrt()  # (P,); eps: finite gradient at 0
    edit = torch.from_numpy(edit_distances(chars[pi], chars[pj])).to(l2)  # (P,)
    l2, edit = l2 - l2.mean(), edit - edit.mean()
    r = (l2 * edit).sum() / (l2.norm() * edit.norm() + 1e-8)
    return (target - r).clamp(min=0)


def spread_loss(latents: torch.Tensor) -> torch.Tensor:
    """How unevenly ``(n, L)`` latents spread their variance over directions: ``1 - PR / min(n - 1, L)``,
    where PR = tr(C)^2 / tr(C^2) is the participation ratio of their covariance C (the number of
    directions it effectively uses). 0 when every direction the batch can span carries the same variance,
    which is how a Gaussian channel carries the most under isotropic noise."""
    n, dim = latents.shape
    if n < 3:
        return latents.sum() * 0.0
    return 1 - participation_ratio(latents) / min(n - 1, dim)


def separation_loss(
    model: AutoEncoder, levels: list[torch.Tensor], chars: np.ndarray, slot: int, margin: float, *, most: int = 1024
) -> torch.Tensor:
    """How far a batch's distinct characters fall short of ``margin`` latent spreads from each other as codewords.

    ``levels``: the encoder's levels of ``(n, ...)`` rows (the last: their ``(n, L)`` latents, whose spread is
    sigma); ``chars``: their ``(n, C)`` codepoints. Two characters in slot ``slot`` of the linear last tokenize
    block make codewords ``||C W_s (x_a - x_b)||`` apart (x: the slot vector after the block's LayerNorm; C: the
    centring). Over up to ``most`` distinct characters, the sum over pairs of ``max(0, margin - d / sigma)^2``,
    per character."""
    last = model.encoder.blocks[-1]
    below, latents = levels[-2], levels[-1]  # (n, G, D), (n, L)
    n, groups, width = below.shape
    keys = chars.reshape(n * groups, -1)  # (n*G, C/G): the characters of each slot
    _, first = np.unique(keys, axis=0, return_index=True)  # one row per distinct slot content
    if len(first) < 2:
        return latents.sum() * 0.0
    pick = torch.from_numpy(np.random.default_rng(slot + len(keys)).permutation(first)[:most]).to(below.device)
    x = last.norm(below.reshape(-1, width)[pick])  # (m, D)
    codes = x @ model.encoder.slot_weights()[:, slot].T  # (m, L): each character's term in the latent, up to a constant
    d = torch.cdist(codes, codes) / latent_sigma(latents)  # (m, m) in latent spreads
    short = (margin - d).clamp(min=0).pow(2)
    short = short - torch.diag(short.diagonal())  # a character and itself
    return short.sum() / len(pick)


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
            cps = random_codepoints(spec, rows * c, seed=cfg.seed + 1_000_003)
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
    torch.manual_seed(cfg.seed)  # same initial weights on every rank
    model = AutoEncoder(cfg.model)
    if cfg.init:
        _initialise(model, cfg.init)
    model = model.to(dev)
    if cfg.freeze_encoder:
        model.encoder.requires_grad_(False)
    trained = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    decay = [p for n, p in trained if p.ndim >= 2 and "position" not in n]
    no_decay = [p for n, p in trained if not (p.ndim >= 2 and "position" not in n)]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr,
        betas=(0.9, 0.99),
    )
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
    level_loss = cfg.level_loss or 0.0  # resolved by TrainConfig: never None here
    noisy = None  # indices of the sources whose rows get latent noise (None: every row)
    if cfg.noise_on:
        noisy = np.array([i for i, name in enumerate(sampler.sources()) if name in cfg.noise_on])
    evaluator = Evaluator(cfg) if ranks.main else None
    stop = _Stop()
    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    bar = tqdm(total=cfg.steps, initial=start, disable=not (progress and ranks.main), unit="step", dynamic_ncols=True)
    log = open(out / "log.jsonl", "a", encoding="utf-8") if ranks.main else None
    t0, step, result = time.time(), start, {}
    try:
        model.train()
        end = cfg.steps if stop_at is None else min(stop_at, cfg.steps)
        for step in range(start, end):
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, cfg)
            cps, source = sampler.sourced(step, cfg.batch_size)
            x = torch.from_numpy(codepoints_to_bytes(cps)).to(dev, non_blocking=True)  # (B, T)
            noise_rows = None
            if noisy is not None:
                noise_rows = torch.from_numpy(np.isin(source, noisy)).to(dev)  # (B,)
            target = x.reshape(-1).long()  # (B*T,)
            outputs = net(
                x,
                noise=noise_at(step, cfg),
                noise_rows=noise_rows,
                dropout=cfg.latent_dropout,
                shortcuts=level_loss > 0,
                details=True,
            )
            logits = outputs.logits  # (B, T, 256)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target)
            for level_logits in outputs.below:  # (B, T, 256) per intermediate level
                loss = loss + level_loss * F.cross_entropy(level_logits.reshape(-1, 256), target)
            if cfg.distance_loss > 0:
                z, chars = outputs.latents, cps  # (B, L), (B, C)
                if noise_rows is not None:
                    z, chars = z[noise_rows], cps[noise_rows.cpu().numpy()]
                loss = loss + cfg.distance_loss * distance_loss(z, chars, cfg.distance_target)
            if cfg.spread_loss > 0:
                z = outputs.latents if noise_rows is None else outputs.latents[noise_rows]  # (n, L)
                loss = loss + cfg.spread_loss * spread_loss(z)
            if cfg.separation_loss > 0:
                rows = slice(None) if noise_rows is None else noise_rows
                kept = cps if noise_rows is None else cps[noise_rows.cpu().numpy()]
                levels = [level[rows] for level in outputs.levels]
                slot = step % cfg.model.token_dim[-1]
                loss = loss + cfg.separation_loss * separation_loss(model, levels, kept, slot, cfg.separation_margin)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            done = step + 1
            if ranks.main and (done % 10 == 0 or done == cfg.steps):
                m = byte_metrics(logits.detach(), x)
                bar.set_postfix(
                    loss=f"{loss.item():.4f}",
                    byte=f"{m['byte_accuracy']:.4f}",
                    char=f"{m['char_accuracy']:.4f}",
                    block=f"{m['block_accuracy']:.3f}",
                )
            bar.update(1)
            if ranks.main and (done % cfg.eval_every == 0 or done == cfg.steps):
                assert evaluator is not None and log is not None
                result = evaluator(model, dev)
                record = {
                    "step": done,
                    "loss": loss.item(),
                    "lr": lr_at(step, cfg),
                    "seconds": time.time() - t0,
                    "eval": result,
                }
                log.write(json.dumps(record) + "\n")
                log.flush()
                bar.write(_summary(done, result))
            stopping = _agree_stop(stop, ranks, dev)
            if done % cfg.save_every == 0 or done in (cfg.steps, end) or stopping:
                if ranks.main:
                    _save(ckpt_dir, model, optimizer, cfg, done)
                if ranks.world > 1:
                    dist.barrier()
            if stopping:
                if ranks.main:
                    bar.write(
                        f"tokun: stopped by signal {stop.signal} after step {done}; resume with --resume",
                        file=sys.stderr,
                    )
                raise SystemExit(128 + (stop.signal or 0))
        if end < cfg.steps:
            return {}
        if ranks.main and (start < cfg.steps or not (out / "model").exists()):
            checkpoint.save_model(model, out / "model", metadata={"steps": str(cfg.steps), "seed": str(cfg.seed)})
        if ranks.main and not result and evaluator is not None:
            result = evaluator(model, dev)
        return result
    finally:
        bar.close()
        if log is not None:
            log.close()
        for s, handler in previous.items():
            signal.signal(s, handler)


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
        if ranks.main:
            print(f"tokun: resuming from {path} (step {record['step']})", file=sys.stderr)
        return int(record["step"])
    raise CheckpointError(f"--resume: every checkpoint in {ckpt_dir} is corrupted")


# -- command line -------------------------------------------------------------------------------


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = TrainConfig()
    p.add_argument("--preset", default="4x16", choices=sorted(PRESETS), help="model configuration (default: 4x16)")
    p.add_argument("--token-dim", type=_int_list, help="override the preset's hierarchy, e.g. 4,4,4")
    p.add_argument("--embed-dim", type=int, help="byte embedding width")
    p.add_argument("--hidden-dim", type=int, help="width between tokenize blocks")
    p.add_argument("--latent-dim", type=int, help="latent width")
    p.add_argument(
        "--attention", action=argparse.BooleanOptionalAction, default=None, help="self-attention among slots"
    )
    p.add_argument("--layer-norm", action=argparse.BooleanOptionalAction, default=None, help="LayerNorm in blocks")
    p.add_argument("--activation", choices=["relu", "silu", "gelu", "tanh"])
    p.add_argument(
        "--latent-activation",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="apply the activation to the latent too (default: linear latent)",
    )
    p.add_argument(
        "--center-latent",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="zero-sum latents and a decoder blind to a shift common to every dimension",
    )
    p.add_argument(
        "--decoder-mlp",
        type=int,
        help="width of a residual MLP on the whole latent at the decoder's input, to correct noisy latents "
        "jointly (default 0: none)",
    )
    p.add_argument(
        "--random",
        nargs="*",
        default=list(d.random),
        metavar="SPEC",
        help="random codepoint specs: planes0-3 (default), plane0..plane16, assigned, all, START-STOP",
    )
    p.add_argument("--text", nargs="*", default=[], metavar="PATH", help="UTF-8 files or folders of *.txt to mix in")
    p.add_argument("--text-ratio", type=float, default=d.text_ratio, help="share of blocks from --text")
    p.add_argument("--pad-ratio", type=float, default=d.pad_ratio, help="share of blocks padded with U+0000")
    p.add_argument(
        "--latent-noise",
        type=float,
        default=d.latent_noise,
        help="train with Gaussian noise of this many sigmas on the latents (default 0)",
    )
    p.add_argument(
        "--latent-dropout",
        type=float,
        default=d.latent_dropout,
        help="zero each latent dimension with this probability during training (default 0)",
    )
    p.add_argument(
        "--distance-loss",
        type=float,
        default=d.distance_loss,
        help="weight of a term that makes latent distances follow edit distances (default 0)",
    )
    p.add_argument(
        "--distance-target",
        type=float,
        default=d.distance_target,
        help="the distance term stops pulling once a batch's correlation reaches this (default 1: always pulls)",
    )
    p.add_argument(
        "--spread-loss",
        type=float,
        default=d.spread_loss,
        help="weight of a term that spreads the latents' variance evenly over directions (default 0)",
    )
    p.add_argument(
        "--separation-loss",
        type=float,
        default=d.separation_loss,
        help="weight of a term that keeps a batch's characters at least --separation-margin latent spreads apart "
        "as codewords (default 0)",
    )
    p.add_argument(
        "--separation-margin",
        type=float,
        default=d.separation_margin,
        help="that distance, in latent spreads (default %(default)s)",
    )
    p.add_argument(
        "--noise-on",
        nargs="*",
        default=[],
        metavar="SOURCE",
        help="only rows from these sources get the noise, dropout and distance term (spec names like local, or text; "
        "default: all rows)",
    )
    p.add_argument("--noise-ramp", type=int, default=d.noise_ramp, help="steps for the noise to rise from 0")
    p.add_argument(
        "--level-loss",
        type=float,
        default=None,
        help="weight of the per-level shortcut losses that get deep hierarchies (4x4x4) off their plateau "
        "(default: 0.3 for three levels or more, else 0)",
    )
    p.add_argument(
        "--init",
        metavar="MODEL",
        help="fine-tune: start from this model's weights (shipped name or directory; its config is the run's)",
    )
    p.add_argument(
        "--freeze-encoder",
        action="store_true",
        help="train the decoder alone (with --init: a decoder for a code that is already fixed)",
    )
    p.add_argument("--steps", type=int, default=d.steps)
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="blocks per step per rank")
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--min-lr-ratio", type=float, default=d.min_lr_ratio)
    p.add_argument("--warmup-steps", type=int, default=d.warmup_steps)
    p.add_argument("--weight-decay", type=float, default=d.weight_decay)
    p.add_argument("--grad-clip", type=float, default=d.grad_clip)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--eval-every", type=int, default=d.eval_every)
    p.add_argument("--eval-samples", type=int, default=d.eval_samples, help="characters per evaluation set")
    p.add_argument("--save-every", type=int, default=d.save_every)
    p.add_argument("--keep-checkpoints", type=int, default=d.keep_checkpoints)
    p.add_argument("--out", default="runs/tokun", help="run directory (checkpoints, log, final model)")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --out")
    p.add_argument("--device", help="cpu, cuda, cuda:1... (default: cuda when available)")
    p.add_argument("--threads", type=int, help="CPU threads (default: torch's)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _int_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.replace("x", ",").split(",") if x)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers like 4,16, got {text!r}") from None


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    overrides = {
        k: v
        for k, v in {
            "token_dim": args.token_dim,
            "embed_dim": args.embed_dim,
            "hidden_dim": args.hidden_dim,
            "latent_dim": args.latent_dim,
            "attention": args.attention,
            "layer_norm": args.layer_norm,
            "activation": args.activation,
            "latent_activation": args.latent_activation,
            "center_latent": args.center_latent,
            "decoder_mlp": args.decoder_mlp,
        }.items()
        if v is not None
    }
    base = checkpoint.read_config(checkpoint.resolve(args.init)) if args.init else preset(args.preset)
    model = dataclasses.replace(base, **overrides)
    return TrainConfig(
        model=model,
        random=tuple(args.random),
        texts=tuple(args.text),
        text_ratio=args.text_ratio,
        pad_ratio=args.pad_ratio,
        latent_noise=args.latent_noise,
        latent_dropout=args.latent_dropout,
        distance_loss=args.distance_loss,
        distance_target=args.distance_target,
        spread_loss=args.spread_loss,
        separation_loss=args.separation_loss,
        separation_margin=args.separation_margin,
        noise_on=tuple(args.noise_on),
        noise_ramp=args.noise_ramp,
        level_loss=args.level_loss,
        init=args.init,
        freeze_encoder=args.freeze_encoder,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        min_lr_ratio=args.min_lr_ratio,
        warmup_steps=args.warmup_steps,
        weight_decay=args.weight_decay,
        grad_clip=args.grad_clip,
        seed=args.seed,
        eval_every=args.eval_every,
        eval_samples=args.eval_samples,
        save_every=args.save_every,
        keep_checkpoints=args.keep_checkpoints,
    )


def run(args: argparse.Namespace) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = config_from_args(args)
    result = train(cfg, args.out, resume=args.resume, device=args.device, progress=not args.no_progress)
    if result:
        print(json.dumps({"out": str(Path(args.out) / "model"), "eval": result}, indent=2))
    if dist.is_initialized():
        dist.destroy_process_group()
    return 0
