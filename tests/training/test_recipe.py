"""Recipes: one file and one command reproduce a model; a rerun resumes stage by stage."""

import shutil
from pathlib import Path

import pytest
import torch

from tokun.cli import main
from tokun.core import checkpoint, codec
from tokun.core.errors import ConfigError
from tokun.core.model import latent_sigma
from tokun.core.sources import text_blocks
from tokun.training.recipe import SIGMA_BLOCKS, Recipe, rescale, run_recipe
from tokun.training.train import train

from ..conftest import FIXTURE, ROOT

TINY = f"""
[model]
token_dim = [4, 4]
embed_dim = 8
hidden_dim = 16
latent_dim = 16

[defaults]
random = ["0-0x100"]
texts = ["{{out}}/split/train"]
text_ratio = 0.5
batch_size = 16
eval_every = 10
eval_samples = 256
save_every = 5
latent_noise = 0.3
latent_dropout = 0.1
noise_on = ["text"]

[[stage]]
name = "split"
kind = "split"
corpora = "{FIXTURE.parent}"

[[stage]]
name = "base"
steps = 12
lr = 1e-2

[[stage]]
name = "scaled"
kind = "rescale"
sigma = 2.0
texts = ["{FIXTURE}"]

[[stage]]
name = "tune"
steps = 8
lr = 1e-3
seed = 1

[[stage]]
name = "prior"
kind = "prior"
texts = ["{{out}}/split/train"]
"""


def weights(folder: Path) -> dict[str, torch.Tensor]:
    return checkpoint.load_model(folder).state_dict()


def same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture
def recipe(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY, encoding="utf-8")
    return path


def test_stages_run_in_order_and_a_rerun_resumes(tmp_path: Path, recipe: Path) -> None:
    out = tmp_path / "run"
    final = run_recipe(Recipe.load(recipe), out, progress=False)
    assert final == out / "model" and same(weights(final), weights(out / "tune" / "model"))
    assert (out / "split" / "train" / FIXTURE.name).is_file() and (out / "prior" / "text.safetensors").is_file()
    tune = checkpoint.read_config(out / "tune" / "model")
    assert tune == Recipe.load(recipe).model
    rows = codec.codepoints_to_bytes(text_blocks([str(FIXTURE)], tune.block_chars, most=SIGMA_BLOCKS))
    with torch.no_grad():
        spread = float(
            latent_sigma(checkpoint.load_model(out / "scaled" / "model").eval().encoder(torch.from_numpy(rows)))
        )
    assert abs(spread - 2.0) < 1e-3  # the rescale stage's sigma
    # interrupted during "tune": its model is gone, a checkpoint remains; the rerun resumes it and skips the rest
    base_before = (out / "base" / "model" / checkpoint.WEIGHTS).stat().st_mtime_ns
    reference = weights(final)
    shutil.rmtree(out / "tune")
    shutil.rmtree(out / "model")
    cfg = Recipe.load(recipe).train_config(Recipe.load(recipe).stages[3], out, init=str(out / "scaled" / "model"))
    train(cfg, out / "tune", progress=False, stop_at=5)
    assert not (out / "tune" / "model").exists()
    run_recipe(Recipe.load(recipe), out, progress=False)
    assert (out / "base" / "model" / checkpoint.WEIGHTS).stat().st_mtime_ns == base_before
    assert same(weights(out / "model"), reference)  # resumed = uninterrupted, noise and dropout included


def test_shipped_recipes_load_and_match_the_shipped_configs() -> None:
    for name in ("4x16", "4x16-exact", "4x4x8"):
        recipe = Recipe.load(ROOT / "recipes" / f"{name}.toml", check_paths=False)  # ../shared may be absent
        assert recipe.model == checkpoint.read_config(checkpoint.weights_root() / name), name


@pytest.mark.parametrize(
    "text, message",
    [
        ("[[stage]]\nname = 'a'\nkind = 'bake'\n", "kind 'bake'"),
        ("[[stage]]\nname = 'a'\nstep = 5\n", "unknown options step"),
        ("[[stage]]\nname = 'a'\nkind = 'prior'\ntexts = ['{out}/t']\n", "at least one"),
        ("[[stage]]\nname = 'a'\nkind = 'rescale'\nsigmas = 1\ntexts = ['{out}/t']\n", "unknown options sigmas"),
        ("[[stage]]\nname = 'a'\nkind = 'split'\n", "needs corpora"),
        ("[[stage]]\nname = 'a'\ntexts = ['/no/such/folder']\n", "does not exist"),
        ("[defaults]\nlr = -1\n[[stage]]\nname = 'a'\n", "lr"),
        ("[model]\ntoken_dim = [3]\n[[stage]]\nname = 'a'\n", "multiple of 4"),
        ("[stages]\n", "unknown tables stages"),
        ("[[stage]\n", "not a valid TOML"),
    ],
)
def test_bad_recipes_say_what_is_wrong(tmp_path: Path, text: str, message: str, capsys) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        Recipe.load(path)
    assert main(["train", "--recipe", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tokun: error:") and "Traceback" not in err and not (tmp_path / "o").exists()


def test_recipe_refuses_flags_it_would_ignore(tmp_path: Path, recipe: Path, capsys) -> None:
    assert main(["train", "--recipe", str(recipe), "--out", str(tmp_path / "o"), "--lr", "0.1"]) == 2
    assert "--recipe holds every" in capsys.readouterr().err
    assert main(["train", "--recipe", str(tmp_path / "missing.toml"), "--out", str(tmp_path / "o")]) == 2
    assert "no recipe at" in capsys.readouterr().err


def test_rescale_keeps_what_decodes(tmp_path: Path) -> None:
    before, after = rescale(checkpoint.resolve("4x16"), tmp_path / "m", [str(FIXTURE)], 3.0)
    assert abs(after - 3.0) < 1e-3 and before > 0
    rows = torch.from_numpy(codec.codepoints_to_bytes(text_blocks([str(FIXTURE)], 16, most=SIGMA_BLOCKS)))
    a, b = checkpoint.load_model("4x16").eval(), checkpoint.load_model(tmp_path / "m").eval()
    with torch.no_grad():
        assert torch.equal(a(rows).argmax(-1), b(rows).argmax(-1))
