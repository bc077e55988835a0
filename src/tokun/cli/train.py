"""``tokun train``, ``tokun split``, ``tokun prior build``: making models and what they are made from.

``tokun train``'s flags are generated from the fields of :class:`~tokun.core.config.ModelConfig` and
:class:`~tokun.training.config.TrainConfig`, so each option is declared once, in its dataclass."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.errors import ConfigError
from .common import command, set_threads

if TYPE_CHECKING:
    from ..training.config import TrainConfig

FLAG_NAMES = {"texts": "--text"}  # a field whose flag is not its name


def add_train(sub: argparse._SubParsersAction) -> None:
    command(
        sub, "train", cmd_train, "train an autoencoder (also under torchrun for DDP)", model=False, flags=_train_flags
    )


def _train_flags(p: argparse.ArgumentParser) -> None:
    from ..core.config import PRESETS, ModelConfig, field_help
    from ..training.config import TrainConfig

    p.add_argument("--recipe", metavar="FILE", help="run a recipe (recipes/*.toml): its stages, in order, into --out")
    p.add_argument("--preset", choices=sorted(PRESETS), help="model configuration (default: 4x16, the shipped default)")
    shape = p.add_argument_group("model (override the preset's, or --init's, configuration)")
    helps = field_help(ModelConfig)
    for f in dataclasses.fields(ModelConfig):
        _add_field(shape, f, helps.get(f.name, ""))
    run = p.add_argument_group("training (docs/training.md)")
    helps = field_help(TrainConfig)
    for f in dataclasses.fields(TrainConfig):
        if f.name != "model":
            default = f.default if f.default is not dataclasses.MISSING else None
            _add_field(run, f, f"{helps.get(f.name, '')} (default: {default})".strip())
    p.add_argument("--out", default=None, help="run directory (checkpoints, log, final model; default runs/tokun)")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --out")
    p.add_argument("--device", help="cpu, cuda, cuda:1... (default: cuda when available)")
    p.add_argument("--threads", type=int, help="CPU threads (default: torch's)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def cmd_train(args: argparse.Namespace) -> int:
    set_threads(args.threads)
    if args.recipe:
        from ..training.recipe import Recipe, run_recipe

        if args.preset or given_options(args):
            raise ConfigError(
                "--recipe holds every model and training option: give only --out, --resume, --device, --threads"
            )
        if not args.out:
            raise ConfigError(
                "--recipe needs --out DIR: its stages go to DIR/<stage>/ and the final model to DIR/model"
            )
        final = run_recipe(Recipe.load(args.recipe), args.out, device=args.device, progress=not args.no_progress)
        print(json.dumps({"out": str(final)}, indent=2))
        return 0
    import torch.distributed as dist

    from ..training.train import train

    out = args.out or "runs/tokun"
    result = train(config_from_args(args), out, resume=args.resume, device=args.device, progress=not args.no_progress)
    if result:
        print(json.dumps({"out": str(Path(out) / "model"), "eval": result}, indent=2))
    if dist.is_initialized():
        dist.destroy_process_group()
    return 0


def _flag(name: str) -> str:
    return FLAG_NAMES.get(name, "--" + name.replace("_", "-"))


def _add_field(p: argparse.ArgumentParser | argparse._ArgumentGroup, f: dataclasses.Field, help: str) -> None:
    """One flag for a dataclass field, typed from its annotation; default None (the config's default applies)."""
    kind = str(f.type)
    kwargs: dict[str, Any] = {"default": None, "help": help, "dest": f.name}
    if kind == "bool":
        kwargs["action"] = argparse.BooleanOptionalAction
    elif kind == "tuple[int, ...]":
        kwargs.update(type=_int_list, metavar="G,G")
    elif kind.startswith("tuple["):
        kwargs.update(nargs="*", action="extend", metavar=f.name.rstrip("s").upper())  # a repeated flag adds
    else:
        kwargs["type"] = {"int": int, "float": float}.get(kind.split(" |")[0], str)
    p.add_argument(_flag(f.name), **kwargs)


def _int_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.replace("x", ",").split(",") if x)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers like 4,16, got {text!r}") from None


def given_options(args: argparse.Namespace) -> dict[str, Any]:
    """The model and training options set on the command line: ``{field: value}``."""
    from ..core.config import ModelConfig
    from ..training.config import TrainConfig

    names = [f.name for f in dataclasses.fields(ModelConfig)] + [
        f.name for f in dataclasses.fields(TrainConfig) if f.name != "model"
    ]
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The :class:`TrainConfig` of the flags: the preset's (or ``--init`` model's) configuration, overridden."""
    from ..core.checkpoint import read_config, resolve
    from ..core.config import ModelConfig, preset
    from ..training.config import TrainConfig

    given = given_options(args)
    shape = {f.name for f in dataclasses.fields(ModelConfig)}
    if args.init and args.preset:
        raise ConfigError("--init takes the model's own configuration: drop --preset")
    base = read_config(resolve(args.init)) if args.init else preset(args.preset or "4x16")
    model = dataclasses.replace(base, **{k: v for k, v in given.items() if k in shape})
    return TrainConfig(
        model=model, **{k: tuple(v) if isinstance(v, list) else v for k, v in given.items() if k not in shape}
    )


def add_split(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "split", cmd_split, "split a corpus into training and held-out text, by line", model=False)
    p.add_argument("corpora", help="a UTF-8 text file or a folder of *.txt")
    p.add_argument("out", help="output folder: OUT/train/ and OUT/val/, one file per input file")
    p.add_argument(
        "--tail", action="store_true", help="hold out the last tenth of each file (default: every 10th line)"
    )


def cmd_split(args: argparse.Namespace) -> int:
    from ..core.splits import write_split

    files = write_split(args.corpora, args.out, tail=args.tail)
    rule = "the last tenth of each file" if args.tail else "every 10th line"
    print(f"{len(files)} files split ({rule} held out) into {args.out}/train and {args.out}/val", file=sys.stderr)
    return 0


def add_prior(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "prior", None, "the character prior of posterior decoding", model=False)
    prior_sub = p.add_subparsers(dest="prior_command", required=True, metavar="PRIOR_COMMAND")
    b = prior_sub.add_parser("build", help="count a character n-gram prior from UTF-8 texts (no text is stored)")
    b.set_defaults(func=cmd_prior_build)
    b.add_argument("paths", nargs="+", help="UTF-8 text files or folders of *.txt")
    b.add_argument("--out", required=True, help="the prior file to write (safetensors)")
    b.add_argument("--order", type=int, default=4, help="characters per n-gram, 1 to 6 (default %(default)s)")


def cmd_prior_build(args: argparse.Namespace) -> int:
    from ..decoding.prior import CharPrior

    prior = CharPrior.from_texts(args.paths, order=args.order)
    prior.save(args.out)
    grams = ", ".join(f"{len(keys):,} {m}-grams" for m, (keys, _) in prior.grams.items())
    print(f"{prior.total:,} characters, {prior.size:,} distinct, {grams} -> {args.out}", file=sys.stderr)
    return 0
