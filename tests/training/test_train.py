import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tokun.core import checkpoint
from tokun.core.codec import codepoints_to_bytes
from tokun.core.config import ModelConfig
from tokun.core.errors import CheckpointError, ConfigError
from tokun.core.model import AutoEncoder, latent_sigma
from tokun.training.config import TrainConfig
from tokun.training.losses import distance_loss, separation_loss, spread_loss
from tokun.training.train import lr_at, noise_at, train

from ..conftest import FIXTURE, ROOT

TORCHRUN_2 = [
    sys.executable,
    "-m",
    "torch.distributed.run",
    "--standalone",
    "--nproc_per_node=2",
    "-m",
    "tokun",
    "train",
]
TINY = ModelConfig(token_dim=(4,), embed_dim=16, latent_dim=32)
TINY_ARGS = ["--token-dim", "4", "--embed-dim", "16", "--latent-dim", "32", "--random", "0-0x100"]  # TINY on the CLI


def tiny_train(**kw) -> TrainConfig:
    base = dict(
        model=TINY,
        random=("0-0x100",),
        steps=60,
        batch_size=32,
        lr=1e-2,
        warmup_steps=5,
        eval_every=30,
        eval_samples=512,
        save_every=20,
    )
    return TrainConfig(**(base | kw))


def test_lr_schedule() -> None:
    cfg = TrainConfig(steps=100, warmup_steps=10, lr=1.0, min_lr_ratio=0.1)
    assert lr_at(0, cfg) == pytest.approx(0.1)
    assert lr_at(9, cfg) == pytest.approx(1.0)
    assert lr_at(10, cfg) == pytest.approx(1.0)
    assert lr_at(99, cfg) == pytest.approx(0.1, abs=1e-3)
    assert all(lr_at(s, cfg) >= lr_at(s + 1, cfg) for s in range(10, 99))


def test_noise_ramp() -> None:
    cfg = TrainConfig(latent_noise=0.4, noise_ramp=100)
    assert [noise_at(s, cfg) for s in (0, 50, 100, 500)] == pytest.approx([0.0, 0.2, 0.4, 0.4])
    assert noise_at(0, TrainConfig(latent_noise=0.4)) == 0.4
    with pytest.raises(ConfigError, match="noise_on names plane7"):
        TrainConfig(random=("local",), latent_noise=0.4, noise_on=("plane7",))
    with pytest.raises(ConfigError, match="noise_on names text"):
        TrainConfig(random=("local",), noise_on=("text",))


def test_level_loss_gets_4x4x4_off_its_plateau(tmp_path: Path) -> None:
    """Three levels stay where every byte is predicted from its marginal; the per-level loss leaves it."""
    deep = ModelConfig(token_dim=(4, 4, 4), embed_dim=16, hidden_dim=32, latent_dim=64, activation="silu")
    kw = dict(model=deep, steps=300, batch_size=128, lr=3e-3, eval_every=300, eval_samples=2048, save_every=300)
    plain = train(tiny_train(level_loss=0.0, **kw), tmp_path / "plain", progress=False)["0-0x100"]
    level = train(tiny_train(**kw), tmp_path / "level", progress=False)["0-0x100"]  # on by default at 3 levels
    assert plain["char_accuracy"] < 0.02  # 1/256: guessing the informative byte
    assert level["char_accuracy"] > 0.05
    with pytest.raises(ConfigError, match="level_loss"):
        TrainConfig(level_loss=-1.0)
    assert TrainConfig(model=deep).level_loss == 0.3
    assert TrainConfig(model=TINY).level_loss == 0.0


def test_training_with_latent_dropout(tmp_path: Path, monkeypatch) -> None:
    """Every step drops about a tenth of the latent dimensions of the text rows (noise_on), none of the others,
    and the model still learns."""
    from tokun.core import model as model_module

    seen = []  # per step: (p, share of the touched rows' dimensions zeroed, whether untouched rows kept theirs)

    def recording(latents, p, *, rows=None, generator=None):
        out = original(latents, p, rows=rows, generator=generator)
        touched = rows if rows is not None else torch.ones(len(latents), dtype=torch.bool)
        zeroed = (out[touched] == 0) & (latents[touched] != 0)
        seen.append((p, zeroed.float().mean().item(), torch.equal(out[~touched], latents[~touched])))
        return out

    original = model_module.drop_dimensions
    monkeypatch.setattr(model_module, "drop_dimensions", recording)
    cfg = tiny_train(
        texts=(str(FIXTURE),), text_ratio=0.5, latent_dropout=0.1, noise_on=("text",), steps=200, batch_size=64
    )
    result = train(cfg, tmp_path, progress=False)
    assert len(seen) == 200 and all(p == 0.1 and untouched for p, _, untouched in seen)
    assert 0.08 < np.mean([share for _, share, _ in seen]) < 0.12
    assert result["0-0x100"]["byte_accuracy"] > 0.8
    assert json.loads((tmp_path / "train_config.json").read_text())["latent_dropout"] == 0.1
    with pytest.raises(ConfigError, match="latent_dropout"):
        TrainConfig(latent_dropout=1.0)


def test_training_with_noise_on_text_rows(tmp_path: Path) -> None:
    cfg = tiny_train(
        texts=(str(FIXTURE),),
        text_ratio=0.5,
        latent_noise=0.3,
        noise_on=("text",),
        noise_ramp=20,
        steps=200,
        batch_size=64,
    )
    result = train(cfg, tmp_path, progress=False)
    assert result["0-0x100"]["byte_accuracy"] > 0.8  # predicting zeros alone gives 0.75 on 0-0x100
    assert json.loads((tmp_path / "train_config.json").read_text())["noise_on"] == ["text"]
    model = checkpoint.load_model(tmp_path / "model").eval()  # only the rows named get noise
    x = torch.from_numpy(codepoints_to_bytes(np.arange(65, 69, dtype=np.uint32).reshape(4, 1)))  # (4, 4) bytes
    rows = torch.tensor([True, False, True, False])
    with torch.no_grad():
        clean, noisy = model(x), model(x, noise=1.0, noise_rows=rows, generator=torch.Generator().manual_seed(0))
    assert torch.equal(clean[~rows], noisy[~rows]) and not torch.equal(clean[rows], noisy[rows])


def test_training_lowers_the_loss_and_writes_model(tmp_path: Path) -> None:
    cfg = tiny_train(texts=(str(FIXTURE),), text_ratio=0.2, steps=200, batch_size=64, eval_every=50, save_every=50)
    result = train(cfg, tmp_path, progress=False)
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [50, 100, 150, 200]
    losses = [r["loss"] for r in log]
    assert losses[-1] < 0.5 * losses[0]
    # three of every four bytes are 0 in this range: only learning the last one gets past 0.75
    assert result["0-0x100"]["byte_accuracy"] > 0.85
    assert result["texts"]["byte_accuracy"] > log[0]["eval"]["texts"]["byte_accuracy"]
    model = checkpoint.load_model(tmp_path / "model")
    assert model.cfg == TINY
    assert [p.name for p in checkpoint.list_checkpoints(tmp_path / "checkpoints")] == [
        "step-00000100",
        "step-00000150",
        "step-00000200",
    ]


def test_same_seed_same_weights(tmp_path: Path) -> None:
    train(tiny_train(steps=10), tmp_path / "a", progress=False)
    train(tiny_train(steps=10), tmp_path / "b", progress=False)
    a = checkpoint.load_model(tmp_path / "a" / "model").state_dict()
    b = checkpoint.load_model(tmp_path / "b" / "model").state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_training_on_the_cpu_flushes_denormal_floats(tmp_path: Path, monkeypatch) -> None:
    """A trained model's activations and gradients underflow; denormal arithmetic made CPU steps 3x slower. The
    loop flushes them to zero, and the process gets back the mode it had before, whichever it was."""
    from tokun.training import train as trainer

    tiny = torch.tensor([1e-30])
    during = []
    original = trainer.step_loss

    def recording(*args, **kwargs):
        during.append((tiny * 1e-10).item() == 0.0)
        return original(*args, **kwargs)

    monkeypatch.setattr(trainer, "step_loss", recording)
    try:
        for before in (False, True):
            torch.set_flush_denormal(before)
            train(tiny_train(steps=2), tmp_path / str(before), progress=False)
            assert ((tiny * 1e-10).item() == 0.0) == before  # the mode it had before
        assert during == [True] * 4  # flushed at every step of both runs
    finally:
        torch.set_flush_denormal(False)


def test_resume_reaches_the_same_weights(tmp_path: Path) -> None:
    train(tiny_train(steps=40), tmp_path / "full", progress=False)
    train(tiny_train(steps=40), tmp_path / "part", progress=False, stop_at=20)
    assert not (tmp_path / "part" / "model").exists()
    train(tiny_train(steps=40), tmp_path / "part", resume=True, progress=False)
    a = checkpoint.load_model(tmp_path / "full" / "model").state_dict()
    b = checkpoint.load_model(tmp_path / "part" / "model").state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resume_with_every_random_option_gives_bit_identical_weights(tmp_path: Path) -> None:
    """Noise, dropout and every random term are drawn from (seed, rank, step): an interrupted-and-resumed run is
    the uninterrupted one, bit for bit, whatever ran in between (the global RNG is disturbed on purpose)."""
    cfg = tiny_train(
        model=ModelConfig(token_dim=(4, 4), embed_dim=8, hidden_dim=16, latent_dim=16),
        texts=(str(FIXTURE),),
        text_ratio=0.5,
        pad_ratio=0.2,
        latent_noise=0.4,
        noise_ramp=10,
        latent_dropout=0.2,
        noise_on=("text",),
        distance_loss=0.3,
        spread_loss=0.3,
        separation_loss=0.2,
        steps=30,
        save_every=7,
    )
    train(cfg, tmp_path / "full", progress=False)
    train(cfg, tmp_path / "part", progress=False, stop_at=13)
    torch.rand(1000)  # a resumed run must not depend on the global RNG's state
    train(cfg, tmp_path / "part", resume=True, progress=False)
    a = checkpoint.load_model(tmp_path / "full" / "model").state_dict()
    b = checkpoint.load_model(tmp_path / "part" / "model").state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    torch.manual_seed(123)
    train(dataclasses.replace(cfg, seed=1), tmp_path / "other", progress=False)
    c = checkpoint.load_model(tmp_path / "other" / "model").state_dict()
    assert any(not torch.equal(a[k], c[k]) for k in a)  # the seed matters


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


@pytest.mark.slow
def test_ddp_two_processes_on_cpu(tmp_path: Path) -> None:
    """torchrun --nproc_per_node=2 runs the same command as DDP over gloo; rank 0 alone writes."""
    cmd = [
        *TORCHRUN_2,
        "--token-dim",
        "4,4",
        "--embed-dim",
        "8",
        "--latent-dim",
        "16",
        "--random",
        "0-0x100",
        "--steps",
        "12",
        "--batch-size",
        "16",
        "--eval-every",
        "6",
        "--eval-samples",
        "256",
        "--save-every",
        "12",
        "--warmup-steps",
        "2",
        "--threads",
        "1",
        "--no-progress",
        "--out",
        str(tmp_path / "run"),
    ]
    env = os.environ | {"PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert [p.name for p in checkpoint.list_checkpoints(tmp_path / "run" / "checkpoints")] == ["step-00000012"]
    log = (tmp_path / "run" / "log.jsonl").read_text().splitlines()
    assert len(log) == 2  # only rank 0 logs
    assert checkpoint.load_model(tmp_path / "run" / "model").cfg.token_dim == (4, 4)


def _train_cmd(out: Path, steps: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "tokun",
        "train",
        *TINY_ARGS,
        "--steps",
        str(steps),
        "--batch-size",
        "16",
        "--eval-every",
        "1000000",
        "--save-every",
        "25",
        "--threads",
        "1",
        "--no-progress",
        "--out",
        str(out),
    ]


def _wait_for_checkpoint(out: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    import time

    deadline = time.time() + timeout
    while not checkpoint.list_checkpoints(out / "checkpoints"):
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.time() < deadline, "no checkpoint written in time"
        time.sleep(0.05)


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
@pytest.mark.slow
def test_signal_saves_a_checkpoint_and_exits(tmp_path: Path, sig: str) -> None:
    import signal

    env = os.environ | {"PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen(_train_cmd(tmp_path, 10**6), env=env, stderr=subprocess.PIPE, text=True)
    _wait_for_checkpoint(tmp_path, proc)
    proc.send_signal(getattr(signal, sig))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + getattr(signal, sig)
    assert "resume with --resume" in err and "Traceback" not in err
    newest = checkpoint.list_checkpoints(tmp_path / "checkpoints")[-1]
    record = checkpoint.load_checkpoint(newest, AutoEncoder(TINY))
    assert record["step"] == int(newest.name.split("-")[1]) > 0


@pytest.mark.slow
def test_kill_9_then_resume_reaches_the_final_step(tmp_path: Path) -> None:
    import signal

    env = os.environ | {"PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen(_train_cmd(tmp_path, 400), env=env, stderr=subprocess.PIPE, text=True)
    _wait_for_checkpoint(tmp_path, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert not (tmp_path / "model").exists()
    done = subprocess.run(
        _train_cmd(tmp_path, 400) + ["--resume"], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "resuming from" in done.stderr
    assert checkpoint.list_checkpoints(tmp_path / "checkpoints")[-1].name == "step-00000400"
    assert checkpoint.load_model(tmp_path / "model").cfg == TINY


def _rank_pids(marker: str) -> dict[int, int]:
    """{rank: pid} of the worker processes whose command line holds ``marker`` (read from /proc)."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            if not entry.name.isdigit() or marker.encode() not in (entry / "cmdline").read_bytes():
                continue
            env = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        found.update({int(e[5:]): int(entry.name) for e in env if e.startswith(b"RANK=")})
    return found


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc to find the worker processes")
@pytest.mark.slow
def test_ddp_rank_death_ends_the_run(tmp_path: Path) -> None:
    """kill -9 of one rank: torchrun stops the others and exits non-zero instead of hanging."""
    import signal
    import time

    cmd = [
        *TORCHRUN_2,
        *_train_cmd(tmp_path, 10**6)[4:],
    ]
    env = os.environ | {"PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        _wait_for_checkpoint(tmp_path, proc, timeout=180)
        pids = {}
        deadline = time.time() + 30
        while 1 not in pids and time.time() < deadline:
            pids = _rank_pids(str(tmp_path))
        os.kill(pids[1], signal.SIGKILL)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0
    assert all(not Path(f"/proc/{pid}").exists() for pid in pids.values())


def test_distance_loss_is_zero_when_distances_follow_edits_and_trains() -> None:
    chars = np.array([[1, 1, 1, 1], [2, 1, 1, 1], [2, 2, 1, 1], [2, 2, 2, 1]])  # edit distance |i - j|
    # latents on a line whose pairwise distances are 3x the edit distances: no loss
    z = torch.tensor([[0.0, 1.0], [3.0, 1.0], [6.0, 1.0], [9.0, 1.0]])
    assert float(distance_loss(z, chars)) == pytest.approx(0.0, abs=1e-5)
    # unrelated latents: positive loss with a gradient
    z = torch.randn(4, 8, requires_grad=True)
    loss = distance_loss(z, chars)
    loss.backward()
    assert 0 < loss.item() <= 2 and z.grad is not None and z.grad.abs().sum() > 0


def test_distance_target_is_a_hinge() -> None:
    chars = np.array([[1, 1, 1, 1], [2, 1, 1, 1], [2, 2, 1, 1], [2, 2, 2, 1]])  # edit distance |i - j|
    torch.manual_seed(0)
    z = torch.randn(4, 8, requires_grad=True)
    r = 1 - float(distance_loss(z.detach(), chars))  # this batch's correlation
    # a target the batch already reaches: no loss, no pull
    met = distance_loss(z, chars, target=r - 0.05)
    met.backward()
    assert met.item() == 0 and float(z.grad.abs().sum()) == 0
    # a target above it: the shortfall, with a gradient that raises the correlation
    z.grad = None
    short = distance_loss(z, chars, target=min(r + 0.1, 1.0))
    short.backward()
    assert short.item() == pytest.approx(min(r + 0.1, 1.0) - r, abs=1e-5)
    with torch.no_grad():
        stepped = z - 0.01 * z.grad
    assert 1 - float(distance_loss(stepped, chars)) > r


def test_spread_loss_measures_how_evenly_the_variance_spreads() -> None:
    torch.manual_seed(0)
    # n points at the corners of a regular simplex (orthonormal rows): every direction they span alike
    even = torch.eye(8)[:5] * 3.0
    assert float(spread_loss(even)) == pytest.approx(0.0, abs=1e-5)
    # all on one line: one direction of the four they could span
    line = torch.arange(5.0).unsqueeze(1) * torch.randn(1, 8)
    assert float(spread_loss(line)) == pytest.approx(0.75, abs=1e-4)
    # scale-free, and a gradient step evens out a skewed cloud
    skewed = (torch.randn(32, 8) * torch.tensor([5.0, 1, 1, 1, 1, 1, 1, 0.2])).requires_grad_()
    assert float(spread_loss(skewed.detach())) == pytest.approx(float(spread_loss(skewed.detach() * 7)), abs=1e-5)
    loss = spread_loss(skewed)
    loss.backward()
    with torch.no_grad():
        assert float(spread_loss(skewed - 0.5 * skewed.grad / skewed.grad.norm())) < loss.item()
    with pytest.raises(ConfigError, match="spread_loss"):
        TrainConfig(spread_loss=-1)


def test_separation_loss_is_the_shortfall_of_codeword_distances() -> None:
    torch.manual_seed(0)
    cfg = ModelConfig(token_dim=(4, 4), embed_dim=8, hidden_dim=16, latent_dim=32, center_latent=True)
    model = AutoEncoder(cfg)
    chars = np.array([[0x61, 0x62, 0x63, 0x64], [0x61, 0x65, 0x66, 0x67], [0x430, 0x431, 0x432, 0x433]])
    data = torch.from_numpy(codepoints_to_bytes(chars))
    levels = model(data, details=True).levels
    slot = 1
    # by hand: the distance of two codewords that differ in slot ``slot`` only, in latent spreads
    sigma = float(latent_sigma(levels[-1].detach()))
    distinct = {}
    for row in chars:
        for c in row:
            block = np.full(4, 0x20)
            block[slot] = c
            distinct[int(c)] = model.encoder(torch.from_numpy(codepoints_to_bytes(block[None])))[0]
    codes = torch.stack(list(distinct.values())).detach()  # (m, L)
    d = torch.cdist(codes, codes) / sigma
    for margin in (0.5 * float(d[d > 0].min()), 2.0, 8.0):
        want = float(((margin - d).clamp(min=0).pow(2).sum() - len(codes) * margin**2) / len(codes))
        got = separation_loss(model, levels, chars, slot, margin).item()
        assert got == pytest.approx(want, rel=1e-3, abs=1e-6)
    assert separation_loss(model, levels, chars, slot, 0.5 * float(d[d > 0].min())).item() == 0
    # a gradient step pushes the characters apart (relative to the latents' spread)
    loss = separation_loss(model, levels, chars, slot, 8.0)
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            if p.grad is not None:
                p -= 1e-2 * p.grad
    after = separation_loss(model, model(data, details=True).levels, chars, slot, 8.0)
    assert after.item() < loss.item()
    with pytest.raises(ConfigError, match="linear last tokenize block"):
        TrainConfig(model=TINY, separation_loss=0.1)


def test_training_with_separation_loss(tmp_path: Path) -> None:
    model = ModelConfig(token_dim=(4, 4), embed_dim=8, hidden_dim=16, latent_dim=32)
    cfg = tiny_train(
        model=model, texts=(str(FIXTURE),), text_ratio=0.5, separation_loss=0.1, noise_on=("text",), steps=20
    )
    train(cfg, tmp_path / "with", progress=False)
    assert json.loads((tmp_path / "with" / "train_config.json").read_text())["separation_loss"] == 0.1
    train(dataclasses.replace(cfg, separation_loss=0.0), tmp_path / "without", progress=False)
    a, b = (checkpoint.load_model(tmp_path / d / "model").state_dict() for d in ("with", "without"))
    assert not torch.equal(a["encoder.blocks.1.proj.weight"], b["encoder.blocks.1.proj.weight"])  # the term acted


def test_training_with_distance_loss(tmp_path: Path) -> None:
    cfg = tiny_train(texts=(str(FIXTURE),), text_ratio=0.5, distance_loss=0.5, noise_on=("text",), steps=40)
    train(cfg, tmp_path / "with", progress=False)
    assert json.loads((tmp_path / "with" / "train_config.json").read_text())["distance_loss"] == 0.5
    train(dataclasses.replace(cfg, distance_loss=0.0), tmp_path / "without", progress=False)
    a, b = (checkpoint.load_model(tmp_path / d / "model").state_dict() for d in ("with", "without"))
    assert any(not torch.equal(a[k], b[k]) for k in a if k.startswith("encoder."))  # the term acted


def test_init_fine_tunes_a_model_and_refuses_another_config(tmp_path: Path) -> None:
    train(tiny_train(steps=30), tmp_path / "base", progress=False)
    base = checkpoint.load_model(tmp_path / "base" / "model")
    # zero steps of learning rate: the fine-tuned run starts from, and here keeps, the base weights
    cfg = tiny_train(steps=1, lr=1e-12, warmup_steps=0, init=str(tmp_path / "base" / "model"))
    train(cfg, tmp_path / "tuned", progress=False)
    tuned = checkpoint.load_model(tmp_path / "tuned" / "model")
    for name, value in base.state_dict().items():
        torch.testing.assert_close(tuned.state_dict()[name], value, atol=1e-6, rtol=0)
    other = ModelConfig(token_dim=(4,), embed_dim=8, latent_dim=32)
    with pytest.raises(ConfigError, match="--init .* differs"):
        train(tiny_train(model=other, init=str(tmp_path / "base" / "model")), tmp_path / "bad", progress=False)
    assert not (tmp_path / "bad" / "model").exists()


def test_freeze_encoder_trains_the_decoder_alone(tmp_path: Path) -> None:
    train(tiny_train(steps=20), tmp_path / "base", progress=False)
    base = checkpoint.load_model(tmp_path / "base" / "model").state_dict()
    cfg = tiny_train(steps=20, init=str(tmp_path / "base" / "model"), freeze_encoder=True, latent_noise=0.3)
    train(cfg, tmp_path / "decoder", progress=False)
    tuned = checkpoint.load_model(tmp_path / "decoder" / "model").state_dict()
    for name, value in base.items():
        if name.startswith("encoder."):
            torch.testing.assert_close(tuned[name], value, atol=0, rtol=0)
    assert any(not torch.equal(tuned[n], v) for n, v in base.items() if n.startswith("decoder."))


def test_cli_init_takes_the_models_config(tmp_path: Path) -> None:
    from tokun.cli import build_parser
    from tokun.cli.train import config_from_args

    args = build_parser().parse_args(["train", "--init", "4x16", "--steps", "5"])
    cfg = config_from_args(args)
    assert cfg.model == checkpoint.load_model("4x16").cfg and cfg.init == "4x16"


def test_training_with_a_decoder_mlp(tmp_path: Path) -> None:
    from tokun.cli import build_parser
    from tokun.cli.train import config_from_args

    args = build_parser().parse_args(["train", *TINY_ARGS, "--decoder-mlp", "64"])
    model_cfg = config_from_args(args).model
    assert model_cfg.decoder_mlp == 64
    cfg = tiny_train(
        model=model_cfg,
        texts=(str(FIXTURE),),
        text_ratio=0.5,
        latent_noise=0.3,
        noise_on=("text",),
        steps=200,
        batch_size=64,
    )
    result = train(cfg, tmp_path, progress=False)
    assert result["0-0x100"]["byte_accuracy"] > 0.8  # predicting zeros alone gives 0.75
    model = checkpoint.load_model(tmp_path / "model")
    assert model.cfg.decoder_mlp == 64
    assert model.decoder.mlp.down.weight.abs().max() > 0  # zero at initialisation: it trained


def test_resume_refuses_fewer_steps_than_the_checkpoint(tmp_path) -> None:
    cfg = TrainConfig(model=ModelConfig(token_dim=(4,), embed_dim=8, latent_dim=8), random=("0-0x100",), steps=10)
    train(cfg, tmp_path, progress=False, stop_at=6)
    with pytest.raises(CheckpointError, match="past --steps 4"):
        train(TrainConfig(**{**cfg.__dict__, "steps": 4}), tmp_path, resume=True, progress=False)
