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

from ..core import codec, shards
from ..core.checkpoint import load_model, read_config, resolve
from ..core.errors import InputError, ModelError
from ..core.splits import split_lines
from ..core.textio import read_text, text_files
from ..decoding.shard_texts import shard_texts
from .flops import Mode, Part, macs_per_block, model_train_flops
from .local import LocalConfig, draw
from .model import KVCache, LMConfig, TokenLM, TokunLM, bits, vocabulary_and_body_parameters
from .names import BEST_OF, MODELS
from .patch_model import BLOCK_CHARS, LearnedPatchEmbedding, Patched, PatchLM, TokunPatchEmbedding, patches_of

PRESETS = {  # names.PRESET_NAMES
    "cpu": LMConfig(),  # 4 layers x 256; contexts: CONTEXTS
    "gpu": LMConfig(dim=512, layers=8, heads=8, ffn=1376, context=256),  # contexts x4
}


def split_corpus(paths: list[str]) -> tuple[str, dict[str, str]]:
    """Training text (all files) and validation text per file, split by line. A folder of shards
    (``tokun encode-dataset``) counts as one file: its documents, decoded, one per line."""
    train, val = [], {}
    files = [f for p in paths for f in ([Path(p)] if shards.is_shard_folder(p) else text_files([p]))]
    for path in files:
        text = shard_documents(path) if path.is_dir() else read_text(path)
        train_text, val[path.stem] = split_lines(text)
        train.append(train_text)
    return "\n".join(train), val


def shard_documents(folder: Path) -> str:
    """The documents of a shard folder, decoded exactly by the model that made them (its weights checked against
    the manifest), joined by newlines."""
    return "\n".join(text for _, texts in shard_texts(folder) for text in texts)


PATCH_MODELS = {  # name -> patching; every patch is read by the same 16-character tokun encoder, padded with U+0000
    "tokun-words": "words",
    "tokun-words8": "words-8",  # word patches of at most 8 characters: long runs of unspaced scripts cut shorter
    "tokun-words8-tuned": "words-8",  # the same, its tokun encoder fine-tuned end to end instead of frozen
    "tokun-16": "fixed-16",
    "tokun-8": "fixed-8",
    "tokun-4": "fixed-4",
    "patch-learned": "words-8",  # the ablation: the patches of the best tokun scheme
}
TUNED = ("tokun-words8-tuned",)  # patch models whose tokun encoder trains with the language model
# Positions per window (cpu preset; the gpu preset x4). The byte, BPE and patch models' windows span about the same
# text: 256 bytes ~ 147 characters, 128 BPE tokens ~ 189, 32 word patches of <= 8 characters ~ 164 (on the corpora).
# tokun-direct keeps its 64 blocks of 16 characters (the design before).
CONTEXTS = {"tokun-direct": 64, "bytes": 256, "bpe": 128, "patch": 32}


class Units:
    """One model's view of text: how it is cut into positions, and how a training window is drawn.

    ``kind``: ``tokun`` (16-character blocks, today's ``tokun-direct``), ``bytes``, ``bpe``, or ``patch`` with a
    patching ``scheme`` (:mod:`tokun.lm.patch_model`)."""

    def __init__(self, kind: str, train: str, *, bpe_vocab: int = 4096, scheme: str = "words") -> None:
        self.kind = kind
        self.scheme = scheme
        self.bpe = None
        if kind == "bpe":
            from tokenizers import ByteLevelBPETokenizer

            self.bpe = ByteLevelBPETokenizer()
            self.bpe.train_from_iterator(train.splitlines(), vocab_size=bpe_vocab, min_frequency=2, show_progress=False)
        # UTF-8 bytes of each token: a byte-level BPE token is one character of its alphabet per byte (decoding a
        # window's tokens instead would turn bytes cut at its edge into U+FFFD, 3 bytes each)
        self.token_bytes = np.ones(256, dtype=np.int64)
        if self.bpe is not None:
            vocab = self.bpe.get_vocab_size()
            self.token_bytes = np.array([len(self.bpe.id_to_token(i) or "") for i in range(vocab)], dtype=np.int64)
        self.train_ids = self.ids(train) if kind in ("bytes", "bpe") else None
        self.train_cps = codec.to_codepoints(train) if kind == "tokun" else None
        self.train_patches = Patched.of(train, scheme) if kind == "patch" else None
        # characters of text per sequence position, for throughput in characters per second
        self.chars_per_position = len(train) / self.positions_of_train() if kind != "tokun" else 16.0

    def positions_of_train(self) -> int:
        return len(self.train_patches) if self.train_patches is not None else len(self.train_ids)  # type: ignore[arg-type]

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
        if self.kind == "tokun":
            return -(-len(text) // 16)
        return len(patches_of(text, self.scheme)) if self.kind == "patch" else len(self.ids(text))

    def batch(self, rng: np.random.Generator, batch: int, context: int) -> Any:
        """Random training windows of ``context + 1`` positions (cut at any character for tokun)."""
        if self.kind == "tokun":
            assert self.train_cps is not None
            n = 16 * (context + 1)
            starts = rng.integers(0, len(self.train_cps) - n, size=batch)
            cps = self.train_cps[starts[:, None] + np.arange(n)]  # (B, n)
            return torch.from_numpy(codec.codepoints_to_bytes(cps.reshape(batch, context + 1, 16)))  # (B, T+1, 64)
        if self.kind == "patch":
            data = self.train_patches
            assert data is not None
            rows = rng.integers(0, len(data) - context - 1, size=batch)[:, None] + np.arange(context + 1)  # (B, T+1)
            return torch.from_numpy(data.blocks[rows]), torch.from_numpy(data.units[rows])  # (B, T+1, 64), (B, T+1, U)
        assert self.train_ids is not None
        starts = rng.integers(0, len(self.train_ids) - context - 1, size=batch)
        return torch.from_numpy(self.train_ids[starts[:, None] + np.arange(context + 1)])  # (B, T+1)

    def windows(self, text: str, context: int) -> list[tuple[Any, int]]:
        """Non-overlapping evaluation windows and the UTF-8 bytes of the part each predicts."""
        out: list[tuple[Any, int]] = []
        if self.kind == "tokun":
            rows = codec.encode(text)  # (N, 64)
            for s in range(0, max(1, len(rows) - 1), context):  # windows overlap by one: each block scored once
                w = rows[s : s + context + 1]
                if len(w) < 2:
                    continue
                predicted = text[(s + 1) * 16 : (s + len(w)) * 16]
                out.append((torch.from_numpy(w)[None], len(predicted.encode("utf-8"))))
            return out
        if self.kind == "patch":
            data = Patched.of(text, self.scheme)
            for s in range(0, max(1, len(data) - 1), context):  # windows overlap by one: each patch scored once
                w = slice(s, s + context + 1)
                if len(data.units[w]) < 2:
                    continue
                batch = (torch.from_numpy(data.blocks[w])[None], torch.from_numpy(data.units[w])[None])
                out.append((batch, int(data.nbytes[w][1:].sum())))  # every patch but the window's first is scored
            return out
        ids = self.ids(text)
        for s in range(0, max(1, len(ids) - 1), context):  # windows overlap by one: each token scored once
            w = ids[s : s + context + 1]
            if len(w) < 2:
                continue
            out.append((torch.from_numpy(w)[None], int(self.token_bytes[w[1:]].sum())))
        return out


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


def units_for(name: str, train: str) -> Units:
    if name in PATCH_MODELS:
        return Units("patch", train, scheme=PATCH_MODELS[name])
    return Units("tokun" if name == "tokun-direct" else name, train)


def build(name: str, units: Units, cfg: LMConfig, tokun_model: str) -> torch.nn.Module:
    if name == "tokun-direct":
        auto = load_model(tokun_model)
        return TokunLM(auto, cfg, latent_scale=_latent_scale(auto, units))
    if name in PATCH_MODELS:
        if name == "patch-learned":
            embedding: torch.nn.Module = LearnedPatchEmbedding(cfg.dim)
        else:
            auto = load_model(tokun_model)
            embedding = TokunPatchEmbedding(auto, cfg.dim, latent_scale=_latent_scale(auto, units), tune=name in TUNED)
        return PatchLM(embedding, cfg, PatchLM.local_config(cfg))
    return TokenLM(units.vocab, cfg)


def _latent_scale(auto, units: Units) -> float:
    """Std of the tokun latents over a sample of the training text (the output projection's target scale)."""
    if units.train_patches is not None:
        sample = units.train_patches.blocks[:12_500]
    else:
        assert units.train_cps is not None
        sample = codec.codepoints_to_bytes(codec.pad_codepoints(units.train_cps[:200_000], 16))
    with torch.no_grad():
        return float(auto.encoder(torch.from_numpy(sample)).std())


def _to(x: Any, device: str | torch.device) -> Any:
    return tuple(t.to(device) for t in x) if isinstance(x, tuple) else x.to(device)


def evaluate_bpb(model: torch.nn.Module, units: Units, texts: dict[str, str], context: int) -> dict[str, Any]:
    device = next(model.parameters()).device
    model.eval()
    per, total_bits, total_bytes = {}, 0.0, 0
    with torch.inference_mode():
        for name, text in texts.items():
            nll, nbytes = 0.0, 0
            for window, count in units.windows(text, context):
                loss, _ = model.loss(_to(window, device))
                nll += float(loss)
                nbytes += count
            if nbytes:
                per[name] = bits(nll) / nbytes
                total_bits += bits(nll)
                total_bytes += nbytes
    model.train()
    return {"bits_per_byte": total_bits / max(1, total_bytes), "per_language": per}


def step_flops(model: torch.nn.Module, cfg: LMConfig, batch: int, runs: list[tuple[int, int]] | None = None) -> int:
    """Training FLOPs of one step (:mod:`tokun.lm.flops`): every trained, frozen and attention part counted; ``runs``
    is what a patch model's local decoder ran (:meth:`~tokun.lm.local.LocalDecoder.runs`)."""
    positions = batch * cfg.context
    if isinstance(model, PatchLM):
        return model_train_flops(model.flop_parts(positions, runs))
    body = sum(p.numel() for p in model.body.parameters() if p.ndim >= 2)  # type: ignore[union-attr]
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad and p.ndim >= 2)
    parts = [
        Part("body", body, positions, Mode.TRAINED, cfg.layers, cfg.context, cfg.dim),
        Part("vocabulary layers", trainable - body, positions, Mode.TRAINED),
    ]
    if isinstance(model, TokunLM):
        enc, dec = macs_per_block(model.input.encoder.cfg)
        parts.append(Part("tokun encoder (frozen)", enc, positions, Mode.FROZEN))
        parts.append(Part("tokun decoder (frozen, backward)", dec, positions, Mode.FROZEN_BACKWARD))
    return model_train_flops(parts)


def train_one(
    name: str,
    units: Units,
    cfg: LMConfig,
    *,
    seconds: float,
    flops: float | None = None,
    batch: int,
    lr: float,
    seed: int,
    tokun_model: str,
    progress: bool,
    device: str = "cpu",
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Train one model until ``seconds`` of wall-clock or ``flops`` training FLOPs, whichever comes first."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = build(name, units, cfg, tokun_model).to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.95), weight_decay=0.1)
    t0, step, chars, spent = time.time(), 0, 0.0, 0
    bar = tqdm(total=int(seconds or 0) or None, disable=not progress, desc=name, unit="s", leave=False)

    def progress_share() -> float:
        by_time = (time.time() - t0) / seconds if seconds else 0.0
        return max(by_time, spent / flops) if flops else by_time

    while (done := progress_share()) < 1:
        scale = min(1.0, (step + 1) / 50) * 0.5 * (1 + math.cos(math.pi * done))
        for group in opt.param_groups:
            group["lr"] = lr * max(scale, 0.02)
        x = _to(units.batch(rng, batch, cfg.context), device)
        loss, count = model.loss(x)
        opt.zero_grad(set_to_none=True)
        (loss / count).backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        chars += batch * cfg.context * units.chars_per_position
        runs = model.local.runs(x[1][:, 1:]) if isinstance(model, PatchLM) else None  # what the local decoder ran
        spent += step_flops(model, cfg, batch, runs)
        bar.n = int(time.time() - t0)
        bar.set_postfix(loss=f"{loss.item() / count:.3f}")
    bar.close()
    seconds_used = time.time() - t0
    return model, {
        "stopped_by": "flops" if flops and spent >= flops else "minutes",
        "steps": step,
        "seconds": seconds_used,
        "train_chars_per_s": chars / seconds_used,
        "train_flops": float(spent),
        "parameters": vocabulary_and_body_parameters(model),
    }


def compare(
    corpora: list[str],
    *,
    minutes: float | None,
    out: Path,
    flops: float | None = None,
    seeds: int = 1,
    models: tuple[str, ...] = ("tokun", "patch-learned", "tokun-direct", "bytes", "bpe"),
    batch: int = 16,
    lr: float | tuple[float, ...] = 1e-3,
    seed: int = 0,
    tokun_model: str = "4x16",
    progress: bool = True,
    device: str = "cpu",
    cfg: LMConfig | None = None,
) -> dict[str, Any]:
    """Train each of ``models`` for ``minutes`` and/or ``flops`` (whichever ends first), ``seeds`` times; ``cfg`` sets
    the body (its context scales every model's). ``tokun`` trains every model of ``BEST_OF`` and reports the best
    (chosen on the held-out text it reports: an optimistic pick among four).

    Several learning rates ``lr``: each model's is tuned first by a sweep, one run per rate (the first seed, the same
    budget) trained on nine tenths of the training text and scored on its other tenth (never on the held-out text);
    the best rate trains the reported runs. The JSON gives each model's ``lr`` and its ``lr_sweep``."""
    base = cfg or LMConfig()
    rates = tuple(lr) if isinstance(lr, (tuple, list)) else (lr,)
    if not rates or min(rates) <= 0:
        raise InputError(f"--lr: learning rates must be positive, got {list(rates)}")
    if not minutes and not flops:
        raise InputError("lm compare needs a budget: --minutes N, --flops F, or both (the first reached ends training)")
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise InputError(f"lm compare --models: unknown {', '.join(unknown)}; models: {', '.join(MODELS)}")
    if seeds < 1:
        raise InputError(f"--seeds must be at least 1, got {seeds}")
    check_tokun_model(tokun_model)
    train, val = split_corpus(corpora)
    if len(train) < 20_000:
        raise InputError("lm compare needs more training text (at least 20,000 characters)")
    out.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "budget": {"minutes": minutes, "flops": flops, "seeds": seeds},
        "minutes_per_model": minutes,
        "train_chars": len(train),
        "val_chars": sum(len(v) for v in val.values()),
        "models": {},
    }
    run = [m for m in MODELS if m != "tokun" and (m in models or (m in BEST_OF and "tokun" in models))]
    val_all = "\n".join(val.values())
    budget = {"seconds": 60 * (minutes or 0), "flops": flops, "batch": batch, "tokun_model": tokun_model}
    fit, tune = split_lines(train) if len(rates) > 1 else (train, "")
    for name in run:
        context = CONTEXTS["patch" if name in PATCH_MODELS else name]
        cfg_kind = replace(base, context=context * base.context // 64)
        sweep: dict[float, float] = {}
        if len(rates) > 1:
            tune_units = units_for(name, fit)
            for rate in rates:
                model, _ = train_one(
                    name, tune_units, cfg_kind, **budget, lr=rate, seed=seed, progress=progress, device=device
                )
                sweep[rate] = evaluate_bpb(model, tune_units, {"tune": tune}, cfg_kind.context)["bits_per_byte"]
        best_lr = min(sweep, key=sweep.__getitem__) if sweep else rates[0]
        units = units_for(name, train)
        runs = []
        for s in range(seeds):
            model, info = train_one(
                name, units, cfg_kind, **budget, lr=best_lr, seed=seed + s, progress=progress, device=device
            )
            info.update(evaluate_bpb(model, units, val, cfg_kind.context))
            runs.append(info)
        info = dict(runs[0])
        info["lr"] = best_lr
        info["lr_sweep"] = {f"{rate:g}": bpb for rate, bpb in sweep.items()}
        info["bits_per_byte_seeds"] = [r["bits_per_byte"] for r in runs]
        info["bits_per_byte"] = float(np.mean(info["bits_per_byte_seeds"]))
        info["per_language"] = {
            k: float(np.mean([r["per_language"][k] for r in runs])) for k in runs[0]["per_language"]
        }
        info["stopped_by"] = sorted({r["stopped_by"] for r in runs})
        for key in ("train_flops", "train_chars_per_s", "seconds", "steps"):
            info[key] = float(np.mean([r[key] for r in runs]))
        info["patch"] = PATCH_MODELS.get(name) or {"tokun-direct": "fixed-16", "bytes": "byte", "bpe": "bpe-4096"}[name]
        info["positions_per_1000_chars"] = 1000 * units.positions(val_all) / len(val_all)
        info["context_positions"] = cfg_kind.context
        result["models"][name] = info
        _save(model.cpu(), name, cfg_kind, units, tokun_model, out / name)
    if "tokun" in models:
        best = min(BEST_OF, key=lambda m: result["models"][m]["bits_per_byte"])
        result["models"]["tokun"] = {**result["models"][best], "best_of": list(BEST_OF), "model": best}
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
    if isinstance(model, TokunLM):
        meta["latent_scale"] = model.output.latent_scale
    if isinstance(model, PatchLM):
        meta["scheme"] = units.scheme
        meta["local"] = asdict(model.local.cfg)
        if isinstance(model.input, TokunPatchEmbedding):
            meta["latent_scale"] = model.input.latent_scale
    if units.bpe is not None:
        units.bpe.save(str(folder / "bpe.json"))
    (folder / "config.json").write_text(json.dumps(meta, indent=2) + "\n")


def load_lm(folder: Path) -> tuple[torch.nn.Module, dict[str, Any]]:
    """A model saved by ``lm compare`` (``folder`` = ``--out``/NAME) and its metadata."""
    try:
        meta = json.loads((folder / "config.json").read_text())
    except FileNotFoundError:
        raise ModelError(f"{folder} holds no trained language model: run `tokun lm compare` first") from None
    kind, cfg = meta.get("kind"), LMConfig(**meta["lm"])
    if kind == "tokun-direct":
        model: torch.nn.Module = TokunLM(load_model(meta["tokun_model"]), cfg, latent_scale=meta["latent_scale"])
    elif kind in PATCH_MODELS:
        if "local" not in meta or (kind != "patch-learned" and "latent_scale" not in meta):
            raise ModelError(f"{folder} was saved by an older `tokun lm compare` without what generate needs: rerun it")
        if kind == "patch-learned":
            embedding: torch.nn.Module = LearnedPatchEmbedding(cfg.dim)
        else:
            auto, scale = load_model(meta["tokun_model"]), meta["latent_scale"]
            embedding = TokunPatchEmbedding(auto, cfg.dim, latent_scale=scale, tune=kind in TUNED)
        model = PatchLM(embedding, cfg, LocalConfig(**meta["local"]))
    elif kind in ("bytes", "bpe"):
        state = load_file(str(folder / "model.safetensors"))
        model = TokenLM(state["embed.weight"].shape[0], cfg)
    else:
        raise ModelError(f"{folder} holds a {kind!r} model, which generate does not know")
    model.load_state_dict(load_file(str(folder / "model.safetensors")))
    return model.eval(), meta


def _byte_alphabet() -> dict[str, int]:
    """GPT-2's byte-level alphabet (used by ``tokenizers``' ByteLevel BPE): a printable character per byte value."""
    kept = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    symbols = {b: chr(b) for b in kept}
    for n, b in enumerate(b for b in range(256) if b not in symbols):
        symbols[b] = chr(256 + n)
    return {c: b for b, c in symbols.items()}


BYTE_OF_SYMBOL = _byte_alphabet()


class TokenText:
    """Ids <-> text for the byte and BPE models, streamed: ``piece(id)`` gives the text that id completes (a
    character cut between tokens waits for its last byte)."""

    def __init__(self, kind: str, folder: Path) -> None:
        self.bpe = None
        if kind == "bpe":
            from tokenizers import Tokenizer as HFTokenizer

            self.bpe = HFTokenizer.from_file(str(folder / "bpe.json"))
        self.pending = b""

    def ids(self, text: str) -> list[int]:
        return list(text.encode("utf-8")) if self.bpe is None else self.bpe.encode(text).ids

    def piece(self, token: int) -> str:
        if self.bpe is None:
            raw = bytes([token])
        else:  # a byte-level BPE token: one character of GPT-2's byte alphabet per byte
            raw = bytes(BYTE_OF_SYMBOL[c] for c in self.bpe.id_to_token(token) or "")
        self.pending += raw
        try:
            text, self.pending = self.pending.decode("utf-8"), b""
        except UnicodeDecodeError as err:
            if err.reason != "unexpected end of data":  # not UTF-8: shown as U+FFFD, as a decoder would
                text, self.pending = self.pending.decode("utf-8", errors="replace"), b""
            else:  # a character cut between tokens: its first bytes wait for the rest
                text, self.pending = (
                    self.pending[: err.start].decode("utf-8", errors="replace"),
                    self.pending[err.start :],
                )
        return text


def model_folder(out: Path, name: str) -> Path:
    """The folder of model ``name`` trained by ``lm compare --out OUT``; ``tokun`` is the best tokun patch model that
    the run's compare.json names."""
    if name != "tokun":
        return out / name
    try:
        return out / json.loads((out / "compare.json").read_text())["models"]["tokun"]["model"]
    except (FileNotFoundError, KeyError, json.JSONDecodeError):
        raise ModelError(
            f"{out} holds no comparison that chose a best tokun model: run `tokun lm compare --models tokun "
            f"--out {out}`, or name a model (--model tokun-words8)"
        ) from None


def generate(
    prompt: str,
    *,
    folder: Path,
    blocks: int = 8,
    chars: int | None = None,
    temperature: float = 0.8,
    top_p: float = 0.95,
    seed: int = 0,
    stream: Any = None,
) -> str:
    """Continue ``prompt`` with the model saved in ``folder``: ``blocks`` patches (16-character blocks for
    tokun-direct, greedy; tokens for the byte and BPE models), or until ``chars`` characters when given, sampled at
    ``temperature`` with nucleus ``top_p`` from a generator seeded by ``seed`` (the same seed, the same text); each
    piece is written to ``stream`` (a text file) as soon as it is decoded. The global model keeps a KV cache."""
    model, meta = load_lm(folder)
    steps = blocks if chars is None else 16 * chars  # with ``chars``: stop on length (a patch holds >= 1 character)
    out: list[str] = []
    if stream is not None:
        stream.write(prompt)

    def emit(piece: str) -> bool:
        """Write ``piece``; True once ``chars`` characters are out."""
        if chars is not None:
            piece = piece[: chars - sum(map(len, out))]
        out.append(piece)
        if stream is not None:
            stream.write(piece)
            stream.flush()
        return chars is not None and sum(map(len, out)) >= chars

    with torch.inference_mode():
        gen = torch.Generator().manual_seed(seed)
        if isinstance(model, TokenLM):
            text = TokenText(meta["kind"], folder)
            window = GlobalWindow(model, torch.tensor([text.ids(prompt) or text.ids(" ")]))  # (1, T) ids
            for _ in range(steps):
                logits = model.head(window.state)[0, -1].float()  # (V,)
                token = int(draw(logits, temperature=temperature, top_p=top_p, generator=gen))
                if emit(text.piece(token)):
                    break
                window.push(torch.tensor([[token]]))
            return prompt + "".join(out)
        if isinstance(model, TokunLM):
            pad = (-len(prompt)) % 16
            window = GlobalWindow(model, torch.from_numpy(codec.encode(" " * pad + prompt))[None])  # whole blocks
            for _ in range(steps):
                nxt = model.output(window.state)[:, -1].argmax(-1).to(torch.uint8)  # (1, 64)
                if emit(codec.decode(nxt.numpy(), length=16)):
                    break
                window.push(nxt[:, None])
            return prompt + "".join(out)
        assert isinstance(model, PatchLM)
        patches = patches_of(prompt, meta["scheme"]) or [" "]
        window = GlobalWindow(model, torch.from_numpy(Patched.of("".join(patches), meta["scheme"]).blocks)[None])
        for _ in range(steps):
            units = model.local.sample(window.state, temperature=temperature, top_p=top_p, generator=gen)[0, 0]  # (U,)
            raw = bytes(units.tolist()).split(b"\0", 1)[0]
            piece = raw.decode("utf-8", errors="replace")[:16] or " "
            if emit(piece):
                break
            block = torch.from_numpy(Patched.of(piece.replace("\0", " "), "fixed-16").blocks[:1])  # (1, 64)
            window.push(block[None])
    return prompt + "".join(out)


class GlobalWindow:
    """The global model's view of the text while generating: a KV cache over the last positions, so each new
    position runs the body once. The model was trained on ``context`` positions: when the cache is full, it is
    refilled with the last half of the context (the positions restart at 0, as in training).

    ``model`` has ``input`` (rows -> embeddings) and ``body``; ``rows`` ``(1, N, 64)`` the prompt's blocks."""

    def __init__(self, model: torch.nn.Module, rows: torch.Tensor) -> None:
        self.model, self.context = model, model.cfg.context
        self.rows = rows[:, -self.context :]  # (1, n, 64): the rows the cache holds, or will
        self.cache = KVCache()
        self.state = self.model.body(self.model.input(self.rows), self.cache)[:, -1:]  # (1, 1, dim)

    def push(self, rows: torch.Tensor) -> None:
        """Append ``(1, n, 64)`` rows; ``state`` becomes the state after the last one."""
        self.rows = torch.cat([self.rows, rows], dim=1)
        if self.cache.length + rows.shape[1] > self.context:  # full: start again from the recent half
            self.rows = self.rows[:, -max(rows.shape[1], self.context // 2) :]
            self.cache, rows = KVCache(), self.rows
        self.state = self.model.body(self.model.input(rows), self.cache)[:, -1:]
