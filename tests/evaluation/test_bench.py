"""`tokun bench`: the report's shape and the facts in it; the timings themselves are benchmarks, not asserted."""

import json

from tokun.cli import main
from tokun.decoding.tokenizer import Tokenizer
from tokun.evaluation.bench import bench

from ..conftest import FIXTURE

KEYS = {"chars", "threads", "device", "repeats", "exact", "tokun", "tiktoken", "ratio", "batch_size"}


def test_bench_json_reports_the_text_and_an_exact_roundtrip(capsys) -> None:
    assert main(["bench", str(FIXTURE), "--json", "--repeats", "2", "--threads", "1"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == KEYS
    assert set(result["tokun"]) == {"encode_chars_per_s", "decode_chars_per_s", "peak_rss_mb"}
    assert set(result["tiktoken"]) == {"encode_chars_per_s", "decode_chars_per_s"}
    assert set(result["ratio"]) == {"encode", "decode"}
    text = FIXTURE.read_text(encoding="utf-8")
    assert result["chars"] == len(text) and len(text) < len(text.encode("utf-8"))  # characters, not bytes
    assert result["exact"] is True  # the shipped model decodes the fixture exactly
    assert result["threads"] == 1 and result["device"] == "cpu" and result["repeats"] == 2
    assert result["batch_size"] == 512  # the tokenizer's default
    rates = [*result["tokun"].values(), *result["tiktoken"].values(), *result["ratio"].values()]
    assert all(isinstance(r, float) and r > 0 for r in rates)


def test_bench_reports_a_lossy_roundtrip() -> None:
    """``exact`` is measured: a tokenizer that loses a character is reported as not exact."""

    class Lossy(Tokenizer):
        def decode(self, latents, *, length=None):
            text = super().decode(latents, length=length)
            return text[:-1] + ("x" if text[-1:] != "x" else "y")

    real = Tokenizer.load(prior=False)
    lossy = Lossy(real.model, name="lossy", prior=None)
    text = FIXTURE.read_text(encoding="utf-8")[:2000]
    assert bench(real, text, repeats=1, threads=1)["exact"] is True
    assert bench(lossy, text, repeats=1, threads=1)["exact"] is False


def test_bench_batch_size(capsys) -> None:
    assert main(["bench", str(FIXTURE), "--json", "--repeats", "1", "--threads", "1", "--batch-size", "7"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["batch_size"] == 7 and result["exact"] is True
    assert main(["bench", str(FIXTURE), "--batch-size", "0"]) == 2
    assert "--batch-size must be positive" in capsys.readouterr().err
