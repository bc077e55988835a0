"""Fixtures of the inspection tests: a tiny untrained tokenizer and a small corpus of three languages."""

from __future__ import annotations

from pathlib import Path

import pytest

from tokun.core.config import ModelConfig
from tokun.core.model import AutoEncoder
from tokun.decoding.tokenizer import Tokenizer

TEXTS = {
    "en": "The quick brown fox jumps over the lazy dog. 0123456789 world World word",
    "ru": "Съешь же ещё этих мягких французских булок, да выпей чаю. мир",
    "zh": "我能吞下玻璃而不伤身体。世界你好，中文。",
}

# what `tokun eval --json`, `tokun noise --json` and `tokun bench --json` print, in small
EVAL = {
    "model": "tiny",
    "files": {"corpus/en.txt": {"chars": 70, "byte_accuracy": 1.0, "char_accuracy": 0.5, "block_accuracy": 0.25}},
    "random": {"planes0-3": {"chars": 100, "byte_accuracy": 0.9, "char_accuracy": 0.75, "block_accuracy": 0.1}},
}
NOISE = {
    "blocks": 12,
    "isotropic": {"k_star": 0.5, "curve": [[0.0, 1.0], [0.5, 0.9995], [1.0, 0.98]]},
    "structured": {"k_star": 1.0, "curve": [[0.0, 1.0], [0.5, 1.0], [1.0, 0.999]]},
    "int8": {"char_accuracy": 1.0},
    "distance": {"spearman_l2_vs_edit": 0.65},
}
BENCH = {
    "chars": 1000,
    "threads": 2,
    "device": "cpu",
    "exact": True,
    "tokun": {"encode_chars_per_s": 2e6, "decode_chars_per_s": 3e5},
    "tiktoken": {"encode_chars_per_s": 4e6, "decode_chars_per_s": 9e6},
}


@pytest.fixture
def tiny_tok(tiny_cfg: ModelConfig) -> Tokenizer:
    """An untrained 4x4 model (4 characters per latent of 16 dimensions), no prior."""
    return Tokenizer(AutoEncoder(tiny_cfg), name="tiny")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A folder of three language files."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    for language, text in TEXTS.items():
        (folder / f"{language}.txt").write_text(text, encoding="utf-8")
    return folder
