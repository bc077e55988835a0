"""``tokun encode-dataset``, ``decode-dataset`` and ``export``: corpora at scale, and models for other runtimes."""

from __future__ import annotations

import argparse
import sys

from .common import add_model, add_verify, command, set_threads, tokenizer


def add_encode_dataset(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "encode-dataset", cmd_encode_dataset, "encode Parquet/JSONL/Arrow documents into Parquet shards")
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help=".parquet/.jsonl/.arrow files, folders of them, or a save_to_disk folder",
    )
    p.add_argument("--column", default="text", help="the documents' column or JSON field (default: text)")
    p.add_argument("--out", required=True, help="folder of shards (rerun the same command to resume)")
    p.add_argument(
        "--latent-dtype", choices=["float16", "float32"], default="float16", help="latents stored as (default float16)"
    )
    p.add_argument("--shard-docs", type=int, default=4096, help="documents per shard (default 4096)")
    p.add_argument(
        "--on-error",
        choices=["stop", "skip"],
        default="stop",
        help="a bad file or row: stop with status 2 (default), or report it and leave it out",
    )
    add_dataset_runner(p)


def add_dataset_runner(p: argparse.ArgumentParser) -> None:
    """encode-dataset's and decode-dataset's --ray, --workers, --threads, --device, -q."""
    p.add_argument(
        "--ray",
        nargs="?",
        const="local",
        metavar="ADDRESS",
        help="run on Ray Data: a local Ray here, or the cluster at ADDRESS (auto, ray://HOST:10001)",
    )
    p.add_argument("--workers", type=int, help="Ray actors, one model each (default: CPUs / --threads, or GPUs)")
    p.add_argument("--threads", type=int, help="torch CPU threads per process or actor")
    p.add_argument("--device", default="cpu", help="cpu or cuda (with --ray: one GPU per actor)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary line")


def _runner(args: argparse.Namespace):
    """The Ray Data runner of ``--ray`` (None: this process)."""
    from ..streaming.ray_data import ray_runner

    return ray_runner(args.ray, workers=args.workers, threads=args.threads, device=args.device) if args.ray else None


def cmd_encode_dataset(args: argparse.Namespace) -> int:
    from ..streaming.datasets import encode_dataset

    set_threads(args.threads)
    tok = tokenizer(args)
    runner = _runner(args)
    summary = encode_dataset(
        tok,
        args.inputs,
        args.out,
        column=args.column,
        dtype=args.latent_dtype,
        shard_docs=args.shard_docs,
        on_error=args.on_error,
        progress=not args.quiet and sys.stderr.isatty(),
        report=lambda line: print(f"tokun: skipped: {line}", file=sys.stderr),
        runner=runner,
    )
    if not args.quiet:
        print(
            f"{summary['documents']:,} documents, {summary['chars']:,} characters -> {args.out}: "
            f"{summary['shards']} shards ({summary['skipped_done']} already done), "
            f"{summary['problems']} problems skipped",
            file=sys.stderr,
        )
    return 0


def add_decode_dataset(sub: argparse._SubParsersAction) -> None:
    p = command(
        sub, "decode-dataset", cmd_decode_dataset, "decode Parquet shards back into the rows they were read from"
    )
    p.add_argument("input", metavar="DIR", help="folder of shards written by encode-dataset")
    p.add_argument(
        "--out",
        required=True,
        help="output .parquet file: id, the decoded text and the source's other columns, in the inputs' order "
        "(OUT.parts/ holds the decoded shards until the end: rerun the same command to resume)",
    )
    p.add_argument("--columns", nargs="+", metavar="NAME", help="write these columns only, in this order")
    add_verify(p)
    add_dataset_runner(p)


def cmd_decode_dataset(args: argparse.Namespace) -> int:
    from ..core.shards import read_manifest
    from ..streaming.decoded import decode_dataset

    set_threads(args.threads)
    if args.model is None:
        args.model = read_manifest(args.input)["model"]  # the model that made the shards
    documents, chars = decode_dataset(
        tokenizer(args),
        args.input,
        args.out,
        columns=args.columns,
        progress=not args.quiet and sys.stderr.isatty(),
        runner=_runner(args),
    )
    if not args.quiet:
        print(f"{args.input}: {documents:,} documents, {chars:,} characters -> {args.out}", file=sys.stderr)
    return 0


def add_export(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "export", None, "export a model for other runtimes", model=False)
    export_sub = p.add_subparsers(dest="export_command", required=True, metavar="FORMAT")
    e = export_sub.add_parser(
        "onnx",
        help="OUT_DIR/encoder.onnx (bytes uint8 (N, B), B the model's bytes per block -> latents) and decoder.onnx "
        "(latents -> logits)",
    )
    e.set_defaults(func=cmd_export_onnx)
    e.add_argument("out_dir", metavar="OUT_DIR", help="a new or empty directory (a previous export is replaced)")
    add_model(e)
    e.add_argument("--opset", type=int, default=18, help="ONNX opset, 18 or later (default 18)")
    e.add_argument(
        "--check",
        nargs="+",
        default=None,
        metavar="PATH",
        help="text files or folders on which to measure decoder.onnx's raw error rate (default: random codepoints)",
    )


def cmd_export_onnx(args: argparse.Namespace) -> int:
    from ..core.checkpoint import load_model
    from ..integrations.onnx import export_onnx, export_report

    out = export_onnx(load_model(args.model), args.out_dir, opset=args.opset)
    print(f"wrote {out}/encoder.onnx, decoder.onnx and verify.onnx (latents -> reading, distance)", file=sys.stderr)
    print(export_report(out, args.check))
    return 0
