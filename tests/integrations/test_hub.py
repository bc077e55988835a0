"""save_pretrained / from_pretrained: tokun's own files, shipped directories as pretrained ones, one-line errors."""

import subprocess
import sys
import time
from dataclasses import asdict

import pytest
import torch

import tokun
from tokun.cli import main
from tokun.core import checkpoint
from tokun.core.errors import ModelError
from tokun.integrations.hub import TokunAutoEncoder, TokunLanguageModel, local_folder
from tokun.lm.model import LMConfig, TokunLM

from ..conftest import ROOT


def test_import_tokun_imports_no_optional_library() -> None:
    code = (
        "import sys, tokun; "
        "print(sorted(m for m in ('transformers', 'huggingface_hub', 'onnx', 'onnxruntime', 'onnxscript') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def test_shipped_directory_is_a_pretrained_directory() -> None:
    net = TokunAutoEncoder.from_pretrained(checkpoint.weights_root() / "4x16")
    ref = tokun.load_model("4x16")
    data = torch.randint(0, 256, (5, 64))
    assert isinstance(net, TokunAutoEncoder) and not net.training
    assert torch.equal(net.encoder(data), ref.encoder(data))
    assert torch.equal(net(data), ref(data))
    by_name = TokunAutoEncoder.from_pretrained("4x16")  # shipped names load too
    assert torch.equal(by_name.encoder(data), ref.encoder(data))


def test_save_pretrained_loads_with_load_model_and_model_option(tmp_path) -> None:
    ref = tokun.load_model("4x4x8")
    folder = tmp_path / "pretrained"
    TokunAutoEncoder.of(ref).save_pretrained(folder)
    assert {checkpoint.CONFIG, checkpoint.WEIGHTS} <= {p.name for p in folder.iterdir()}
    assert checkpoint.read_config(folder) == ref.cfg  # config.json is the ModelConfig, nothing else
    data = torch.randint(0, 256, (3, ref.cfg.block_bytes))
    assert torch.equal(tokun.load_model(folder).encoder(data), ref.encoder(data))
    assert torch.equal(
        TokunAutoEncoder.from_pretrained(folder).decoder(ref.encoder(data)), ref.decoder(ref.encoder(data))
    )
    text = tmp_path / "t.txt"
    text.write_text("pretrained → tokun ✓", encoding="utf-8")
    assert main(["encode", str(text), "-o", str(tmp_path / "z.safetensors"), "--model", str(folder), "-q"]) == 0
    assert (
        main(["decode", str(tmp_path / "z.safetensors"), "-o", str(tmp_path / "back.txt"), "--model", str(folder)]) == 0
    )
    assert (tmp_path / "back.txt").read_text(encoding="utf-8") == "pretrained → tokun ✓"


def test_repo_id_without_network_is_a_one_line_error(monkeypatch, tmp_path) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(ModelError) as err:
        TokunAutoEncoder.from_pretrained("someone/tokun-4x16", cache_dir=tmp_path)
    message = str(err.value)
    assert "\n" not in message and "someone/tokun-4x16" in message and "Hugging Face Hub" in message


def test_mistyped_directory_fails_at_once_without_the_hub(tmp_path, monkeypatch) -> None:
    (tmp_path / "runs").mkdir()
    monkeypatch.chdir(tmp_path)
    for name in ("runs/typo-dir", str(tmp_path / "typo-dir"), "./typo-dir", "~/no-such-tokun-dir"):
        start = time.perf_counter()
        with pytest.raises(ModelError, match="^no such model directory: ") as err:
            TokunAutoEncoder.from_pretrained(name)
        assert time.perf_counter() - start < 2 and name in str(err.value)
    with pytest.raises(ModelError, match="no such model directory"):
        local_folder("runs/typo-dir")


def test_repo_id_error_reports_the_hub_first_error(monkeypatch) -> None:
    import huggingface_hub.hub_mixin

    def unreachable(**_):
        raise OSError("network is unreachable")

    monkeypatch.setattr(huggingface_hub.hub_mixin, "hf_hub_download", unreachable)
    with pytest.raises(ModelError, match=r"someone/tokun-4x16.*\(OSError: network is unreachable\)"):
        TokunAutoEncoder.from_pretrained("someone/tokun-4x16")


def test_directory_without_config_is_a_one_line_error(tmp_path) -> None:
    with pytest.raises(ModelError, match="has no config.json"):
        TokunAutoEncoder.from_pretrained(tmp_path)


def test_language_model_round_trip_keeps_lm_compare_files(tmp_path) -> None:
    auto = tokun.load_model("4x16")
    cfg = LMConfig(dim=32, layers=1, heads=2, ffn=64, context=8)
    meta = {"kind": "tokun-direct", "lm": asdict(cfg), "tokun_model": "4x16", "latent_scale": 3.0}
    lm = TokunLanguageModel(TokunLM(auto, cfg, latent_scale=3.0), meta)
    lm.save_pretrained(tmp_path / "lm")
    back = TokunLanguageModel.from_pretrained(tmp_path / "lm")
    assert isinstance(back.model, TokunLM) and back.config == meta
    blocks = torch.randint(0, 128, (2, 4, 64))
    assert torch.equal(back(blocks), lm.eval()(blocks))
    from tokun.lm import load_lm  # what `tokun lm generate` reads

    model = load_lm(tmp_path / "lm")
    assert model.meta() == meta and torch.equal(model.network(blocks), lm(blocks))
