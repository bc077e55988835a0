import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tokun import checkpoint
from tokun.config import ModelConfig, TrainConfig
from tokun.errors import CheckpointError
from tokun.train import lr_at, train

from .conftest import FIXTURE, ROOT

TINY = ModelConfig(token_dim=(4, 4), embed_dim=16, latent_dim=32)


def tiny_train(**kw) -> TrainConfig:
    base = dict(model=TINY, random=("0-0x100",), steps=60, batch_size=32, lr=1e-2, warmup_steps=5,
                eval_every=30, eval_samples=512, save_every=20)
    return TrainConfig(**(base | kw))


def test_lr_schedule() -> None:
    cfg = TrainConfig(steps=100, warmup_steps=10, lr=1.0, min_lr_ratio=0.1)
    assert lr_at(0, cfg) == pytest.approx(0.1)
    assert lr_at(9, cfg) == pytest.approx(1.0)
    assert lr_at(10, cfg) == pytest.approx(1.0)
    assert lr_at(99, cfg) == pytest.approx(0.1, abs=1e-3)
    assert all(lr_at(s, cfg) >= lr_at(s + 1, cfg) for s in range(10, 99))


def test_training_lowers_the_loss_and_writes_model(tmp_path: Path) -> None:
    result = train(tiny_train(texts=(str(FIXTURE),), text_ratio=0.5), tmp_path, progress=False)
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [30, 60]
    first, last = log[0]["eval"], result
    assert last["0-0x100"]["byte_accuracy"] > first["0-0x100"]["byte_accuracy"]
    assert last["0-0x100"]["byte_accuracy"] > 0.5
    model = checkpoint.load_model(tmp_path / "model")
    assert model.cfg == TINY
    assert [p.name for p in checkpoint.list_checkpoints(tmp_path / "checkpoints")] == [
        "step-00000020", "step-00000040", "step-00000060"]


def test_same_seed_same_weights(tmp_path: Path) -> None:
    train(tiny_train(steps=10), tmp_path / "a", progress=False)
    train(tiny_train(steps=10), tmp_path / "b", progress=False)
    a = checkpoint.load_model(tmp_path / "a" / "model").state_dict()
    b = checkpoint.load_model(tmp_path / "b" / "model").state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resume_reaches_the_same_weights(tmp_path: Path) -> None:
    train(tiny_train(steps=40), tmp_path / "full", progress=False)
    train(tiny_train(steps=40), tmp_path / "part", progress=False, stop_at=20)
    assert not (tmp_path / "part" / "model").exists()
    train(tiny_train(steps=40), tmp_path / "part", resume=True, progress=False)
    a = checkpoint.load_model(tmp_path / "full" / "model").state_dict()
    b = checkpoint.load_model(tmp_path / "part" / "model").state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resume_skips_a_corrupted_checkpoint(tmp_path: Path, capsys) -> None:
    train(tiny_train(steps=40), tmp_path, progress=False)
    newest = checkpoint.list_checkpoints(tmp_path / "checkpoints")[-1]
    (newest / "model.safetensors").write_bytes(b"garbage")
    train(tiny_train(steps=50), tmp_path, resume=True, progress=False)
    assert "skipping" in capsys.readouterr().err
    assert checkpoint.list_checkpoints(tmp_path / "checkpoints")[-1].name == "step-00000050"


def test_refuses_to_overwrite_a_run_without_resume(tmp_path: Path) -> None:
    train(tiny_train(steps=20), tmp_path, progress=False)
    with pytest.raises(CheckpointError, match="--resume"):
        train(tiny_train(steps=20), tmp_path, progress=False)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        train(tiny_train(steps=20), tmp_path / "empty", resume=True, progress=False)


def test_ddp_two_processes_on_cpu(tmp_path: Path) -> None:
    """torchrun --nproc_per_node=2 runs the same command as DDP over gloo; rank 0 alone writes."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "tokun.train", "--token-dim", "4,4", "--embed-dim", "8", "--latent-dim", "16",
           "--random", "0-0x100", "--steps", "12", "--batch-size", "16", "--eval-every", "6",
           "--eval-samples", "256", "--save-every", "12", "--warmup-steps", "2", "--threads", "1",
           "--no-progress", "--out", str(tmp_path / "run")]
    env = os.environ | {"PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert [p.name for p in checkpoint.list_checkpoints(tmp_path / "run" / "checkpoints")] == ["step-00000012"]
    log = (tmp_path / "run" / "log.jsonl").read_text().splitlines()
    assert len(log) == 2  # only rank 0 logs
    assert checkpoint.load_model(tmp_path / "run" / "model").cfg.token_dim == (4, 4)
