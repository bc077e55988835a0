"""Recipes: a model reproduced by one file and one command, ``tokun train --recipe recipes/4x16.toml --out DIR``.

A recipe is a TOML file (docs/training.md, "Recipes"):

    [model]       the ModelConfig fields
    [defaults]    TrainConfig options shared by every training stage
    [[stage]]     in order; each has a ``name``, a ``kind`` and its own options:
        kind = "train"    (default) a training run into DIR/<name>/, from the previous stage's model if any
        kind = "rescale"  the previous model with its latents rescaled to spread ``sigma`` on ``texts``
        kind = "split"    ``corpora`` split by line into DIR/<name>/train and DIR/<name>/val (``tokun split``)
        kind = "prior"    a character prior counted from ``texts`` into DIR/<name>/text.safetensors

Every string may hold ``{out}``, replaced by DIR (``texts = ["{out}/split/train"]``). The model of the last stage
that makes one is copied to DIR/model. Running the same command again resumes: finished stages are skipped, and an
interrupted training stage resumes from its last checkpoint (its options must not change, but ``steps``).

>>> r = Recipe.from_dict({"model": {"token_dim": [4, 4], "embed_dim": 8, "hidden_dim": 16, "latent_dim": 16},
...     "defaults": {"steps": 5}, "stage": [{"name": "a"}, {"name": "b", "kind": "rescale", "texts": ["t.txt"]}]})
>>> [(s.name, s.kind) for s in r.stages], r.stages[0].options["steps"]
([('a', 'train'), ('b', 'rescale')], 5)
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..core import checkpoint, codec
from ..core.config import ModelConfig
from ..core.errors import ConfigError, InputError
from ..core.model import AutoEncoder, latent_sigma
from ..core.sources import text_blocks
from ..core.splits import write_split
from .config import TrainConfig
from .train import train

KINDS = ("train", "rescale", "split", "prior")
OPTIONS = {"rescale": {"sigma", "texts"}, "split": {"corpora", "tail"}, "prior": {"texts"}}  # train: TrainConfig's
REQUIRED = {"rescale": {"texts"}, "split": {"corpora"}, "prior": {"texts"}}
PATHS = ("texts", "corpora")  # options naming files or folders: checked before anything runs
DONE = "stage.json"  # written last into a finished split or prior stage
SIGMA_BLOCKS = 4096  # blocks of the texts over which a rescale measures the latents' spread


@dataclass(frozen=True)
class Stage:
    name: str
    kind: str = "train"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Recipe:
    model: ModelConfig
    stages: tuple[Stage, ...]

    @classmethod
    def load(cls, path: str | Path, *, check_paths: bool = True) -> Recipe:
        try:
            import tomllib
        except ImportError:  # Python 3.10
            import tomli as tomllib  # type: ignore[no-redef]

        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"no recipe at {path}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise ConfigError(f"{path}: not a valid TOML recipe: {err}") from None
        return cls.from_dict(data, source=str(path), check_paths=check_paths)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "recipe", check_paths: bool = True) -> Recipe:
        """``check_paths``: the files and folders that options name (but those under ``{out}``) must exist."""
        unknown = sorted(set(data) - {"model", "defaults", "stage"})
        if unknown:
            raise ConfigError(f"{source}: unknown tables {', '.join(unknown)} (model, defaults, stage)")
        model = ModelConfig.from_dict(data.get("model", {}))
        defaults = data.get("defaults", {})
        stages: list[Stage] = []
        for i, raw in enumerate(data.get("stage", [])):
            raw = dict(raw)
            name, kind = raw.pop("name", None), raw.pop("kind", "train")
            if not name or not str(name).replace("-", "").replace("_", "").isalnum():
                raise ConfigError(f"{source}: stage {i + 1} needs a name of letters, digits, - and _")
            if kind not in KINDS:
                raise ConfigError(f"{source}: stage {name!r} has kind {kind!r}; kinds: {', '.join(KINDS)}")
            if name in {s.name for s in stages} or name == "model":
                raise ConfigError(f"{source}: stage name {name!r} is used twice or reserved")
            options = {**defaults, **raw} if kind == "train" else raw
            if kind != "train":
                unknown = sorted(set(options) - OPTIONS[kind])
                missing = sorted(REQUIRED[kind] - set(options))
                if unknown or missing:
                    what = f"unknown options {', '.join(unknown)}" if unknown else f"needs {', '.join(missing)}"
                    raise ConfigError(
                        f"{source}: stage {name!r} ({kind}) {what}; it takes {', '.join(sorted(OPTIONS[kind]))}"
                    )
            for key in PATHS if check_paths else ():
                value = options.get(key)
                for path in [value] if isinstance(value, str) else value or []:
                    if "{out}" not in str(path) and not Path(str(path)).exists():
                        raise ConfigError(f"{source}: stage {name!r}: {key} names {path}, which does not exist")
            stages.append(Stage(name, kind, options))
        if not any(s.kind == "train" for s in stages):
            raise ConfigError(f"{source}: a recipe needs at least one [[stage]] of kind train")
        recipe = cls(model, tuple(stages))
        for stage in recipe.stages:  # every option checked before anything runs
            if stage.kind == "train":
                recipe.train_config(stage, "OUT", init="OUT/previous" if stage is not stages[0] else None)
        return recipe

    def train_config(self, stage: Stage, out: str | Path, *, init: str | None) -> TrainConfig:
        options = _expand(stage.options, out)
        if "model" in options:
            raise ConfigError(f"stage {stage.name!r}: the model's shape goes in [model], once")
        if init is not None:
            options.setdefault("init", init)
        known = {f.name for f in dataclasses.fields(TrainConfig)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ConfigError(f"stage {stage.name!r}: unknown options {', '.join(unknown)}")
        return TrainConfig(model=self.model, **{k: tuple(v) if isinstance(v, list) else v for k, v in options.items()})


def _expand(value: Any, out: str | Path) -> Any:
    if isinstance(value, str):
        return value.replace("{out}", str(out))
    if isinstance(value, list):
        return [_expand(v, out) for v in value]
    if isinstance(value, dict):
        return {k: _expand(v, out) for k, v in value.items()}
    return value


def run_recipe(recipe: Recipe, out: str | Path, *, device: str | None = None, progress: bool = True) -> Path:
    """Run (or resume) every stage of ``recipe`` into ``out``; the final model's directory (``out/model``)."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise ConfigError("--recipe runs on one process: run each stage's training under torchrun with its own flags")
    if recipe.model.decoder_mlp or recipe.model.latent_activation:
        if any(s.kind == "rescale" for s in recipe.stages):
            raise ConfigError("a rescale stage needs a linear path from the latent to the decoder (no decoder_mlp)")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model_dir: Path | None = None  # the newest stage's model
    for i, stage in enumerate(recipe.stages, 1):
        folder = out / stage.name
        note = f"tokun: stage {i}/{len(recipe.stages)} {stage.name} ({stage.kind})"
        options = _expand(stage.options, out)
        if stage.kind == "train":
            done = (folder / "model" / checkpoint.CONFIG).is_file()
            if not done:
                cfg = recipe.train_config(stage, out, init=None if model_dir is None else str(model_dir))
                resume = bool(checkpoint.list_checkpoints(folder / "checkpoints"))
                print(f"{note}{': resuming' if resume else ''}", file=sys.stderr)
                train(cfg, folder, resume=resume, device=device, progress=progress)
            model_dir = folder / "model"
        elif stage.kind == "rescale":
            if model_dir is None:
                raise ConfigError(f"stage {stage.name!r}: a rescale needs a model from an earlier stage")
            if not (folder / "model" / checkpoint.CONFIG).is_file():
                print(note, file=sys.stderr)
                before, after = rescale(
                    model_dir, folder / "model", options.get("texts", []), options.get("sigma", 1.0)
                )
                print(f"tokun: latent spread {before:.6g} -> {after:.6g}", file=sys.stderr)
            model_dir = folder / "model"
        elif not (folder / DONE).is_file():
            print(note, file=sys.stderr)
            if stage.kind == "split":
                write_split(_one(options, "corpora", stage), folder, tail=bool(options.get("tail", False)))
            else:
                from ..decoding.prior import CharPrior

                prior = CharPrior.from_texts(list(_many(options, "texts", stage)))
                folder.mkdir(parents=True, exist_ok=True)
                prior.save(folder / "text.safetensors")
            (folder / DONE).write_text(json.dumps({"stage": stage.name, "kind": stage.kind}) + "\n")
    assert model_dir is not None
    final = out / "model"
    with checkpoint.atomic_dir(final) as tmp:
        for f in model_dir.iterdir():
            shutil.copy2(f, tmp / f.name)
    return final


def rescale(source: Path, target: Path, texts: list[str], sigma: float) -> tuple[float, float]:
    """Write the model of ``source`` with its latents rescaled to spread ``sigma`` over up to 4,096 blocks of
    ``texts`` (the same function: :meth:`AutoEncoder.rescale_latents`); the spread before and after."""
    if sigma <= 0:
        raise ConfigError(f"sigma must be positive, got {sigma}")
    model = checkpoint.load_model(source)
    rows = codec.codepoints_to_bytes(text_blocks(texts, model.cfg.block_chars, most=SIGMA_BLOCKS))
    before = latent_spread(model, rows)
    model.rescale_latents(sigma / before)
    after = latent_spread(model, rows)
    checkpoint.save_model(model, target)
    return before, after


@torch.no_grad()
def latent_spread(model: AutoEncoder, rows: np.ndarray) -> float:
    model.eval()
    return float(latent_sigma(model.encoder(torch.from_numpy(rows))))


def _many(options: dict[str, Any], key: str, stage: Stage) -> list[str]:
    value = options.get(key)
    if not value:
        raise ConfigError(f"stage {stage.name!r} ({stage.kind}) needs {key} = [...]")
    return [value] if isinstance(value, str) else list(value)


def _one(options: dict[str, Any], key: str, stage: Stage) -> str:
    value = options.get(key)
    if not isinstance(value, str):
        raise ConfigError(f'stage {stage.name!r} ({stage.kind}) needs {key} = "PATH"')
    return value
