"""Shared fixtures: tiny models with fixed seeds, the committed multilingual fixture, the corpora."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from hypothesis import settings

from tokun.core.config import ModelConfig

# Tests assert behaviour, not time: no per-example deadline (a loaded machine made a codec example take 348 ms)
settings.register_profile("tokun", deadline=None)
settings.load_profile("tokun")

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "multilingual.txt"
CORPORA = Path(os.environ.get("TOKUN_CORPORA", ROOT.parent / "shared" / "corpora"))


def corpus_files(limit: int | None = None) -> list[Path]:
    """Files of ../shared/corpora where it exists (CI and developer machines), else the fixture."""
    files = sorted(CORPORA.glob("*.txt")) if CORPORA.is_dir() else []
    files = files or [FIXTURE]
    return files[:limit] if limit else files


@pytest.fixture
def tiny_cfg() -> ModelConfig:
    return ModelConfig(token_dim=(4, 4), embed_dim=8, latent_dim=16)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``gpu`` need a CUDA device: skipped where torch sees none."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device (torch.cuda.is_available() is False)")
    for item in items:
        if item.get_closest_marker("gpu") is not None:
            item.add_marker(skip)
