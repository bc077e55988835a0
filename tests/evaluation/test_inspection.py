"""`tokun inspect` end to end, its errors, and that `import tokun` pulls none of its heavy libraries."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tokun.cli import main

from ..conftest import FIXTURE


def test_inspect_writes_the_report(tmp_path, capsys) -> None:
    out = tmp_path / "inspect"
    noise = tmp_path / "noise.json"
    noise.write_text(
        json.dumps(
            {
                "isotropic": {"k_star": 0, "curve": [[0, 1]]},
                "structured": {"k_star": 0, "curve": [[0, 1]]},
                "int8": {"char_accuracy": 1},
            }
        )
    )
    assert (
        main(
            ["inspect", str(FIXTURE), "--out", str(out), "--maps", "pca", "--max-points", "300", "--noise", str(noise)]
        )
        == 0
    )
    assert "blocks ->" in capsys.readouterr().err
    page = (out / "index.html").read_text(encoding="utf-8")
    assert page.count('class="missing"') == 2 and "<svg" in page  # noise given; accuracy and speed not measured
    tables = json.loads((out / "neighbours.json").read_text(encoding="utf-8"))
    assert [t["probe"] for t in tables][:4] == ["7", "a", "A", "中"] and all(t["nearest"] for t in tables)
    rows = (out / "projector" / "blocks-tensors.tsv").read_text().count("\n")
    assert 0 < rows <= 300


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
        "import sys, tokun, tokun.cli, tokun.evaluation.inspection; tokun.cli.build_parser(); "
        "print(sorted(m for m in ('sklearn', 'umap', 'matplotlib', 'playwright', 'fontTools') if m in sys.modules))"
    )
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
    )
