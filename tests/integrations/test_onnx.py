"""ONNX export: the files' contract, PyTorch's numbers in onnxruntime, verified decoding over the pair, the CLI."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import tokun
from tokun.cli import main
from tokun.core import codec
from tokun.core.sources import random_codepoints
from tokun.decoding.inference import Inference
from tokun.decoding.verify import verify
from tokun.integrations import onnx as tokun_onnx
from tokun.integrations.onnx import OnnxInference, OnnxTokenizer, export_onnx

from ..conftest import FIXTURE, ROOT, corpus_files

FILES = sorted({FIXTURE, *corpus_files()})


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple:
    """The shipped default exported once for the module (about 10 s), and its PyTorch inference."""
    model = tokun.load_model("4x16")
    folder = export_onnx(model, tmp_path_factory.mktemp("onnx") / "4x16")
    return folder, Inference(model)


def test_files_names_shapes_and_dtypes_are_the_contract(exported) -> None:
    folder, _ = exported
    assert {p.name for p in folder.iterdir()} == {
        "encoder.onnx", "decoder.onnx", "verify.onnx", "config.json", "model.safetensors"
    }
    ort = tokun_onnx.onnxruntime()
    enc = ort.InferenceSession(str(folder / "encoder.onnx"), providers=["CPUExecutionProvider"])
    dec = ort.InferenceSession(str(folder / "decoder.onnx"), providers=["CPUExecutionProvider"])
    assert [(i.name, i.type, i.shape[1:]) for i in enc.get_inputs()] == [("bytes", "tensor(uint8)", [64])]
    assert [(o.name, o.type, o.shape[1:]) for o in enc.get_outputs()] == [("latents", "tensor(float)", [256])]
    assert [(i.name, i.type, i.shape[1:]) for i in dec.get_inputs()] == [("latents", "tensor(float)", [256])]
    assert [(o.name, o.type, o.shape[1:]) for o in dec.get_outputs()] == [("logits", "tensor(float)", [64, 256])]
    for n in (1, 3, 700):  # N is dynamic
        z = enc.run(None, {"bytes": np.random.default_rng(n).integers(0, 256, (n, 64), dtype=np.uint8)})[0]
        assert z.shape == (n, 256) and dec.run(None, {"latents": z})[0].shape == (n, 64, 256)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_onnxruntime_gives_pytorch_latents_and_bytes_and_exact_text(exported, path) -> None:
    folder, torch_inf = exported
    inf = OnnxInference(folder, threads=1)
    text = path.read_text(encoding="utf-8")
    rows = codec.encode(text, block_chars=16)
    latents = inf.encode_bytes(rows)
    expected = torch_inf.encode_bytes(rows)
    assert torch.allclose(latents, expected, rtol=1e-4, atol=1e-4 * float(expected.abs().max()))
    read = inf.read(latents)
    assert np.array_equal(read, torch_inf.read(latents))  # the decoder's argmax bytes
    back, _ = verify(inf, latents, read)  # verified decoding over the pair: exact
    assert codec.decode(back, length=len(text)) == text


def test_verified_decoding_corrects_slips_over_onnx(exported) -> None:
    """Random codepoints of planes 0-3, on which the decoder's reading slips: read right, the search over ONNX."""
    folder, _ = exported
    tok = OnnxTokenizer(folder)
    text = "".join(map(chr, random_codepoints("planes0-3", 16 * 64, seed=0)))  # 64 blocks
    z = tok.encode(text)
    raw = tok.inference.read(z)
    slips = int((raw != codec.encode(text, block_chars=16)).any(-1).sum())
    back, stats = tok.read(z)
    assert stats.flagged >= stats.changed == slips > 0  # the reading slipped, every slip flagged and corrected
    assert codec.decode(back, length=len(text)) == text


def test_onnx_tokenizer_has_every_tokenizer_method(exported) -> None:
    folder, torch_inf = exported
    tok = OnnxTokenizer.load(folder)
    assert tok.encode_batch([]) == [] and tok.decode_batch([]) == []
    texts = ["ab", "", "x\x00"]
    latents = tok.encode_batch(texts)
    assert [tuple(z.shape) for z in latents] == [(1, 256), (0, 256), (1, 256)]
    assert tok.decode_batch(latents, lengths=[len(t) for t in texts]) == texts
    back, stats = tok.read(latents[0])
    assert stats.blocks == 1 and codec.decode(back) == "ab" and tok.decode(latents[0]) == "ab"
    assert tok.model.cfg == torch_inf.model.cfg and tok.device.type == "cpu" and tok.prior is None
    tok.batch_size = 7
    assert tok.batch_size == tok.inference.batch_size == 7


def test_onnx_inference_needs_the_exported_files(tmp_path) -> None:
    with pytest.raises(tokun.InputError, match="tokun export onnx"):
        OnnxInference(tmp_path)


def test_export_refuses_a_file_or_a_foreign_directory_and_replaces_an_export(exported, tmp_path, capsys) -> None:
    folder, _ = exported
    (tmp_path / "file").write_text("x")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    for target in ("file", "mine"):
        assert main(["export", "onnx", str(tmp_path / target)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("tokun: error: ") and err.count("\n") == 1
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    assert main(["export", "onnx", str(tmp_path / "x"), "--opset", "11"]) == 2
    assert "opset 18 or later" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_bench_reports_onnxruntime_beside_pytorch(exported, monkeypatch, capsys) -> None:
    folder, _ = exported
    monkeypatch.setattr(tokun_onnx, "export_onnx", lambda model, out: shutil.copytree(folder, out))
    args = ["bench", str(FIXTURE), "--json", "--repeats", "1", "--threads", "1", "--backend", "onnxruntime"]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"chars", "threads", "device", "repeats", "exact", "tokun", "tiktoken", "ratio", "batch_size"} < set(result)
    assert set(result["onnxruntime"]) == {"encode_chars_per_s", "decode_chars_per_s", "exact"}
    assert result["onnxruntime"]["exact"] is True and result["exact"] is True
    assert result["onnxruntime"]["encode_chars_per_s"] > 0 and result["onnxruntime"]["decode_chars_per_s"] > 0


def test_missing_onnxruntime_is_a_one_line_error(monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime raises ImportError
    assert main(["bench", str(FIXTURE), "--backend", "onnxruntime", "--repeats", "1"]) == 2
    assert capsys.readouterr().err == "tokun: error: onnxruntime is not installed: pip install -e '.[onnx]'\n"


NO_TORCH = """
import sys
from pathlib import Path


class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is blocked in this process")


sys.meta_path.insert(0, NoTorch())
from tokun.core import codec
from tokun.integrations.onnx_runtime import OnnxTextTokenizer

tok = OnnxTextTokenizer(sys.argv[1], threads=1)
flagged = 0
for name in sys.argv[2:]:
    text = Path(name).read_text(encoding="utf-8")
    rows, stats = tok.read(tok.encode(text))
    flagged += stats.flagged
    assert codec.decode(rows, length=len(text)) == text, name
    assert tok.decode(tok.encode(text), length=len(text)) == text, name
print(flagged, len(sys.argv) - 2, sorted(m for m in sys.modules if m.split(".")[0] == "torch"))
"""


def test_onnx_text_tokenizer_is_exact_without_torch(exported) -> None:
    """onnxruntime and numpy only (torch blocked in a fresh process): exact on the fixture and every corpus file,
    decoder slips included."""
    folder, _ = exported
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run(
        [sys.executable, "-c", NO_TORCH, str(folder), *map(str, FILES)], capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, out.stderr
    flagged, files, torch_modules = out.stdout.split(" ", 2)
    assert int(files) == len(FILES) and int(flagged) > 0 and torch_modules.strip() == "[]"  # slips were corrected


def test_verify_graph_flags_every_misread_block(exported) -> None:
    folder, _ = exported
    text = "".join(map(chr, random_codepoints("planes0-3", 16 * 256, seed=1)))
    errors = tokun_onnx.raw_error_rate(folder, [text, FIXTURE.read_text(encoding="utf-8")])
    assert errors.blocks == 256 + 84 and errors.misread > 0 and errors.missed == 0 and errors.flagged >= errors.misread
    from tokun.integrations.onnx_runtime import OnnxTextTokenizer

    tok = OnnxTextTokenizer(folder)
    assert tok.decode(tok.encode(text)) == text  # random codepoints: slips corrected by the numpy search
    with pytest.raises(tokun.InputError, match="tokun export onnx"):
        OnnxTextTokenizer(folder.parent)


def test_export_prints_the_raw_error_rate(exported, monkeypatch, tmp_path, capsys) -> None:
    folder, _ = exported
    monkeypatch.setattr(tokun_onnx, "export_onnx", lambda model, out, opset: shutil.copytree(folder, out) and Path(out))
    assert main(["export", "onnx", str(tmp_path / "x"), "--check", str(FIXTURE)]) == 0
    line = capsys.readouterr().out
    assert line.startswith("decoder.onnx alone misreads ") and "of 84 blocks" in line and "(0 misread blocks unflagged)" in line
@pytest.mark.slow
def test_installed_backends_are_the_ones_importable(tmp_path, monkeypatch) -> None:
    """``tokun inspect --all`` measures every backend installed: onnxruntime when it imports, none when it does not."""
    tok = tokun.Tokenizer.load(prior=False)
    found = tokun_onnx.installed_backends(tok, tmp_path / "onnx")
    assert list(found) == ["onnxruntime"]
    text = FIXTURE.read_text(encoding="utf-8")
    assert found["onnxruntime"].decode(found["onnxruntime"].encode(text), length=len(text)) == text
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` raises ImportError
    assert tokun_onnx.installed_backends(tok, tmp_path / "none") == {}
