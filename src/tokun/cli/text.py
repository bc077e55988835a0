"""``tokun encode``, ``tokun decode``, ``tokun roundtrip``: text files to latents files and back."""

from __future__ import annotations

import argparse
import sys

from .common import add_json, add_verify, command, print_json, tokenizer


def add_encode(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "encode", cmd_encode, "encode UTF-8 text into latents (safetensors)")
    p.add_argument("input", nargs="?", default="-", help="UTF-8 text file, or - for stdin (default)")
    p.add_argument("-o", "--output", required=True, help="output .safetensors file (- for stdout)")
    p.add_argument(
        "--errors",
        choices=["strict", "replace"],
        default="strict",
        help="invalid UTF-8: fail naming the byte offset (strict), or substitute U+FFFD (replace)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no summary line on stderr")


def cmd_encode(args: argparse.Namespace) -> int:
    from ..streaming.latents_file import encode_file

    tok = tokenizer(args)
    progress = not args.quiet and sys.stderr.isatty()
    chars, rows = encode_file(tok, args.input, args.output, errors=args.errors, progress=progress)
    if args.output != "-" and not args.quiet:
        print(
            f"{args.input}: {chars} characters -> ({rows}, {tok.latent_dim}) latents in {args.output}", file=sys.stderr
        )
    return 0


def add_decode(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "decode", cmd_decode, "decode latents (safetensors from `tokun encode`) into UTF-8 text")
    p.add_argument("input", help="input .safetensors file")
    p.add_argument("-o", "--output", default="-", help="output text file (default: - for stdout)")
    p.add_argument("--decode-dtype", choices=["float32", "bfloat16"], help="decoder precision (default float32)")
    add_verify(p)


def cmd_decode(args: argparse.Namespace) -> int:
    from ..streaming.latents_file import decode_file

    decode_file(tokenizer(args), args.input, args.output, progress=sys.stderr.isatty() and args.output != "-")
    return 0


def add_roundtrip(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "roundtrip", cmd_roundtrip, "encode and decode files; print per-file accuracy")
    p.add_argument("files", nargs="+", help="UTF-8 text files or folders of *.txt")
    add_verify(p)
    add_json(p, "print JSON")


def cmd_roundtrip(args: argparse.Namespace) -> int:
    from ..evaluation.accuracy import evaluate

    result = evaluate(tokenizer(args), args.files, offsets=[0])
    if args.json:
        return print_json(result)
    rows = result["files"]
    width = max(len(p) for p in rows)
    print(f"{'file':<{width}}  {'chars':>9}  {'char acc':>9}  {'block acc':>9}")
    for p, m in rows.items():
        print(f"{p:<{width}}  {m['chars']:>9}  {m['char_accuracy']:>9.4%}  {m['block_accuracy']:>9.4%}")
    return 0
