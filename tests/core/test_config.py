import json

import pytest

from tokun.core.config import PRESETS, ModelConfig, preset
from tokun.core.errors import ConfigError
from tokun.training.config import TrainConfig


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_roundtrip_through_json(name: str) -> None:
    cfg = preset(name)
    assert ModelConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


def test_block_sizes() -> None:
    assert (preset("4x16").block_bytes, preset("4x16").block_chars) == (64, 16)
    assert (ModelConfig(token_dim=(4, 4)).block_bytes, ModelConfig(token_dim=(4, 4)).block_chars) == (16, 4)
    assert ModelConfig(token_dim=(4, 4, 4), embed_dim=256, hidden_dim=None).block_widths() == [256, 256, 256, 256]
    assert preset("4x4x8").block_chars == 32


def test_train_config_roundtrip() -> None:
    cfg = TrainConfig(model=ModelConfig(token_dim=(4, 4)), random=("plane0", "assigned"), steps=7)
    assert TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"token_dim": (3, 3)}, "multiple of 4"),
        ({"token_dim": ()}, "non-empty"),
        ({"activation": "swish"}, "activation must be one of"),
        ({"latent_dim": 0}, "latent_dim must be positive"),
        ({"attention": True, "heads": 3}, "divisible"),
    ],
)
def test_bad_model_config(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ModelConfig(**kwargs)


def test_unknown_keys_and_presets() -> None:
    with pytest.raises(ConfigError, match="unknown ModelConfig keys: colour"):
        ModelConfig.from_dict({"colour": "blue"})
    with pytest.raises(ConfigError, match="presets: 4x16"):
        preset("4x17")
    with pytest.raises(ConfigError, match="needs data"):
        TrainConfig(random=(), texts=())


def test_presets_are_the_shipped_models() -> None:
    """A shipped model's name means one thing everywhere: preset(name), ModelConfig() for the default, and the
    configuration its weights were saved with."""
    from tokun.core.checkpoint import read_config, shipped_models, weights_root

    assert shipped_models(), "no shipped model found"
    for name in shipped_models():
        assert preset(name) == read_config(weights_root() / name), name
    assert ModelConfig() == preset("4x16")
    assert ModelConfig().block_widths() == [64, 128, 256]
