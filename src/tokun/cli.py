"""The ``tokun`` command: thin dispatch to the library. Each subcommand is one function.

User mistakes (TokunError) print one line ``tokun: error: ...`` on stderr and exit with 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable

from . import __version__
from .errors import InputError, TokunError

LATENTS = "latents"


def _tokenizer(args: argparse.Namespace):
    from .tokenizer import Tokenizer

    return Tokenizer.load(args.model, device=getattr(args, "device", None) or "cpu")


def cmd_encode(args: argparse.Namespace) -> int:
    from safetensors.torch import save

    from .files import read_input, write_output

    text = read_input(args.input, errors=args.errors)
    tok = _tokenizer(args)
    latents = tok.encode(text)  # (N, L)
    metadata = {
        "chars": str(len(text)),
        "model": tok.name,
        "model_sha256": tok.fingerprint,
        "block_chars": str(tok.block_chars),
        "tokun_version": __version__,
    }
    write_output(args.output, save({LATENTS: latents.contiguous()}, metadata=metadata))
    if args.output != "-" and not args.quiet:
        print(f"{args.input}: {len(text)} characters -> {tuple(latents.shape)} latents in {args.output}", file=sys.stderr)
    return 0


def read_latents(path: str) -> tuple[Any, dict[str, str]]:
    """The ``latents`` tensor and metadata of a safetensors file, with clear errors."""
    from safetensors import SafetensorError, safe_open

    if path == "-":
        raise InputError("decode reads a safetensors file, not stdin: give its path")
    try:
        with safe_open(path, framework="pt") as fh:
            names = list(fh.keys())
            if LATENTS not in names:
                raise InputError(f"{path} holds no tensor named '{LATENTS}' (found: {', '.join(names) or 'none'})")
            return fh.get_tensor(LATENTS), dict(fh.metadata() or {})
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a directory, not a safetensors file") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except (SafetensorError, OSError, ValueError) as err:
        raise InputError(f"{path} is not a safetensors file written by `tokun encode` ({err})") from None


def cmd_decode(args: argparse.Namespace) -> int:
    from .files import write_output

    latents, meta = read_latents(args.input)
    tok = _tokenizer(args)
    made_by = meta.get("model_sha256")
    if made_by and tok.fingerprint and made_by != tok.fingerprint:
        raise InputError(
            f"{args.input} was encoded by model {meta.get('model', '?')!r}, not by {tok.name!r}: "
            f"decode it with --model {meta.get('model', '?')}"
        )
    length = None
    if "chars" in meta:
        try:
            length = int(meta["chars"])
        except ValueError:
            raise InputError(f"{args.input}: metadata 'chars' is not an integer ({meta['chars']!r})") from None
        rows = latents.shape[0] if latents.ndim else 0
        if not (rows - 1) * tok.block_chars < length <= rows * tok.block_chars and not (length == 0 and rows == 0):
            raise InputError(
                f"{args.input}: metadata says {length} characters but the tensor holds {rows} latents "
                f"({tok.block_chars} characters each)"
            )
    text = tok.decode(latents, length=length)
    write_output(args.output, text.encode("utf-8"))
    return 0


def cmd_roundtrip(args: argparse.Namespace) -> int:
    from .evaluate import text_metrics
    from .files import read_text, text_files

    tok = _tokenizer(args)
    files = text_files(args.files)
    if not files:
        raise InputError("roundtrip needs at least one file or folder")
    worst = 1.0
    rows = []
    for path in files:
        m = text_metrics(tok, read_text(path), offsets=[0])
        worst = min(worst, m["char_accuracy"])
        rows.append((str(path), m))
    if args.json:
        print(json.dumps({"model": tok.name, "files": {p: m for p, m in rows}}, indent=2))
    else:
        width = max(len(p) for p, _ in rows)
        print(f"{'file':<{width}}  {'chars':>9}  {'char acc':>9}  {'block acc':>9}")
        for p, m in rows:
            print(f"{p:<{width}}  {m['chars']:>9}  {m['char_accuracy']:>9.4%}  {m['block_accuracy']:>9.4%}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .evaluate import evaluate

    tok = _tokenizer(args)
    if not args.paths and not args.random:
        raise InputError("eval needs text files/folders or --random SPEC")
    result = evaluate(tok, args.paths, args.random, samples=args.samples, seed=args.seed, progress=not args.json)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    rows = [(p, m) for p, m in result["files"].items()] + [(f"random:{s}", m) for s, m in result["random"].items()]
    width = max(len(r[0]) for r in rows)
    print(f"model {result['model']}")
    print(f"{'set':<{width}}  {'chars':>9}  {'byte acc':>10}  {'char acc':>10}  {'block acc':>10}  offset")
    for name, m in rows:
        print(
            f"{name:<{width}}  {m['chars']:>9}  {m['byte_accuracy']:>10.5%}  {m['char_accuracy']:>10.5%}  "
            f"{m['block_accuracy']:>10.5%}  {m.get('worst_offset', '')}"
        )
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from .model import count_parameters

    tok = _tokenizer(args)
    cfg = tok.model.cfg
    info = {
        "model": tok.name,
        "sha256": tok.fingerprint,
        "config": cfg.to_dict(),
        "parameters": {
            "encoder": count_parameters(tok.model.encoder),
            "decoder": count_parameters(tok.model.decoder),
            "total": count_parameters(tok.model),
        },
        "compression": {
            "chars_per_latent": cfg.block_chars,
            "bytes_per_latent_utf32": cfg.block_bytes,
            "latent_dim": cfg.latent_dim,
            "sequence_length_per_1000_chars": -(-1000 // cfg.block_chars),
        },
    }
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        p, c = info["parameters"], info["compression"]
        print(f"model        {tok.name} (sha256 {tok.fingerprint})")
        print(f"token_dim    {list(cfg.token_dim)}  embed {cfg.embed_dim}  latent {cfg.latent_dim}  "
              f"attention {cfg.attention}  layer_norm {cfg.layer_norm}  activation {cfg.activation}")
        print(f"parameters   encoder {p['encoder']:,}  decoder {p['decoder']:,}  total {p['total']:,}")
        print(f"compression  {c['chars_per_latent']} characters ({c['bytes_per_latent_utf32']} UTF-32 bytes) "
              f"-> one {c['latent_dim']}-d vector; {c['sequence_length_per_1000_chars']} positions per 1,000 characters")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from .train import run

    return run(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tokun", description="Neural tokenizer: text <-> latent vectors.")
    parser.add_argument("--version", action="version", version=f"tokun {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, func: Callable[[argparse.Namespace], int], help: str, model: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(func=func)
        if model:
            p.add_argument("--model", default=None, help="shipped model name or model directory (default: 4x16)")
        return p

    p = command("encode", cmd_encode, "encode UTF-8 text into latents (safetensors)")
    p.add_argument("input", nargs="?", default="-", help="UTF-8 text file, or - for stdin (default)")
    p.add_argument("-o", "--output", required=True, help="output .safetensors file (- for stdout)")
    p.add_argument("--errors", choices=["strict", "replace"], default="strict",
                   help="invalid UTF-8: fail naming the byte offset (strict), or substitute U+FFFD (replace)")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary line on stderr")

    p = command("decode", cmd_decode, "decode latents (safetensors from `tokun encode`) into UTF-8 text")
    p.add_argument("input", help="input .safetensors file")
    p.add_argument("-o", "--output", default="-", help="output text file (default: - for stdout)")

    p = command("roundtrip", cmd_roundtrip, "encode and decode files; print per-file accuracy")
    p.add_argument("files", nargs="+", help="UTF-8 text files or folders of *.txt")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = command("eval", cmd_eval, "accuracy on text files (worst of all cut offsets) and random codepoints")
    p.add_argument("paths", nargs="*", help="UTF-8 text files or folders of *.txt")
    p.add_argument("--random", nargs="*", default=[], metavar="SPEC",
                   help="planes0-3, plane0..plane16, assigned, all, or START-STOP")
    p.add_argument("--samples", type=int, default=1_000_000, help="characters per random spec (default 1,000,000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random codepoints")
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = command("info", cmd_info, "configuration, parameter counts and compression of a model")
    p.add_argument("--json", action="store_true", help="print JSON")

    from .train import add_arguments

    p = command("train", cmd_train, "train an autoencoder (also under torchrun for DDP)", model=False)
    add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except TokunError as err:
        print(f"tokun: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tokun: interrupted; no output was written", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 141


if __name__ == "__main__":
    sys.exit(main())
