import json
import re
from pathlib import Path

import pytest
import torch
from safetensors import SafetensorError, safe_open

import tokun
from tokun.core import checkpoint
from tokun.core.config import ModelConfig
from tokun.core.errors import CheckpointError, ModelError
from tokun.core.model import AutoEncoder


def test_save_load_identical_outputs(tmp_path, tiny_cfg: ModelConfig) -> None:
    model = AutoEncoder(tiny_cfg).eval()
    checkpoint.save_model(model, tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["config.json", "model.safetensors"]
    loaded = checkpoint.load_model(tmp_path / "m")
    x = torch.randint(0, 256, (6, tiny_cfg.block_bytes))
    assert loaded.cfg == tiny_cfg
    assert torch.equal(model(x), loaded(x))


def assert_no_pickle(folder: Path) -> int:
    """Every file under ``folder`` is JSON or a safetensors file, which cannot hold a pickle; returns how many
    safetensors files. (Checked by parsing, not by a first byte: a safetensors header length may begin with
    0x80, the first byte of a pickle.)"""
    count = 0
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
            continue
        assert path.suffix == ".safetensors", f"{path}: neither JSON nor safetensors"
        try:
            with safe_open(str(path), framework="pt") as fh:  # 8-byte header length, JSON header, raw tensors
                assert all(fh.get_tensor(name).numel() >= 0 for name in fh.keys())
        except SafetensorError as err:
            raise AssertionError(f"{path} is not a safetensors file ({err})") from None
        count += 1
    return count


def test_the_pickle_check_catches_pickles(tmp_path) -> None:
    for zipped in (True, False):  # torch.save's zip of pickles, and the legacy raw pickle (b"\x80\x02...")
        torch.save({"w": torch.zeros(3)}, tmp_path / "model.safetensors", _use_new_zipfile_serialization=zipped)
        with pytest.raises(AssertionError, match="not a safetensors file"):
            assert_no_pickle(tmp_path)


def test_shipped_files_hold_no_pickle() -> None:
    package = Path(tokun.__file__).parent
    for name in checkpoint.shipped_models():
        assert assert_no_pickle(checkpoint.resolve(name)) == 1
    assert assert_no_pickle(package / "decoding" / "priors") >= 1


def test_saved_model_and_training_checkpoint_hold_no_pickle(tmp_path, tiny_cfg: ModelConfig) -> None:
    model = AutoEncoder(tiny_cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.randint(0, 256, (4, tiny_cfg.block_bytes))).sum().backward()
    opt.step()  # optimizer moments to save
    checkpoint.save_model(model, tmp_path / "model")
    checkpoint.save_checkpoint(tmp_path / "checkpoints" / "step-00000001", model, opt, {"step": 1})
    assert assert_no_pickle(tmp_path) == 3  # model, checkpoint model, optimizer state


def test_tokun_never_unpickles() -> None:
    """No module of tokun calls torch.load or pickle (torch.load unpickles; safetensors never does)."""
    calls = re.compile(r"\btorch\.(load|save)\s*\(|^\s*(import|from)\s+(c?pickle|dill|cloudpickle|joblib)\b", re.M)
    sources = sorted(Path(tokun.__file__).parent.rglob("*.py"))
    assert len(sources) > 10
    found = [
        f"{path}: {m.group(0).strip()}" for path in sources for m in calls.finditer(path.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_config_mismatch(tmp_path, tiny_cfg: ModelConfig) -> None:
    checkpoint.save_model(AutoEncoder(tiny_cfg), tmp_path / "m")
    cfg = tiny_cfg.to_dict() | {"latent_dim": 32}
    (tmp_path / "m" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelError, match="weights do not match config.json"):
        checkpoint.load_model(tmp_path / "m")


def test_truncated_weights(tmp_path, tiny_cfg: ModelConfig) -> None:
    checkpoint.save_model(AutoEncoder(tiny_cfg), tmp_path / "m")
    w = tmp_path / "m" / "model.safetensors"
    w.write_bytes(w.read_bytes()[:-100])
    with pytest.raises(ModelError, match="truncated or corrupted"):
        checkpoint.load_model(tmp_path / "m")


def test_unknown_model_lists_shipped() -> None:
    with pytest.raises(ModelError, match="shipped model: .*4x16"):
        checkpoint.resolve("no-such-model")


def test_directory_without_config(tmp_path) -> None:
    with pytest.raises(ModelError, match="has no config.json"):
        checkpoint.resolve(tmp_path)


def test_checkpoint_roundtrip_and_corruption(tmp_path, tiny_cfg: ModelConfig) -> None:
    model = AutoEncoder(tiny_cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss = model(torch.randint(0, 256, (4, tiny_cfg.block_bytes))).sum()
    loss.backward()
    opt.step()
    path = checkpoint.save_checkpoint(tmp_path / "step-00000001", model, opt, {"step": 1})
    other = AutoEncoder(tiny_cfg)
    other_opt = torch.optim.AdamW(other.parameters(), lr=1e-3)
    record = checkpoint.load_checkpoint(path, other, other_opt)
    assert record["step"] == 1
    for a, b in zip(model.parameters(), other.parameters()):
        assert torch.equal(a, b)
    s1, s2 = opt.state_dict()["state"], other_opt.state_dict()["state"]
    assert all(torch.equal(s1[i]["exp_avg_sq"], s2[i]["exp_avg_sq"]) for i in s1)
    # flip one byte in the weights: the checksum catches it
    w = path / "model.safetensors"
    data = bytearray(w.read_bytes())
    data[-1] ^= 0xFF
    w.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupted"):
        checkpoint.load_checkpoint(path, other, other_opt)


def test_atomic_dir_leaves_previous_on_failure(tmp_path, tiny_cfg: ModelConfig) -> None:
    model = AutoEncoder(tiny_cfg)
    checkpoint.save_model(model, tmp_path / "m")
    before = (tmp_path / "m" / "model.safetensors").read_bytes()
    with pytest.raises(RuntimeError):
        with checkpoint.atomic_dir(tmp_path / "m") as tmp:
            (tmp / "model.safetensors").write_bytes(b"half")
            raise RuntimeError("disk full")
    assert (tmp_path / "m" / "model.safetensors").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_flipped_byte_in_weights_is_detected(tmp_path, tiny_cfg: ModelConfig) -> None:
    checkpoint.save_model(AutoEncoder(tiny_cfg), tmp_path / "m")
    w = tmp_path / "m" / "model.safetensors"
    data = bytearray(w.read_bytes())
    data[-5] ^= 0x01  # one bit of one weight: still a valid safetensors file
    w.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="corrupted .*checksum"):
        checkpoint.load_model(tmp_path / "m")


def test_shipped_weights_carry_a_checksum() -> None:
    from safetensors import safe_open

    with safe_open(str(checkpoint.resolve("4x16") / "model.safetensors"), framework="pt") as fh:
        assert len((fh.metadata() or {})["tensors_sha256"]) == 64


def test_saved_model_folders_get_the_permissions_of_mkdir(tmp_path, tiny_cfg: ModelConfig) -> None:
    import os

    old = os.umask(0o022)
    try:
        checkpoint.save_model(AutoEncoder(tiny_cfg), tmp_path / "model")
        assert (tmp_path / "model").stat().st_mode & 0o777 == 0o755
        assert all(f.stat().st_mode & 0o777 == 0o644 for f in (tmp_path / "model").iterdir())
    finally:
        os.umask(old)
