"""What several commands share: the model options, the tokenizer they load, verification flags, JSON output."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from ..core.errors import InputError


def add_model(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=None, help="shipped model name or model directory (default: 4x16)")


def add_verify(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--no-verify",
        action="store_true",
        help="take the decoder's reading as it is (default: re-encode each decoded block and correct the "
        "decoder's rare slips, about one encode's cost)",
    )
    prior = p.add_mutually_exclusive_group()
    prior.add_argument(
        "--no-prior",
        action="store_true",
        help="noisy latents (a model's predictions): keep the decoder's reading (default: read them by their "
        "posterior, with the shipped character prior)",
    )
    prior.add_argument("--prior", metavar="FILE", help="a character prior of your own (tokun prior build)")


def add_json(p: argparse.ArgumentParser, help: str = "print one JSON object") -> None:
    p.add_argument("--json", action="store_true", help=help)


def print_json(obj: Any) -> int:
    print(json.dumps(obj, indent=2, ensure_ascii=False))
    return 0


def set_threads(threads: int | None) -> None:
    if threads:
        import torch

        torch.set_num_threads(threads)


def tokenizer(args: argparse.Namespace):
    """The :class:`~tokun.decoding.tokenizer.Tokenizer` of ``--model`` with the command's precision, device and
    decoding options (each optional: a command declares the ones it takes)."""
    import torch

    from ..decoding.tokenizer import Tokenizer

    device = getattr(args, "device", None) or "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"--device {device}: no CUDA device is available")
    dtype = getattr(torch, getattr(args, "dtype", None) or "float32")
    decode_dtype = getattr(args, "decode_dtype", None)
    return Tokenizer.load(
        args.model,
        device=device,
        dtype=dtype,
        decode_dtype=getattr(torch, decode_dtype) if decode_dtype else None,
        verify=not getattr(args, "no_verify", False),
        prior=getattr(args, "prior", None) or not getattr(args, "no_prior", False),
    )


def command(
    sub: argparse._SubParsersAction,
    name: str,
    func: Any,
    help: str,
    *,
    model: bool = True,
    flags: Callable[[argparse.ArgumentParser], None] | None = None,
) -> argparse.ArgumentParser:
    """A subcommand's parser, running ``func(args)``; ``model``: it takes ``--model``; ``flags(parser)`` adds the
    rest of its flags when the subcommand is used (parsed or asked for help), so building the whole command line
    imports nothing that one subcommand's flags need."""
    p = sub.add_parser(name, help=help, description=help, flags=flags)
    if func is not None:  # None: a group of subcommands (tokun lm compare/generate), each with its own
        p.set_defaults(func=func)
    if model:
        add_model(p)
    return p


class Parser(argparse.ArgumentParser):
    """An argument parser whose ``flags`` are added on first use: :func:`command`."""

    def __init__(self, *args: Any, flags: Callable[[argparse.ArgumentParser], None] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._deferred = flags

    def _add_deferred(self) -> None:
        if self._deferred is not None:
            add, self._deferred = self._deferred, None
            add(self)

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        self._add_deferred()
        return super().parse_known_args(args, namespace)

    def format_help(self) -> str:
        self._add_deferred()
        return super().format_help()
