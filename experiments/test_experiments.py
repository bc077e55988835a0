"""Tests of the research scripts, run by hand: ``.venv/bin/python -m pytest experiments`` (minutes).

The default ``pytest`` (``testpaths = ["tests"]``) does not collect them: the scripts are research, not the package.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "experiments"
FIXTURE = ROOT / "tests" / "fixtures" / "multilingual.txt"


def script(name: str) -> str:
    return str(HERE / f"{name}.py")


def test_noise_by_file_script_scores_each_file(tmp_path: Path) -> None:
    """experiments/noise_by_file.py: one row per file, worst first; the exact default loses nothing at k = 0."""
    lines = FIXTURE.read_text(encoding="utf-8").splitlines()
    (tmp_path / "a.txt").write_text("\n".join(lines[::2]), encoding="utf-8")
    (tmp_path / "b.txt").write_text("\n".join(lines[1::2]), encoding="utf-8")

    def run(k: float) -> list[dict]:
        cmd = [sys.executable, script("noise_by_file"), str(tmp_path), "--k", str(k), "--json"]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=300).stdout
        return json.loads(out)["files"]

    clean, noisy = run(0.0), run(1.0)
    assert sorted(r["file"] for r in clean) == ["a", "b"]
    assert all(r["char_accuracy"] == 1.0 and r["errors"] == 0 for r in clean)
    assert noisy[0]["char_accuracy"] <= noisy[1]["char_accuracy"] < 1.0
    assert all(r["unigram_bits"] > 0 and r["distinct"] > 1 for r in noisy)
    bad = subprocess.run(
        [sys.executable, script("noise_by_file"), str(tmp_path / "missing.txt")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode != 0 and "no such file" in bad.stderr and "Traceback" not in bad.stderr


def test_codeword_check_script_splits_misreadings(tmp_path: Path) -> None:
    """experiments/codeword_check.py: more misread blocks as the noise grows; a share of them in [0, 1]; clear errors."""
    out = subprocess.run(
        [sys.executable, script("codeword_check"), str(FIXTURE), "--k", "0.2", "1.0", "--json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    low, high = json.loads(out)
    assert low["misread_blocks"] < high["misread_blocks"] <= high["blocks"]
    assert 0.0 <= high["right_text_nearer"] <= 1.0 and len(high["llr_nats_quartiles"]) == 3
    assert high["char_accuracy"] < low["char_accuracy"]
    bad = subprocess.run(
        [sys.executable, script("codeword_check"), str(tmp_path / "missing.txt")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "no such file" in bad.stderr and "Traceback" not in bad.stderr


def test_prior_orders_script_compares_orders_on_the_same_draws(tmp_path: Path) -> None:
    """experiments/prior_orders.py: one row per order (0: no prior) at each k; a prior counted from the very text it
    reads does better than the decoder alone; clear errors."""
    cmd = [sys.executable, script("prior_orders"), str(FIXTURE), str(FIXTURE)]
    cmd += ["--orders", "1", "3", "--k", "0.5", "--draws", "1"]
    rows = json.loads(subprocess.run([*cmd, "--json"], capture_output=True, text=True, check=True, timeout=600).stdout)
    assert [(r["order"], r["k"]) for r in rows] == [(0, 0.5), (1, 0.5), (3, 0.5)]
    assert rows[0]["ngrams"] == 0 < rows[2]["ngrams"]
    assert rows[2]["char_accuracy"] > rows[0]["char_accuracy"]
    bad = subprocess.run(
        [*cmd[:2], str(tmp_path / "missing.txt"), str(FIXTURE)], capture_output=True, text=True, timeout=120
    )
    assert bad.returncode == 2 and "no such file" in bad.stderr and "Traceback" not in bad.stderr


def test_mixed_scripts_deals_lines_round_robin(tmp_path: Path) -> None:
    """experiments/mixed_scripts.py: line i of every file before line i + 1 of any."""
    (tmp_path / "a.txt").write_text("a1\na2\na3\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("b1\n\nb2\n", encoding="utf-8")
    out = tmp_path / "mixed.txt"
    subprocess.run([sys.executable, script("mixed_scripts"), str(tmp_path), "--lines", "2", "--out", str(out)], check=True)
    assert out.read_text(encoding="utf-8") == "a1\nb1\na2\nb2"


def test_lm_table_prints_the_protocol_tables(tmp_path: Path) -> None:
    """experiments/lm_table.py: a row per model with its interval, `tokun` named as the model it is, the paired
    verdicts as compare.json has them, and bits per byte against context from a contexts.json."""
    from tokun.lm.compare import compare, compare_contexts
    from tokun.lm.model import LMConfig

    lines = FIXTURE.read_text(encoding="utf-8").splitlines()
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, part in (("a", lines[::2]), ("b", lines[1::2])):
        (corpus / f"{name}.txt").write_text("\n".join(part * 30) + "\n", encoding="utf-8")
    options = dict(
        minutes=None, flops=1e8, models=("tokun", "bytes", "bpe"), batch=4, progress=False, generate_chars=0,
        cfg=LMConfig(dim=16, layers=1, heads=2, ffn=32, context=8), best_of=("tokun-16",),
    )  # fmt: skip
    result = compare([str(corpus)], out=tmp_path / "o", seeds=2, **options)
    compare_contexts([str(corpus)], context_chars=[16, 32], out=tmp_path / "c", **options)
    cmd = [sys.executable, script("lm_table"), str(tmp_path / "o" / "compare.json")]
    out = subprocess.run(cmd + ["--contexts", str(tmp_path / "c" / "contexts.json")], capture_output=True, text=True,
                         check=True, timeout=300).stdout  # fmt: skip
    assert "**`tokun`** (= `tokun-16`, best on tune)" in out
    for pair, p in result["paired"].items():
        a, b = pair.split("-", 1)
        assert f"| `{a}` − `{b}` | {p['mean']:+.3f} |" in out and f"| {p['verdict']} |" in out
    assert "| model | 16 characters | 32 characters |" in out and "windows per step (characters: batch): 16: 4, 32: 2" in out
