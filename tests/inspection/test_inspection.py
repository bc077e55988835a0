"""`tokun inspect` end to end, its errors, and that `import tokun` pulls none of its heavy libraries."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tokun.cli import main

from ..conftest import FIXTURE
from .conftest import BENCH, NOISE

METRICS = {"chars": 1, "char_accuracy": 1, "block_accuracy": 1}


def test_inspect_writes_the_report(tmp_path, capsys) -> None:
    out = tmp_path / "inspect"
    noise = tmp_path / "noise.json"
    noise.write_text(json.dumps(NOISE))
    assert (
        main(
            ["inspect", str(FIXTURE), "--out", str(out), "--maps", "pca", "--max-points", "300", "--noise", str(noise)]
        )
        == 0
    )
    assert "blocks ->" in capsys.readouterr().err
    page = (out / "index.html").read_text(encoding="utf-8")
    assert page.count('class="missing"') == 2 and "<svg" in page  # noise given; accuracy and speed not measured
    found = json.loads((out / "neighbours.json").read_text(encoding="utf-8"))
    tables, agreement = found["tables"], found["script_agreement@10"]
    assert [t["probe"] for t in tables][:4] == ["7", "a", "A", "中"] and all(t["nearest"] for t in tables)
    assert set(agreement) == {"characters", "blocks"} and all(0 <= a <= 1 for a in agreement.values())
    baseline = found["random_agreement@10"]
    for kind in ("characters", "blocks"):  # under each map: the model's figure and chance's, from neighbours.json
        said = f"{agreement[kind]:.0%} share its script; random vectors of the same shape with the same scripts: "
        assert said + f"{baseline[kind]:.0%}." in page
        assert baseline[kind] < agreement[kind]  # the shipped model groups scripts more than chance does
    rows = found["scripts"]["characters"]  # the largest scripts first, the rest one row last
    named = [r["points"] for r in rows if not r["script"].startswith("other (")]
    assert named == sorted(named, reverse=True) and sum(r["points"] for r in rows) == found_points(out)
    assert len(rows) <= 9 and "<h2>Scripts in latent space" in page and f"<td>{rows[0]['script']}</td>" in page
    rows = (out / "projector" / "blocks-tensors.tsv").read_text().count("\n")
    assert 0 < rows <= 300


def found_points(out) -> int:
    """The character points of a report folder: the rows of its projector export."""
    return (out / "projector" / "tensors.tsv").read_text().count("\n")


@pytest.mark.parametrize(
    "option, data, message",
    [
        ("--noise", {**NOISE, "structured": {"curve": []}}, "no key 'structured.k_star'"),
        ("--noise", {"model": "4x16"}, "no key 'isotropic'"),
        ("--bench", {**BENCH, "tiktoken": {"encode_chars_per_s": 1}}, "no key 'tiktoken.decode_chars_per_s'"),
        ("--bench", {**BENCH, "tokun": 3}, "'tokun' is not an object"),
        ("--eval", {"files": {"en.txt": {"chars": 1}}, "random": {}}, "no key 'files.en.txt.char_accuracy'"),
        ("--eval", {"files": {"en.txt": METRICS}}, "no key 'random'"),
        ("--eval", NOISE, "no key 'files'"),  # another command's output
    ],
)
def test_json_of_the_wrong_shape_is_refused_before_any_work(tmp_path, capsys, option, data, message) -> None:
    given = tmp_path / "given.json"
    given.write_text(json.dumps(data))
    out = tmp_path / "o"
    assert main(["inspect", str(FIXTURE), "--out", str(out), "--maps", "pca", option, str(given)]) == 2
    err = capsys.readouterr().err
    assert err == f"tokun: error: {given}: {message}; give the output of tokun {option[2:]} --json\n"
    assert not out.exists()  # nothing written


def test_the_shapes_of_the_commands_own_json_are_accepted() -> None:
    from tokun.inspection.report import REQUIRED, missing

    assert (
        missing({"model": "m", "files": {"a.txt": METRICS}, "random": {"planes0-3": METRICS}}, REQUIRED["eval"]) is None
    )
    assert missing(NOISE, REQUIRED["noise"]) is None and missing(BENCH, REQUIRED["bench"]) is None


@pytest.mark.parametrize("extra", [[], ["--all"]])
def test_a_file_not_utf8_names_no_option_inspect_lacks(tmp_path, capsys, extra) -> None:
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("café".encode("latin-1"))
    assert main(["inspect", str(bad), "--out", str(tmp_path / "o"), "--maps", "pca", *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"tokun: error: {bad}: not valid UTF-8 at byte 3") and "--errors" not in err
    assert "inspect reads UTF-8 text only" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["--max-points", "5"], "--max-points must be at least 10"),
        (["--model", "no-such-model"], "no-such-model"),
        (["--eval", "{bad}"], "not JSON"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args, message) -> None:
    if "{bad}" in args:
        bad = tmp_path / "eval.json"
        bad.write_text("{not json")
        args = ["--eval", str(bad)]
    assert main(["inspect", str(FIXTURE), "--out", str(tmp_path / "o"), "--maps", "pca", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tokun: error: ") and message in err and err.count("\n") == 1


def test_no_text_is_refused(tmp_path, capsys) -> None:
    (tmp_path / "empty.txt").write_text("")
    assert main(["inspect", str(tmp_path / "empty.txt"), "--out", str(tmp_path / "o")]) == 2
    assert "no text to inspect" in capsys.readouterr().err


def test_import_tokun_pulls_no_heavy_library() -> None:
    code = (
        "import sys, tokun, tokun.cli, tokun.inspection.inspect; tokun.cli.build_parser(); "
        "print(sorted(m for m in ('sklearn', 'umap', 'matplotlib', 'playwright', 'fontTools') if m in sys.modules))"
    )
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
    )
