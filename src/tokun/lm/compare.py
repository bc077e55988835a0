"""``tokun lm compare`` and ``tokun lm generate``: the same transformer over tokun latents, bytes and BPE.

On a GPU: ``tokun lm compare --device cuda --preset gpu --minutes 10`` (a wider, deeper body and
4x longer contexts; batch 64).

Data: every ``*.txt`` of the corpora folder, split by line (every 10th line to validation). Each
model trains for the same wall-clock budget with AdamW (warm-up, cosine decay over the budget) on
random windows of the training text, then is scored on the validation text in bits per UTF-8
byte, overall and per file (language). The trained models are saved under ``--out`` as
safetensors + JSON.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from ..core import codec
from ..core.checkpoint import load_model, read_config, resolve
from ..core.config import ModelConfig
from ..core.errors import InputError, ModelError
from ..core.splits import split_lines
from ..core.textio import read_text, text_files
from .model import LMConfig, TokenLM, TokunLM, bits, vocabulary_and_body_parameters

PRESETS = {
    "cpu": LMConfig(),  # 4 layers x 256, contexts 64 tokun / 256 bytes / 128 BPE positions
    "gpu": LMConfig(dim=512, layers=8, heads=8, ffn=1376, context=256),  # contexts x4
}


def split_corpus(paths: list[str]) -> tuple[str, dict[str, str]]:
    """Training text (all files) and validation text per file, split by line."""
    train, val = [], {}
    for path in text_files(paths):
        train_text, val[path.stem] = split_lines(read_text(path))
        train.append(train_text)
    return "\n".join(train), val


def macs_per_block(cfg: ModelConfig) -> tuple[int, int]:
    """Multiply-adds of the tokun encoder and decoder per latent (Linear layers only)."""
    widths = cfg.block_widths()
    enc = dec = 0
    applications = cfg.block_bytes
    for i, g in enumerate(cfg.token_dim):
        applications //= g
        enc += applications * g * widths[i] * widths[i + 1]
        dec += applications * widths[i + 1] * g * widths[i]
    dec += cfg.block_bytes * cfg.embed_dim * 256  # head
    dec += 2 * cfg.latent_dim * cfg.decoder_mlp  # the decoder's latent MLP
    return enc, dec


class Units:
    """One model's view of text: how it is cut into positions, and how a training window is drawn."""

    def __init__(self, kind: str, train: str, *, bpe_vocab: int = 4096) -> None:
        self.kind = kind
        self.bpe = None
        if kind == "bpe":
            from tokenizers import ByteLevelBPETokenizer

            self.bpe = ByteLevelBPETokenizer()
            self.bpe.train_from_iterator(train.splitlines(), vocab_size=bpe_vocab, min_frequency=2, show_progress=False)
        self.train_ids = self.ids(train) if kind != "tokun" else None
        self.train_cps = codec.to_codepoints(train) if kind == "tokun" else None
        # characters of text per sequence position, for throughput in characters per second
        self.chars_per_position = 16.0 if self.train_ids is None else len(train) / len(self.train_ids)

    @property
    def vocab(self) -> int:
        return self.bpe.get_vocab_size() if self.bpe is not None else 256

    def ids(self, text: str) -> np.ndarray:
        if self.kind == "bytes":
            return np.frombuffer(text.encode("utf-8"), dtype=np.uint8).astype(np.int64)
        assert self.bpe is not None
        return np.array(self.bpe.encode(text).ids, dtype=np.int64)

    def positions(self, text: str) -> int:
        """Sequence positions this model needs for ``text``."""
        return -(-len(text) // 16) if self.kind == "tokun" else len(self.ids(text))

    def batch(self, rng: np.random.Generator, batch: int, context: int) -> torch.Tensor:
        """Random training windows of ``context + 1`` positions (cut at any character for tokun)."""
        if self.kind == "tokun":
            assert self.train_cps is not None
            n = 16 * (context + 1)
            starts = rng.integers(0, len(self.train_cps) - n, size=batch)
            cps = self.train_cps[starts[:, None] + np.arange(n)]  # (B, n)
            return torch.from_numpy(codec.codepoints_to_bytes(cps.reshape(batch, context + 1, 16)))  # (B, T+1, 64)
        assert self.train_ids is not None
        starts = rng.integers(0, len(self.train_ids) - context - 1, size=batch)
        return torch.from_numpy(self.train_ids[starts[:, None] + np.arange(context + 1)])  # (B, T+1)

    def windows(self, text: str, context: int) -> list[tuple[torch.Tensor, int]]:
        """Non-overlapping evaluation windows and the UTF-8 bytes of the part each predicts."""
        out = []
        if self.kind == "tokun":
            rows = codec.encode(text)  # (N, 64)
            for s in range(0, len(rows), context + 1):
                w = rows[s : s + context + 1]
                if len(w) < 2:
                    continue
                predicted = text[(s + 1) * 16 : (s + len(w)) * 16]
                out.append((torch.from_numpy(w)[None], len(predicted.encode("utf-8"))))
            return out
        ids = self.ids(text)
        for s in range(0, len(ids), context + 1):
            w = ids[s : s + context + 1]
            if len(w) < 2:
                continue
            nbytes = len(w) - 1 if self.kind == "bytes" else len(self.bpe.decode(w[1:].tolist()).encode("utf-8"))  # type: ignore[union-attr]
            out.append((torch.from_numpy(w)[None], nbytes))
        return out


BLOCK_CHARS = 16  # the comparison's tokun units are 16-character blocks


def check_tokun_model(name: str) -> None:
    """Refuse, before any training, a model whose blocks are not the comparison's 16 characters."""
    try:
        cfg = read_config(resolve(name))
    except ModelError as err:
        raise InputError(f"lm compare --model: {err}") from None
    if cfg.block_chars != BLOCK_CHARS:
        raise InputError(
            f"lm compare --model {name}: its blocks hold {cfg.block_chars} characters; the comparison's models read "
            f"{BLOCK_CHARS}-character blocks (4x16, 4x16-exact)"
        )


def build(kind: str, units: Units, cfg: LMConfig, tokun_model: str) -> torch.nn.Module:
    if kind == "tokun":
        auto = load_model(tokun_model)
        return TokunLM(auto, cfg, latent_scale=_latent_scale(auto, units))
    return TokenLM(units.vocab, cfg)


def _latent_scale(auto, units: Units) -> float:
    """Std of the tokun latents over a sample of the training text (the output projection's target scale)."""
    assert units.train_cps is not None
    sample = codec.codepoints_to_bytes(codec.pad_codepoints(units.train_cps[:200_000], 16))
    with torch.no_grad():
        return float(auto.encoder(torch.from_numpy(sample)).std())


def evaluate_bpb(model: torch.nn.Module, units: Units, texts: dict[str, str], context: int) -> dict[str, Any]:
    device = next(model.parameters()).device
    model.eval()
    per, total_bits, total_bytes = {}, 0.0, 0
    with torch.inference_mode():
        for name, text in texts.items():
            nll, nbytes = 0.0, 0
            for window, count in units.windows(text, context):
                loss, _ = model.loss(window.to(device))
                nll += float(loss)
                nbytes += count
            if nbytes:
                per[name] = bits(nll) / nbytes
                total_bits += bits(nll)
                total_bytes += nbytes
    model.train()
    return {"bits_per_byte": total_bits / max(1, total_bytes), "per_language": per}


def train_one(
    kind: str,
    units: Units,
    cfg: LMConfig,
    *,
    seconds: float,
    batch: int,
    lr: float,
    seed: int,
    tokun_model: str,
    progress: bool,
    device: str = "cpu",
) -> tuple[torch.nn.Module, dict[str, Any]]:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = build(kind, units, cfg, tokun_model).to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.95), weight_decay=0.1)
    t0, step, chars = time.time(), 0, 0
    bar = tqdm(total=int(seconds), disable=not progress, desc=kind, unit="s", leave=False)
    while (elapsed := time.time() - t0) < seconds:
        scale = min(1.0, (step + 1) / 50) * 0.5 * (1 + math.cos(math.pi * elapsed / seconds))
        for group in opt.param_groups:
            group["lr"] = lr * max(scale, 0.02)
        x = units.batch(rng, batch, cfg.context).to(device)
        loss, count = model.loss(x)
        opt.zero_grad(set_to_none=True)
        (loss / count).backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        chars += batch * cfg.context * units.chars_per_position
        bar.n = int(elapsed)
        bar.set_postfix(loss=f"{loss.item() / count:.3f}")
    bar.close()
    seconds_used = time.time() - t0
    counts = vocabulary_and_body_parameters(model)
    positions = step * batch * cfg.context
    flops = 6 * counts["trainable"] * positions
    if kind == "tokun":
        enc, dec = macs_per_block(model.input.encoder.cfg)
        flops += positions * (2 * enc + 4 * dec)  # frozen: encoder forward, decoder forward + input gradients
    return model, {
        "steps": step,
        "seconds": seconds_used,
        "train_chars_per_s": chars / seconds_used,
        "train_flops": float(flops),
        "parameters": counts,
    }


def compare(
    corpora: list[str],
    *,
    minutes: float,
    out: Path,
    batch: int = 16,
    lr: float = 1e-3,
    seed: int = 0,
    tokun_model: str = "4x16",
    progress: bool = True,
    device: str = "cpu",
    cfg: LMConfig | None = None,
) -> dict[str, Any]:
    """Train the three models for ``minutes`` each; ``cfg`` sets the body (its context scales all three)."""
    base = cfg or LMConfig()
    check_tokun_model(tokun_model)
    train, val = split_corpus(corpora)
    if len(train) < 20_000:
        raise InputError("lm compare needs more training text (at least 20,000 characters)")
    out.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "minutes_per_model": minutes,
        "train_chars": len(train),
        "val_chars": sum(len(v) for v in val.values()),
        "models": {},
    }
    contexts = {"tokun": 64, "bytes": 256, "bpe": 128}
    val_all = "\n".join(val.values())
    for kind in ("tokun", "bytes", "bpe"):
        units = Units(kind, train)
        cfg_kind = replace(base, context=contexts[kind] * base.context // 64)
        model, info = train_one(
            kind,
            units,
            cfg_kind,
            seconds=60 * minutes,
            batch=batch,
            lr=lr,
            seed=seed,
            tokun_model=tokun_model,
            progress=progress,
            device=device,
        )
        info.update(evaluate_bpb(model, units, val, cfg_kind.context))
        info["positions_per_1000_chars"] = 1000 * units.positions(val_all) / len(val_all)
        info["context_positions"] = cfg_kind.context
        result["models"][kind] = info
        _save(model.cpu(), kind, cfg_kind, units, tokun_model, out / kind)
    try:
        from ..core.reference import cl100k

        result["cl100k_positions_per_1000_chars"] = (
            1000 * len(cl100k().encode(val_all, disallowed_special=())) / len(val_all)
        )
    except Exception:  # the reference is optional
        result["cl100k_positions_per_1000_chars"] = None
    (out / "compare.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def _save(model: torch.nn.Module, kind: str, cfg: LMConfig, units: Units, tokun_model: str, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / "model.safetensors"))
    meta = {"kind": kind, "lm": asdict(cfg), "tokun_model": tokun_model}
    if kind == "tokun":
        meta["latent_scale"] = model.output.latent_scale  # type: ignore[union-attr]
    if units.bpe is not None:
        units.bpe.save(str(folder / "bpe.json"))
    (folder / "config.json").write_text(json.dumps(meta, indent=2) + "\n")


def generate(prompt: str, *, folder: Path, blocks: int = 8) -> str:
    """Continue ``prompt`` with the tokun LM saved in ``folder``: ``blocks`` x 16 characters, greedy."""
    try:
        meta = json.loads((folder / "config.json").read_text())
    except FileNotFoundError:
        raise ModelError(f"{folder} holds no trained language model: run `tokun lm compare` first") from None
    if meta.get("kind") != "tokun":
        raise ModelError(f"{folder} is a {meta.get('kind')} model; generate uses the tokun one")
    auto = load_model(meta["tokun_model"])
    model = TokunLM(auto, LMConfig(**meta["lm"]), latent_scale=meta["latent_scale"])
    model.load_state_dict(load_file(str(folder / "model.safetensors")))
    model.eval()
    pad = (-len(prompt)) % 16
    text = " " * pad + prompt  # whole blocks: pad the prompt on the left with spaces
    rows = torch.from_numpy(codec.encode(text))[None]  # (1, N, 64)
    out = []
    with torch.inference_mode():
        for _ in range(blocks):
            logits = model(rows[:, -model.cfg.context :])[:, -1]  # (1, 64, 256)
            nxt = logits.argmax(-1).to(torch.uint8)  # (1, 64)
            out.append(codec.decode(nxt.numpy(), length=16))
            rows = torch.cat([rows, nxt[:, None]], dim=1)
    return prompt + "".join(out)
