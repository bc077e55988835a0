"""The ``tokun`` command: a table of subcommands, each an ``add_<name>(subparsers)`` / ``cmd_<name>(args)`` pair
that parses its flags, calls the library, and prints. Heavy modules (torch, training, evaluation) are imported
inside the command that needs them, so ``tokun --help`` imports no torch.

User mistakes (:class:`~tokun.core.errors.TokunError`) print one line ``tokun: error: ...`` on stderr and exit
with 2.

    text.py      encode, decode, roundtrip
    measure.py   eval, info, bench, noise, inspect
    train.py     train, split, prior build
    lm.py        params, lm compare, lm generate
    data.py      encode-dataset, decode-dataset, export onnx
    common.py    the options several commands share, and the tokenizer they load
"""

from __future__ import annotations

import argparse
import sys

from ..core.errors import Interrupted, TokunError
from ..core.version import __version__
from . import data, lm, measure, text, train
from .common import Parser

COMMANDS = (  # in the order `tokun --help` lists them
    text.add_encode,
    text.add_decode,
    text.add_roundtrip,
    measure.add_eval,
    measure.add_info,
    measure.add_bench,
    measure.add_noise,
    lm.add_params,
    lm.add_lm,
    train.add_split,
    train.add_prior,
    data.add_export,
    data.add_encode_dataset,
    data.add_decode_dataset,
    measure.add_inspect,
    train.add_train,
)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="tokun", description="Neural tokenizer: text <-> latent vectors.")
    parser.add_argument("--version", action="version", version=f"tokun {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except Interrupted as err:  # a long job's own account of what it kept and how to continue
        print(f"tokun: {err}", file=sys.stderr)
        return 130
    except TokunError as err:
        print(f"tokun: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tokun: interrupted; no output was written", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 141
