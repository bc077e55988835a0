import math
from pathlib import Path

import pytest
import torch

from tokun.errors import ModelError
from tokun.prior import CODESPACE, CharPrior, shipped_prior


def test_counts_and_interpolated_bigram(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("abab\nba\n", encoding="utf-8")
    prior = CharPrior.from_texts([tmp_path], mix=0.5)
    a, b, nl, z = ord("a"), ord("b"), ord("\n"), ord("z")
    assert prior.unigram_counts == {a: 3, b: 3, nl: 2}
    assert prior.bigram_counts == {(a, b): 2, (b, a): 2, (b, nl): 1, (a, nl): 1}  # lines apart: no (nl, b)
    p = {c: n / 8.5 for c, n in {a: 3.5, b: 3.5, nl: 2.5, z: 0.5}.items()}  # half a count more for each
    t = torch.tensor
    assert prior.first(t([a, z])).tolist() == pytest.approx([math.log(p[a]), math.log(p[z])], rel=1e-5)
    assert prior.after(t([a]), t([b])).item() == pytest.approx(math.log(0.5 * 2 / 3 + 0.5 * p[b]), rel=1e-5)
    assert prior.after(t([a]), t([a])).item() == pytest.approx(math.log(0.5 * p[a]), rel=1e-5)  # unseen pair
    assert prior.after(t([z]), t([z])).item() == pytest.approx(math.log(0.5 * p[z]), rel=1e-5)


def test_save_load_roundtrip_and_bad_files(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("tokun ト크ン 🐢\n", encoding="utf-8")
    prior = CharPrior.from_texts([tmp_path / "a.txt"])
    prior.save(tmp_path / "p.safetensors")
    back = CharPrior.load(tmp_path / "p.safetensors")
    assert back.unigram_counts == prior.unigram_counts and back.bigram_counts == prior.bigram_counts
    assert back.mix == prior.mix
    x = torch.tensor([ord("t"), 0x1F422, CODESPACE - 1])
    assert torch.equal(back.after(x, x.flip(0)), prior.after(x, x.flip(0)))
    (tmp_path / "bad.safetensors").write_bytes(b"not a prior")
    with pytest.raises(ModelError, match="not a character prior"):
        CharPrior.load(tmp_path / "bad.safetensors")
    with pytest.raises(ModelError, match="needs some text"):
        CharPrior({}, {})


def test_shipped_prior_knows_many_scripts() -> None:
    prior = CharPrior.load(shipped_prior())
    assert prior.total > 100_000
    for text in ("the", "дом", "東京", "한국", "ሰላም"):
        cps = torch.tensor([ord(c) for c in text])
        rare = torch.full_like(cps, 0x10FFFD)  # a private-use codepoint no text uses
        assert (prior.after(cps[:-1], cps[1:]) > prior.after(cps[:-1], rare[1:])).all()
