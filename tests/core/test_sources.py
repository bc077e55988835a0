import numpy as np
import pytest

from tokun.core import codec
from tokun.core.errors import ConfigError, InputError
from tokun.core.sources import BlockSampler, assigned_codepoints, parse_spec, random_codepoints

from ..conftest import FIXTURE


@pytest.mark.parametrize(
    "spec, lo, hi",
    [
        ("planes0-3", 0, 0x40000),
        ("plane0", 0, 0x10000),
        ("plane16", 0x100000, 0x110000),
        ("all", 0, 0x110000),
        ("0x41-0x5b", 0x41, 0x5B),
    ],
)
def test_ranges_stay_inside_and_skip_surrogates(spec: str, lo: int, hi: int) -> None:
    cps = random_codepoints(spec, 50_000, seed=1)
    assert cps.min() >= lo and cps.max() < hi
    assert not ((cps >= 0xD800) & (cps < 0xE000)).any()
    assert codec.from_codepoints(cps).count("\ufffd") == int((cps == 0xFFFD).sum())


def test_range_sampling_is_uniform_across_the_surrogate_gap() -> None:
    cps = random_codepoints("0xD000-0xE800", 200_000, seed=2)  # 0x800 below the gap, 0x800 above
    below = (cps < 0xD800).mean()
    assert 0.48 < below < 0.52


def test_assigned() -> None:
    table = assigned_codepoints()
    assert ord("A") in table and 0x1F600 in table  # a letter and an emoji
    assert 0x0378 not in table  # unassigned in Greek
    assert not ((table >= 0xD800) & (table < 0xE000)).any()
    assert parse_spec("assigned").size == len(table)


@pytest.mark.parametrize("spec", ["plane17", "0x10-0x5", "bogus", "0xD800-0xE000"])
def test_bad_specs(spec: str) -> None:
    with pytest.raises(ConfigError):
        parse_spec(spec)


def test_sampler_is_deterministic_per_seed_rank_step() -> None:
    kw = dict(block_chars=16, random=("planes0-3", "assigned"), texts=(str(FIXTURE),), text_ratio=0.5, pad_ratio=0.2)
    a = BlockSampler(**kw, seed=3, rank=0)
    assert np.array_equal(a.codepoints(5, 64), BlockSampler(**kw, seed=3, rank=0).codepoints(5, 64))
    assert not np.array_equal(a.codepoints(5, 64), a.codepoints(6, 64))
    assert not np.array_equal(a.codepoints(5, 64), BlockSampler(**kw, seed=3, rank=1).codepoints(5, 64))
    assert a.bytes(5, 64).shape == (64, 64)


def test_text_windows_cover_the_text_and_pad_its_end() -> None:
    text = FIXTURE.read_text(encoding="utf-8")
    sampler = BlockSampler(block_chars=16, random=(), texts=(str(FIXTURE),), seed=0)
    rows = sampler.codepoints(0, 4000)
    joined = codec.to_codepoints(text)
    for row in rows[:50]:
        s = codec.from_codepoints(row).rstrip("\x00")
        assert s in text
    assert (rows[:, -1] == 0).any()  # windows that run past the end are padded
    assert len({int(r[0]) for r in rows}) > 0.5 * len(set(joined.tolist()))


def test_padding_ratio() -> None:
    rows = BlockSampler(block_chars=16, random=("plane1",), pad_ratio=0.5, seed=0).codepoints(0, 4000)
    padded = (rows[:, -1] == 0).mean()
    assert 0.4 < padded < 0.6
    # padding is a suffix: no non-zero character after a zero
    first_zero = np.where((rows == 0).any(1), (rows == 0).argmax(1), 16)
    assert all((rows[i, first_zero[i] :] == 0).all() for i in range(len(rows)))


def test_missing_text_file(tmp_path) -> None:
    with pytest.raises(InputError, match="no such file"):
        BlockSampler(block_chars=16, texts=(str(tmp_path / "nope.txt"),))


def test_sourced_rows_name_where_each_row_came_from() -> None:
    kw = dict(block_chars=16, random=("0x41-0x5b", "plane2"), texts=(str(FIXTURE),), text_ratio=0.3, seed=1)
    sampler = BlockSampler(**kw)
    assert sampler.sources() == ["0x41-0x5b", "plane2", "text"]
    rows, source = sampler.sourced(4, 600)
    assert np.array_equal(rows, sampler.codepoints(4, 600))
    assert set(np.unique(source)) == {0, 1, 2}
    assert ((rows[source == 0] >= 0x41) & (rows[source == 0] < 0x5B)).all()
    assert ((rows[source == 1] >> 16) == 2).all()
    text = FIXTURE.read_text(encoding="utf-8")
    assert all(codec.from_codepoints(r).rstrip("\x00") in text for r in rows[source == 2][:20])
    assert 0.2 < (source == 2).mean() < 0.4
