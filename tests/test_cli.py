import json
import os
import subprocess
import sys

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file, save_file

from tokun.cli import main
from tokun.core import checkpoint
from tokun.core.config import ModelConfig
from tokun.core.model import AutoEncoder

from .conftest import FIXTURE, ROOT, corpus_files


def run_cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    env = os.environ | {"PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, "-m", "tokun", *args], input=stdin, capture_output=True, env=env, timeout=300
    )


@pytest.mark.parametrize("path", corpus_files(limit=None)[::9] + [FIXTURE], ids=lambda p: p.name)
def test_encode_decode_exact(tmp_path, path) -> None:
    out = tmp_path / "z.safetensors"
    assert main(["encode", str(path), "-o", str(out), "-q"]) == 0
    z = load_file(str(out))["latents"]
    text = path.read_text(encoding="utf-8")
    assert z.shape == (-(-len(text) // 16), 256) and z.dtype == torch.float32
    assert main(["decode", str(out), "-o", str(tmp_path / "back.txt")]) == 0
    assert (tmp_path / "back.txt").read_bytes() == path.read_bytes()  # every character, as the README promises


@pytest.mark.slow
def test_stdin_stdout(tmp_path) -> None:
    text = "stdin → stdout ✓ ünïcödé\x00"
    enc = run_cli("encode", "-", "-o", "-", stdin=text.encode())
    assert enc.returncode == 0, enc.stderr
    tmp = tmp_path / "stdin.safetensors"
    tmp.write_bytes(enc.stdout)
    dec = run_cli("decode", str(tmp))
    assert dec.returncode == 0
    assert dec.stdout.decode() == text


def test_roundtrip_json(capsys) -> None:
    assert main(["roundtrip", str(FIXTURE), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    m = report["files"][str(FIXTURE)]
    assert m["chars"] == len(FIXTURE.read_text(encoding="utf-8"))
    assert m["char_accuracy"] == 1.0 and m["block_accuracy"] == 1.0


def test_info_json_counts_the_shipped_model(capsys) -> None:
    """`tokun info` against the shipped config.json built afresh, and against figures counted by hand."""
    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    shipped = json.loads((checkpoint.resolve("4x16") / "config.json").read_text(encoding="utf-8"))
    assert info["model"] == "4x16" and info["config"] == shipped
    fresh = AutoEncoder(ModelConfig.from_dict(shipped))
    assert info["parameters"] == {
        "encoder": sum(p.numel() for p in fresh.encoder.parameters()),
        "decoder": sum(p.numel() for p in fresh.decoder.parameters()),
        "total": sum(p.numel() for p in fresh.parameters()),
    }
    # by hand (embed 64, characters 128, latent 256): encoder = embedding 256*64 + LN 2*64 + positions 4*64
    # + Linear 256*128+128 + LN 2*128 + positions 16*128 + Linear 2048*256+256; decoder mirrors it, plus its head
    # Linear 64*256+256 and without the embedding
    assert info["parameters"] == {"encoder": 576_512, "decoder": 578_688, "total": 1_155_200}
    assert info["compression"] == {
        "chars_per_latent": 16,
        "bytes_per_latent_utf32": 64,
        "latent_dim": 256,
        "sequence_length_per_1000_chars": 63,
    }


@pytest.mark.slow
def test_eval_json_shape(capsys) -> None:
    assert main(["eval", str(FIXTURE), "--random", "plane0", "--samples", "2000", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"model", "files", "random"} <= set(result)
    for metrics in list(result["files"].values()) + list(result["random"].values()):
        assert {"chars", "byte_accuracy", "char_accuracy", "block_accuracy"} <= set(metrics)
    assert result["random"]["plane0"]["chars"] == 2000


def assert_clean_error(proc: subprocess.CompletedProcess, fragment: str) -> None:
    err = proc.stderr.decode()
    assert proc.returncode != 0
    assert "Traceback" not in err
    assert err.startswith("tokun: error: ") and fragment in err, err


@pytest.mark.slow
def test_bad_inputs_give_one_clear_line(tmp_path) -> None:
    assert_clean_error(run_cli("encode", str(tmp_path / "missing.txt"), "-o", str(tmp_path / "o")), "no such file")
    assert_clean_error(run_cli("encode", "-", "-o", str(tmp_path / "o"), stdin=b"ab\xffcd"), "byte 2")
    surrogate = "ok\udcff".encode("utf-8", "surrogatepass")  # CESU-style bytes: invalid UTF-8
    assert_clean_error(run_cli("encode", "-", "-o", str(tmp_path / "o"), stdin=surrogate), "not valid UTF-8")
    assert_clean_error(run_cli("encode", str(FIXTURE), "-o", str(tmp_path / "o"), "--model", "nope"), "shipped model")
    save_file({"latents": torch.zeros(2, 100)}, str(tmp_path / "bad.safetensors"))
    assert_clean_error(run_cli("decode", str(tmp_path / "bad.safetensors")), "shape (N, 256)")
    save_file({"other": torch.zeros(2, 256)}, str(tmp_path / "named.safetensors"))
    assert_clean_error(run_cli("decode", str(tmp_path / "named.safetensors")), "no tensor named 'latents'")
    (tmp_path / "text.safetensors").write_text("not a tensor file")
    assert_clean_error(run_cli("decode", str(tmp_path / "text.safetensors")), "not a safetensors file")
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_unwritable_output_leaves_nothing(tmp_path) -> None:
    proc = run_cli("encode", str(FIXTURE), "-o", str(tmp_path / "no" / "dir" / "z.safetensors"))
    assert_clean_error(proc, "does not exist")
    assert list(tmp_path.iterdir()) == []


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200))
def test_fuzz_random_bytes(tmp_path, capsys, data: bytes) -> None:
    """Any bytes: either valid UTF-8 that round-trips, or exit 2 with one clear line; never a crash."""
    src, out, back = tmp_path / "in.bin", tmp_path / "z.safetensors", tmp_path / "back.txt"
    src.write_bytes(data)
    out.unlink(missing_ok=True)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    rc = main(["encode", str(src), "-o", str(out), "-q"])
    err = capsys.readouterr().err
    if text is None:
        assert rc == 2 and err.startswith("tokun: error: ") and "not valid UTF-8 at byte" in err
        assert not out.exists()
        return
    assert rc == 0
    assert main(["decode", str(out), "-o", str(back)]) == 0
    assert back.read_bytes() == data  # the exact bytes back, whatever the characters


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.characters(max_codepoint=0xFFFF, exclude_categories=["Cs"]), max_size=100))
def test_fuzz_bmp_text_roundtrips_through_the_cli(tmp_path, text: str) -> None:
    src, out, back = tmp_path / "in.txt", tmp_path / "z.safetensors", tmp_path / "back.txt"
    src.write_bytes(text.encode("utf-8"))
    assert main(["encode", str(src), "-o", str(out), "-q"]) == 0
    assert main(["decode", str(out), "-o", str(back)]) == 0
    assert back.read_bytes() == text.encode("utf-8")


def test_lm_compare_takes_the_model_before_or_after_the_subcommand() -> None:
    from tokun.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["lm", "compare", "--model", "4x16-exact"]).model == "4x16-exact"
    assert parser.parse_args(["lm", "--model", "4x16-exact", "compare"]).model == "4x16-exact"
    assert parser.parse_args(["lm", "compare"]).model is None  # the default, 4x16


def _modules_after(code: str) -> set[str]:
    """The modules a fresh Python process has imported after running ``code``."""
    probe = code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"
    env = os.environ | {"PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120, check=True
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.slow
def test_help_imports_no_torch() -> None:
    loaded = _modules_after(
        "import contextlib, io\nfrom tokun.cli import main\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n    main(['--help'])"
    )
    assert "tokun.cli" in loaded
    assert "torch" not in loaded


@pytest.mark.slow
def test_encode_imports_no_training_or_evaluation_code(tmp_path) -> None:
    out = tmp_path / "z.safetensors"
    loaded = _modules_after(
        f"from tokun.cli import main\nassert main(['encode', {str(FIXTURE)!r}, '-o', {str(out)!r}, '-q']) == 0"
    )
    assert out.is_file() and "torch" in loaded  # it did encode
    heavy = sorted(
        m
        for m in loaded
        if m.startswith(("tokun.training", "tokun.evaluation", "tokun.inspection.", "tokun.lm.compare"))
    )
    assert heavy == []


def test_train_flags_are_there_when_train_is_used() -> None:
    from tokun.cli import build_parser

    args = build_parser().parse_args(["train", "--steps", "7", "--token-dim", "4,4"])
    assert args.steps == 7 and args.token_dim == (4, 4)
