"""Fixtures of the evaluation tests: a tiny untrained tokenizer and a small corpus of three languages."""

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
