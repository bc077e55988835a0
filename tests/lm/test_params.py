import pytest

from tokun.core.errors import ConfigError
from tokun.lm.params import LLMS, count, report


def test_article_figures_for_llama3_8b() -> None:
    simplified = count(LLMS["llama3-8b-simplified"])
    assert simplified["embedding"] == 524_288_000
    assert simplified["per_block"] == 268_443_648
    assert simplified["total"] == 9_638_776_832


def test_real_llama3_8b() -> None:
    assert count(LLMS["llama3-8b"])["total"] == 8_030_261_248


def test_tokun_replacement_shrinks_vocabulary_layers() -> None:
    r = report("llama3-8b")
    assert r["tokun_at_256"]["blocks"] == r["original"]["blocks"]
    assert r["tokun_at_256"]["vocabulary_layers"] < r["original"]["vocabulary_layers"] / 100
    assert r["tokun_at_256"]["positions_per_1000_chars"] == 63
    assert r["tokun_at_model_width"]["projections"] == 0


def test_unknown_llm() -> None:
    with pytest.raises(ConfigError, match="llama3-8b"):
        report("gpt-9")
