import json

from tokun.cli import main

from ..conftest import FIXTURE


def test_bench_json_shape(capsys) -> None:
    """The contract of `tokun bench --json` (figures themselves are benchmarks, not asserted)."""
    assert main(["bench", str(FIXTURE), "--json", "--repeats", "1", "--threads", "1"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["chars"] == len(FIXTURE.read_text(encoding="utf-8"))
    assert result["threads"] == 1 and result["device"] == "cpu"
    for side in ("tokun", "tiktoken"):
        assert result[side]["encode_chars_per_s"] > 0 and result[side]["decode_chars_per_s"] > 0
    assert result["tokun"]["peak_rss_mb"] > 0
    ratio = result["tokun"]["encode_chars_per_s"] / result["tiktoken"]["encode_chars_per_s"]
    assert abs(result["ratio"]["encode"] - ratio) < 1e-9


def test_bench_batch_size(capsys) -> None:
    assert main(["bench", str(FIXTURE), "--json", "--repeats", "1", "--threads", "1", "--batch-size", "7"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["batch_size"] == 7 and result["exact"]
    assert main(["bench", str(FIXTURE), "--batch-size", "0"]) == 2
