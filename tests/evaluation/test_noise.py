import json
import subprocess
import sys

import numpy as np
import torch

from tokun.core import codec
from tokun.decoding.tokenizer import Tokenizer
from tokun.evaluation import noise

from ..conftest import FIXTURE, ROOT


def test_int8_roundtrip_is_close() -> None:
    z = torch.randn(100, 8) * torch.arange(1, 9)
    q = noise.int8_roundtrip(z)
    step = z.abs().amax(0) / 127
    assert ((q - z).abs() <= step / 2 + 1e-6).all()


def test_participation_ratio_counts_the_directions_in_use() -> None:
    torch.manual_seed(0)
    even = torch.randn(20000, 6)
    assert abs(noise.participation_ratio(even) - 6) < 0.1
    assert abs(noise.participation_ratio(even * torch.tensor([1.0, 1, 1, 0, 0, 0])) - 3) < 0.05
    # one direction with 3x the spread of the five others: (9 + 5)^2 / (81 + 5) = 2.28
    assert abs(noise.participation_ratio(even * torch.tensor([3.0, 1, 1, 1, 1, 1])) - 196 / 86) < 0.05


def test_spearman() -> None:
    x = np.arange(50, dtype=float)
    assert abs(noise._spearman(x, x**3) - 1.0) < 1e-12
    assert abs(noise._spearman(x, -x) + 1.0) < 1e-12


def test_sweep_on_the_shipped_model() -> None:
    tok = Tokenizer.load()
    cps = noise.corpus_blocks(tok, [str(FIXTURE)], max_blocks=64)
    latents = tok.encode_bytes(codec.codepoints_to_bytes(cps))
    result = noise.sweep(tok, latents, cps, ks=(0.0, 5.0), draws=1)
    iso = dict(map(tuple, result["isotropic"]["curve"]))
    assert iso[0.0] > 0.99 and iso[5.0] < iso[0.0]  # k=0 is the clean accuracy; heavy noise hurts
    assert result["sigma"] > 0
    near = noise.neighbours(latents, cps, 0, count=3)
    assert len(near) == 3 and near[0]["distance"] <= near[-1]["distance"]


def test_measure_is_what_tokun_noise_prints() -> None:
    """One measurement, shared by `tokun noise` and scripts/noise_study.py; structured noise of the
    centred default is mostly a shift common to all dimensions, which it ignores."""
    tok = Tokenizer.load()
    result = noise.measure(tok, [str(FIXTURE)], max_blocks=64, draws=1)
    assert result["blocks"] == 64 and result["model"] == "4x16"
    assert 0 < result["sigma_d_spread"] < 1
    assert 1 <= result["participation_ratio"] <= tok.latent_dim
    structured = dict(map(tuple, result["structured"]["curve"]))
    isotropic = dict(map(tuple, result["isotropic"]["curve"]))
    assert structured[1.0] > isotropic[1.0]
    assert -1 <= result["distance"]["spearman_l2_vs_edit"] <= 1


def test_noise_by_file_script_scores_each_file(tmp_path) -> None:
    """scripts/noise_by_file.py: one row per file, worst first; the exact default loses nothing at k = 0."""
    lines = FIXTURE.read_text(encoding="utf-8").splitlines()
    (tmp_path / "a.txt").write_text("\n".join(lines[::2]), encoding="utf-8")
    (tmp_path / "b.txt").write_text("\n".join(lines[1::2]), encoding="utf-8")

    def run(k: float) -> list[dict]:
        cmd = [sys.executable, str(ROOT / "scripts" / "noise_by_file.py"), str(tmp_path), "--k", str(k), "--json"]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120).stdout
        return json.loads(out)["files"]

    clean, noisy = run(0.0), run(1.0)
    assert sorted(r["file"] for r in clean) == ["a", "b"]
    assert all(r["char_accuracy"] == 1.0 and r["errors"] == 0 for r in clean)
    assert noisy[0]["char_accuracy"] <= noisy[1]["char_accuracy"] < 1.0
    assert all(r["unigram_bits"] > 0 and r["distinct"] > 1 for r in noisy)
    bad = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "noise_by_file.py"), str(tmp_path / "missing.txt")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode != 0 and "no such file" in bad.stderr and "Traceback" not in bad.stderr


def test_codeword_check_script_splits_misreadings(tmp_path) -> None:
    """scripts/codeword_check.py: more misread blocks as the noise grows; a share of them in [0, 1]; clear errors."""
    script = str(ROOT / "scripts" / "codeword_check.py")
    out = subprocess.run(
        [sys.executable, script, str(FIXTURE), "--k", "0.2", "1.0", "--json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    low, high = json.loads(out)
    assert low["misread_blocks"] < high["misread_blocks"] <= high["blocks"]
    assert 0.0 <= high["right_text_nearer"] <= 1.0 and len(high["llr_nats_quartiles"]) == 3
    assert high["char_accuracy"] < low["char_accuracy"]
    bad = subprocess.run([sys.executable, script, str(tmp_path / "missing.txt")], capture_output=True, text=True)
    assert bad.returncode == 2 and "no such file" in bad.stderr and "Traceback" not in bad.stderr
