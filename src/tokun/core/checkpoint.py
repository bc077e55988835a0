"""Weights as safetensors + config.json; training state beside them. Never pickle.

A model directory holds ``config.json`` (the :class:`ModelConfig`) and ``model.safetensors``.
A training checkpoint directory adds ``train_state.safetensors`` (optimizer moments) and
``train.json`` (step, train config, optimizer hyper-parameters, SHA-256 of each file).
Directories are written under a temporary name and renamed, so a reader sees the previous
version or the new one, never half of one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from .config import ModelConfig, save_json
from .errors import CheckpointError, ConfigError, ModelError
from .model import AutoEncoder
from .textio import current_umask

CONFIG = "config.json"
WEIGHTS = "model.safetensors"
TRAIN_STATE = "train_state.safetensors"
TRAIN_JSON = "train.json"
DEFAULT_MODEL = "4x16"
# earlier names of shipped models: "4x16-robust" became the default "4x16" once verified decoding made it exact
ALIASES = {"4x16-robust": "4x16"}


def weights_root() -> Path:
    """Folder of the models shipped inside the package."""
    return Path(str(resources.files("tokun") / "weights"))


def shipped_models() -> list[str]:
    root = weights_root()
    return sorted(p.name for p in root.iterdir() if (p / CONFIG).is_file()) if root.is_dir() else []


def fingerprint(folder: Path) -> str:
    """The first 16 hex digits of the SHA-256 of a model directory's weights (recorded in latents files)."""
    return hashlib.sha256((Path(folder) / WEIGHTS).read_bytes()).hexdigest()[:16]


def shipped_with_fingerprint(digest: str) -> str | None:
    """The shipped model whose weights have this fingerprint, if any."""
    return next((name for name in shipped_models() if fingerprint(weights_root() / name) == digest), None)


def resolve(model: str | Path | None) -> Path:
    """A shipped model name or a directory -> the model directory (clear error otherwise)."""
    name = DEFAULT_MODEL if model is None else str(model)
    shipped = weights_root() / ALIASES.get(name, name)
    if "/" not in name and os.sep not in name and (shipped / CONFIG).is_file():
        return shipped
    path = Path(name)
    if path.is_dir():
        if not (path / CONFIG).is_file():
            raise ModelError(f"{path} has no {CONFIG}: a model directory holds {CONFIG} and {WEIGHTS}")
        return path
    raise ModelError(
        f"unknown model {name!r}: give a directory holding {CONFIG} and {WEIGHTS}, "
        f"or a shipped model: {', '.join(shipped_models()) or '(none installed)'}"
    )


def atomic_dir(target: Path) -> _AtomicDir:
    """Context manager yielding a temporary directory that replaces ``target`` on success."""
    return _AtomicDir(Path(target))


class _AtomicDir:
    def __init__(self, target: Path) -> None:
        self.target = target

    def __enter__(self) -> Path:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.tmp-", dir=self.target.parent))
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        mask = current_umask()
        for f in self.tmp.iterdir():  # data on disk before the rename makes it visible
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
            os.chmod(f, 0o666 & ~mask)  # safetensors writes 0600: the modes a plain open() would give
        os.chmod(self.tmp, 0o777 & ~mask)  # mkdtemp's 0700 -> what mkdir would have made
        old = None
        if self.target.exists():
            old = self.target.with_name(f".{self.target.name}.old-{os.getpid()}")
            os.replace(self.target, old)
        os.replace(self.tmp, self.target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def tensors_digest(state: dict[str, torch.Tensor]) -> str:
    """SHA-256 of the tensors' names, shapes and bytes: stored in the weights' metadata, checked on load."""
    h = hashlib.sha256()
    for key in sorted(state):
        t = state[key].detach().cpu().contiguous()
        h.update(f"{key}:{t.dtype}:{tuple(t.shape)};".encode())
        h.update(t.view(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def write_model(model: AutoEncoder, folder: Path, *, metadata: dict[str, str] | None = None) -> None:
    """Write config.json and model.safetensors into an existing (temporary) folder."""
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    meta = {"format": "pt", **(metadata or {}), "tensors_sha256": tensors_digest(state)}
    save_file(state, str(folder / WEIGHTS), metadata=meta)
    save_json(model.cfg.to_dict(), folder / CONFIG)


def save_model(model: AutoEncoder, path: str | Path, *, metadata: dict[str, str] | None = None) -> Path:
    """Save a model directory atomically; returns its path."""
    path = Path(path)
    with atomic_dir(path) as tmp:
        write_model(model, tmp, metadata=metadata)
    return path


def read_config(folder: Path) -> ModelConfig:
    try:
        data = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{folder} has no {CONFIG}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ModelError(f"{folder / CONFIG} is not valid JSON ({err})") from None
    try:
        return ModelConfig.from_dict(data)
    except ConfigError as err:
        raise ModelError(f"{folder / CONFIG}: {err}") from None


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise ModelError(f"{path.parent} has no {path.name}")
    try:
        with safe_open(str(path), framework="pt") as fh:
            expected = (fh.metadata() or {}).get("tensors_sha256")
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise ModelError(f"{path} is truncated or corrupted ({err}); re-download or re-train it") from None
    if expected and tensors_digest(state) != expected:
        raise ModelError(f"{path} is corrupted (its tensors do not match their checksum); re-download or re-train it")
    return state


def load_model(model: str | Path | None = None, *, device: str | torch.device = "cpu") -> AutoEncoder:
    """Load a shipped model by name, or a model directory; checks that config and weights match."""
    folder = resolve(model)
    cfg = read_config(folder)
    net = AutoEncoder(cfg)
    load_weights_into(net, read_weights(folder / WEIGHTS), source=folder)
    return net.to(device).eval()


def load_weights_into(net: AutoEncoder, state: dict[str, torch.Tensor], *, source: Path) -> None:
    expected = net.state_dict()
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    wrong = [k for k in expected if k in state and state[k].shape != expected[k].shape]
    if missing or extra or wrong:
        detail = "; ".join(
            part
            for part in (
                f"missing {', '.join(missing[:3])}" if missing else "",
                f"unexpected {', '.join(extra[:3])}" if extra else "",
                f"{wrong[0]} is {tuple(state[wrong[0]].shape)}, expected {tuple(expected[wrong[0]].shape)}"
                if wrong
                else "",
            )
            if part
        )
        raise ModelError(f"{source}: weights do not match {CONFIG} ({detail})")
    net.load_state_dict(state)


# -- training checkpoints ---------------------------------------------------------------------


def save_checkpoint(
    path: Path,
    model: AutoEncoder,
    optimizer: torch.optim.Optimizer,
    info: dict[str, Any],
) -> Path:
    """Write a training checkpoint directory atomically: model + optimizer moments + train.json."""
    opt = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    for idx, state in opt["state"].items():
        for key, value in state.items():
            t = value if torch.is_tensor(value) else torch.tensor(value)
            tensors[f"state.{idx}.{key}"] = t.detach().cpu().contiguous()
    with atomic_dir(path) as tmp:
        write_model(model, tmp)
        save_file(tensors, str(tmp / TRAIN_STATE))
        record = {
            **info,
            "param_groups": opt["param_groups"],
            "sha256": {name: sha256(tmp / name) for name in (WEIGHTS, TRAIN_STATE, CONFIG)},
        }
        save_json(record, tmp / TRAIN_JSON)
    return path


def load_checkpoint(path: Path, model: AutoEncoder, optimizer: torch.optim.Optimizer | None = None) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint`; CheckpointError if it is incomplete or corrupted."""
    try:
        record = json.loads((path / TRAIN_JSON).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path}: unreadable {TRAIN_JSON} ({err})") from None
    for name, digest in record.get("sha256", {}).items():
        if not (path / name).is_file() or sha256(path / name) != digest:
            raise CheckpointError(f"{path}: {name} is missing or corrupted (checksum mismatch)")
    try:
        cfg = read_config(path)
        if cfg != model.cfg:
            raise CheckpointError(
                f"{path}: the checkpoint's model config differs from the run's ({cfg} vs {model.cfg})"
            )
        load_weights_into(model, read_weights(path / WEIGHTS), source=path)
    except ModelError as err:
        raise CheckpointError(str(err)) from None
    if optimizer is not None:
        flat = load_file(str(path / TRAIN_STATE))
        state: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in flat.items():
            _, idx, name = key.split(".", 2)
            state.setdefault(int(idx), {})[name] = value
        optimizer.load_state_dict({"state": state, "param_groups": record["param_groups"]})
    return record


def list_checkpoints(folder: Path) -> list[Path]:
    """Complete checkpoint directories ``step-*`` of a run, oldest first."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("step-*") if p.is_dir() and (p / TRAIN_JSON).is_file())
