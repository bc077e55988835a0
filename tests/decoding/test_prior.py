import collections
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from tokun.core.errors import ModelError
from tokun.decoding.prior import CODESPACE, CharPrior, shipped_prior

TEXT = "abab\nba\nabc abd\n"


def every_codepoint() -> torch.Tensor:
    return torch.arange(CODESPACE)


def grams_of(prior: CharPrior, m: int) -> dict[str, int]:
    """The m-grams a prior counted, as strings."""
    keys, counts = prior.grams[m]
    out = {}
    for key, n in zip(keys.tolist(), counts.tolist()):
        ids = []
        for _ in range(m):
            key, i = divmod(key, prior.base)
            ids.append(i)
        out["".join(chr(prior.chars_np[i]) for i in reversed(ids))] = n
    return out


def test_counts_every_ngram_of_the_text(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(TEXT, encoding="utf-8")
    prior = CharPrior.from_texts([tmp_path], order=3)
    assert prior.order == 3 and prior.total == len(TEXT)
    assert dict(zip(map(chr, prior.chars_np.tolist()), prior.counts_np.tolist())) == collections.Counter(TEXT)
    for m in (2, 3):  # across line breaks too: a line's end is the next one's context
        assert grams_of(prior, m) == collections.Counter(TEXT[i : i + m] for i in range(len(TEXT) - m + 1))


@pytest.mark.parametrize("history", ["", "a", "ab", "zab", "zz", "\u3042b"])
def test_probabilities_sum_to_one_over_every_codepoint(tmp_path: Path, history: str) -> None:
    """Kneser-Ney interpolation down to the base distribution is a distribution over the whole codespace, after
    any history: seen, partly seen, or never seen."""
    (tmp_path / "a.txt").write_text(TEXT, encoding="utf-8")
    prior = CharPrior.from_texts([tmp_path], order=3)
    cur = every_codepoint()
    h = torch.tensor([[ord(c) for c in history]] if history else [[]], dtype=torch.int64).expand(len(cur), -1)
    assert prior.logp(h, cur).double().exp().sum().item() == pytest.approx(1.0, abs=1e-4)


def test_kneser_ney_by_hand(tmp_path: Path) -> None:
    """Order 2 on "abab": p(b | a) = (c(ab) - D) / c(a.) + D T(a) / c(a.) p_cont(b), p_cont from the distinct
    characters seen before each one."""
    (tmp_path / "a.txt").write_text("abab", encoding="utf-8")
    prior = CharPrior.from_texts([tmp_path], order=2)
    d2 = 1 / (1 + 2 * 1)  # bigram counts ab: 2, ba: 1 -> n1 = 1, n2 = 1
    # continuation counts: b after {a} (1), a after {b} (1); n1 = 2, n2 = 0 -> d1 = 1
    d1, base_b = 1.0, prior.p0[ord("b")].item()
    p_cont_b = max(1 - d1, 0) / 2 + d1 * 2 / 2 * base_b
    want = (2 - d2) / 2 + d2 * 1 / 2 * p_cont_b
    got = prior.logp(torch.tensor([[ord("a")]]), torch.tensor([ord("b")])).exp().item()
    assert got == pytest.approx(want, rel=1e-5)


def test_context_logp_is_what_a_change_does_to_the_block(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(TEXT * 3 + "the quick brown fox", encoding="utf-8")
    prior = CharPrior.from_texts([tmp_path])
    gen = torch.Generator().manual_seed(0)
    alphabet = torch.tensor([ord(c) for c in "abcd \nthequickz"] + [0x3042, 0x10FFFD])
    cps = alphabet[torch.randint(len(alphabet), (5, 16), generator=gen)]
    x = alphabet[torch.randint(len(alphabet), (5, 3), generator=gen)]
    for j in (0, 1, 7, 14, 15):
        ctx = prior.context_logp(cps, torch.cat([cps[:, j : j + 1], x], 1), j)  # (5, 4)
        for k in range(3):
            changed = cps.clone()
            changed[:, j] = x[:, k]
            want = prior.block_logp(changed) - prior.block_logp(cps)
            assert torch.allclose(ctx[:, k + 1] - ctx[:, 0], want, atol=1e-3)


def test_save_load_roundtrip_and_bad_files(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("tokun ト크ン 🐢\n" * 2, encoding="utf-8")
    prior = CharPrior.from_texts([tmp_path / "a.txt"])
    prior.save(tmp_path / "p.safetensors")
    back = CharPrior.load(tmp_path / "p.safetensors")
    assert back.order == prior.order and back.total == prior.total
    for m in prior.grams:
        assert all(np.array_equal(a, b) for a, b in zip(back.grams[m], prior.grams[m]))
    cps = torch.tensor([[ord(c) for c in "tokun ト크ン 🐢\n"] + [CODESPACE - 1, 0]])
    assert torch.equal(back.block_logp(cps), prior.block_logp(cps))
    (tmp_path / "bad.safetensors").write_bytes(b"not a prior")
    with pytest.raises(ModelError, match="not a character prior"):
        CharPrior.load(tmp_path / "bad.safetensors")
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    with pytest.raises(ModelError, match="needs some text"):
        CharPrior.from_texts([tmp_path / "empty.txt"])
    with pytest.raises(ModelError, match="order"):
        CharPrior.from_texts([tmp_path / "a.txt"], order=9)


def test_shipped_prior_knows_many_scripts() -> None:
    prior = CharPrior.load(shipped_prior())
    assert prior.total > 100_000 and prior.order == 4
    for text in ("the house", "в доме", "東京の", "한국어", "ሰላም ነው"):
        cps = torch.tensor([[ord(c) for c in text]])
        rare = cps.clone()
        rare[0, -2] = 0x10FFFD  # a private-use codepoint no text uses
        assert (prior.block_logp(cps) > prior.block_logp(rare) + 10).all()
    # characters it never saw: a Hangul syllable or an emoji is likelier than a private-use or unassigned one
    never = torch.tensor([0xD7A3, 0x1F9CC, 0xF8FF, 0x2FFFD])  # 가-힣 end, troll (Unicode 14), private, unassigned
    assert not prior.ids(never).lt(prior.size).any()
    p = prior.logp(torch.tensor([[ord("a")]] * 4), never)
    assert min(p[0], p[1]) > max(p[2], p[3]) + math.log(100)
