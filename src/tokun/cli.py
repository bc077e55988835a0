"""The ``tokun`` command: thin dispatch to the library. Each subcommand is one function.

User mistakes (TokunError) print one line ``tokun: error: ...`` on stderr and exit with 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from . import __version__
from .core.errors import InputError, Interrupted, TokunError


def _tokenizer(args: argparse.Namespace):
    import torch

    from .decoding.tokenizer import Tokenizer

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


def cmd_encode(args: argparse.Namespace) -> int:
    from .streaming.latents_file import encode_file

    tok = _tokenizer(args)
    progress = not args.quiet and sys.stderr.isatty()
    chars, rows = encode_file(tok, args.input, args.output, errors=args.errors, progress=progress)
    if args.output != "-" and not args.quiet:
        print(
            f"{args.input}: {chars} characters -> ({rows}, {tok.latent_dim}) latents in {args.output}", file=sys.stderr
        )
    return 0


def cmd_decode(args: argparse.Namespace) -> int:
    from .streaming.latents_file import decode_file

    decode_file(_tokenizer(args), args.input, args.output, progress=sys.stderr.isatty() and args.output != "-")
    return 0


def cmd_roundtrip(args: argparse.Namespace) -> int:
    from .core.textio import read_text, text_files
    from .evaluation.accuracy import text_metrics

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
    from .evaluation.accuracy import evaluate

    tok = _tokenizer(args)
    if not args.paths and not args.random:
        raise InputError("eval needs text files/folders or --random SPEC")
    offsets = None if args.offsets is None else range(args.offsets)
    result = evaluate(
        tok,
        args.paths,
        args.random,
        samples=args.samples,
        seed=args.seed,
        offsets=offsets,
        progress=not args.json and sys.stderr.isatty(),
    )
    result["dtype"] = args.dtype
    result["decode_dtype"] = args.decode_dtype or args.dtype
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
    from .core.model import count_parameters

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
        print(
            f"token_dim    {list(cfg.token_dim)}  embed {cfg.embed_dim}  latent {cfg.latent_dim}  "
            f"attention {cfg.attention}  layer_norm {cfg.layer_norm}  activation {cfg.activation}"
        )
        print(f"parameters   encoder {p['encoder']:,}  decoder {p['decoder']:,}  total {p['total']:,}")
        print(
            f"compression  {c['chars_per_latent']} characters ({c['bytes_per_latent_utf32']} UTF-32 bytes) "
            f"-> one {c['latent_dim']}-d vector; {c['sequence_length_per_1000_chars']} positions per 1,000 characters"
        )
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .core.textio import read_text, text_files
    from .evaluation.bench import bench

    files = text_files(args.paths) if args.paths else []
    if not files:
        raise InputError("bench needs text files or folders, e.g. tokun bench ../shared/corpora")
    text = "\n".join(read_text(p) for p in files)
    tok = _tokenizer(args)
    if args.batch_size is not None:
        if args.batch_size < 1:
            raise InputError(f"--batch-size must be positive, got {args.batch_size}")
        tok.batch_size = args.batch_size
    import tempfile

    with tempfile.TemporaryDirectory(prefix="tokun-bench-") as tmp:
        others = {"onnxruntime": _onnx_backend(args, f"{tmp}/onnx")} if args.backend == "onnxruntime" else {}
        result = bench(tok, text, repeats=args.repeats, threads=args.threads, others=others)
    result["batch_size"] = tok.batch_size
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    t, k, r = result["tokun"], result["tiktoken"], result["ratio"]
    print(
        f"{result['chars']:,} characters, {result['threads']} threads, {result['device']}, exact roundtrip: {result['exact']}"
    )
    print(f"{'':10} {'encode chars/s':>16} {'decode chars/s':>16}")
    print(f"{'tokun':10} {t['encode_chars_per_s']:>16,.0f} {t['decode_chars_per_s']:>16,.0f}")
    print(f"{'tiktoken':10} {k['encode_chars_per_s']:>16,.0f} {k['decode_chars_per_s']:>16,.0f}")
    print(f"{'ratio':10} {r['encode']:>16.4f} {r['decode']:>16.4f}")
    if "onnxruntime" in result:  # --backend onnxruntime
        o = result["onnxruntime"]
        print(f"{'onnxrt':10} {o['encode_chars_per_s']:>16,.0f} {o['decode_chars_per_s']:>16,.0f}  exact: {o['exact']}")
    print(f"peak RSS {t['peak_rss_mb']:.0f} MB")
    return 0


def cmd_noise(args: argparse.Namespace) -> int:
    from .evaluation import noise

    if not args.paths:
        raise InputError("noise needs text files or folders, e.g. tokun noise ../shared/corpora")
    result = noise.measure(_tokenizer(args), args.paths, max_blocks=args.max_blocks, draws=args.draws, seed=args.seed)
    if args.plot:
        plot_noise(result, args.plot)
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return 0
    print(f"model {result['model']}, {result['blocks']} blocks, sigma {result['sigma']:.4f}")
    print(f"{'k':>5}  {'isotropic':>10}  {'structured':>10}")
    for (k, iso), (_, st) in zip(result["isotropic"]["curve"], result["structured"]["curve"]):
        print(f"{k:>5}  {iso:>10.5f}  {st:>10.5f}")
    print(
        f"k* (char accuracy >= 0.999): isotropic {result['isotropic']['k_star']}, structured {result['structured']['k_star']}"
    )
    print(f"int8 latents: char accuracy {result['int8']['char_accuracy']:.5f}")
    print(f"spread of sigma_d over dimensions (std / mean): {result['sigma_d_spread']:.3f}")
    d = result["distance"]
    print(f"Spearman(latent L2, edit distance) = {d['spearman_l2_vs_edit']:.3f}")
    print(f"nearest blocks to {d['neighbours']['block']!r}:")
    for n in d["neighbours"]["nearest"]:
        print(
            f"  {n['distance']:8.3f}  common {n['common_chars']:.2f}  same position {n['same_position']:.2f}  {n['block']!r}"
        )
    return 0


def plot_noise(result: dict, path: str) -> None:
    try:
        import matplotlib
    except ImportError:
        raise InputError("--plot needs matplotlib: pip install -e '.[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for kind in ("isotropic", "structured"):
        ks, acc = zip(*result[kind]["curve"])
        ax.plot(ks, acc, marker="o", label=f"{kind} (k* = {result[kind]['k_star']})")
    ax.axhline(0.999, color="grey", linestyle=":", label="0.999")
    ax.set_xlabel("noise k (multiples of sigma)")
    ax.set_ylabel("character accuracy")
    ax.set_title(f"tokun {result['model']}: latent noise tolerance")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def cmd_params(args: argparse.Namespace) -> int:
    from .lm.params import report

    bpe = None
    if args.text:
        from .core.reference import cl100k
        from .core.textio import read_text, text_files

        text = "\n".join(read_text(p) for p in text_files(args.text))
        bpe = len(text) / max(1, len(cl100k().encode(text, disallowed_special=())))
    result = report(args.llm, args.tokun, bpe_chars_per_token=bpe)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    o, t256, tw = result["original"], result["tokun_at_256"], result["tokun_at_model_width"]
    print(f"{args.llm}: {result['config']}")
    print(f"{'':26} {'original':>15} {'tokun @256':>15} {'tokun @dim':>15}")
    rows = [
        ("input layer", o["embedding"], t256["tokun_encoder"] + t256["projections"] // 2, tw["tokun_encoder"]),
        ("blocks", o["blocks"], t256["blocks"], tw["blocks"]),
        ("output layer", o["head"], t256["tokun_decoder"] + t256["projections"] // 2, tw["tokun_decoder"]),
        ("total", o["total"], t256["total"], tw["total"]),
    ]
    for label, a, b, c in rows:
        print(f"{label:26} {a:>15,} {b:>15,} {c:>15,}")
    per = o.get("positions_per_1000_chars", "n/a (give --text to measure cl100k)")
    print(
        f"{'positions / 1000 chars':26} {per!s:>15} {t256['positions_per_1000_chars']:>15} {tw['positions_per_1000_chars']:>15}"
    )
    print(f"per block: {o['per_block']:,}")
    return 0


def cmd_lm(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .lm import compare as lm_train

    if args.lm_command == "generate":
        lm_train.generate(
            args.prompt,
            folder=lm_train.model_folder(Path(args.out), args.model_name),
            blocks=args.blocks,
            chars=args.chars,
            temperature=args.temperature,
            top_p=args.top_p,
            seed=args.seed,
            stream=sys.stdout,
        )
        print()
        return 0
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"--device {args.device}: no CUDA device is available")
    result = lm_train.compare(
        args.corpora,
        minutes=args.minutes if args.minutes is not None or args.flops else 8.0,
        flops=args.flops,
        seeds=args.seeds,
        models=tuple(args.models),
        lr=tuple(args.lr),
        out=Path(args.out),
        batch=args.batch_size,
        seed=args.seed,
        tokun_model=args.model or "4x16",
        progress=sys.stderr.isatty(),
        device=args.device,
        cfg=lm_train.PRESETS[args.preset],
    )
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    import numpy as np

    print(
        f"budget {result['budget']} per model; train {result['train_chars']:,} chars, validation {result['val_chars']:,}"
    )
    print(
        f"{'model':13} {'bits/byte':>9} {'seeds':>13} {'pos/1000ch':>10} {'vocab params':>12} {'body params':>11} "
        f"{'train ch/s':>10} {'train FLOPs':>11} {'langs won':>9}"
    )
    models = result["models"]
    for kind, m in models.items():
        wins = sum(
            all(
                m["per_language"][lang] <= o["per_language"].get(lang, 1e9)
                for k, o in models.items()
                if k != kind and k != m.get("model") and o.get("model") != kind  # `tokun` is one of the others
            )
            for lang in m["per_language"]
        )
        print(
            f"{kind:13} {m['bits_per_byte']:>9.4f} {np.std(m['bits_per_byte_seeds'], ddof=min(1, len(m['bits_per_byte_seeds']) - 1)):>6.4f} ({len(m['bits_per_byte_seeds'])}) "
            f"{m['positions_per_1000_chars']:>10.1f} "
            f"{m['parameters']['vocabulary']:>12,} {m['parameters']['body']:>11,} {m['train_chars_per_s']:>10,.0f} "
            f"{m['train_flops']:>11.3g} {wins:>6}/{len(m['per_language'])}"
        )
    if result.get("cl100k_positions_per_1000_chars"):
        print(f"cl100k_base reference: {result['cl100k_positions_per_1000_chars']:.1f} positions per 1000 characters")
    return 0


def cmd_split(args: argparse.Namespace) -> int:
    from .core.splits import write_split

    files = write_split(args.corpora, args.out, tail=args.tail)
    rule = "the last tenth of each file" if args.tail else "every 10th line"
    print(f"{len(files)} files split ({rule} held out) into {args.out}/train and {args.out}/val", file=sys.stderr)
    return 0


def cmd_prior(args: argparse.Namespace) -> int:
    from .decoding.prior import CharPrior

    prior = CharPrior.from_texts(args.paths, order=args.order)
    prior.save(args.out)
    grams = ", ".join(f"{len(keys):,} {m}-grams" for m, (keys, _) in prior.grams.items())
    print(f"{prior.total:,} characters, {prior.size:,} distinct, {grams} -> {args.out}", file=sys.stderr)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.recipe:
        from .training.recipe import run_args

        return run_args(args)
    from .training.train import run

    return run(args)


# --- cmd_export (issue 18) ---


def cmd_export(args: argparse.Namespace) -> int:
    from .core.checkpoint import load_model
    from .integrations.onnx import export_onnx

    out = export_onnx(load_model(args.model), args.out_dir, opset=args.opset)
    print(f"wrote {out}/encoder.onnx (bytes -> latents) and {out}/decoder.onnx (latents -> logits)", file=sys.stderr)
    return 0


def _onnx_backend(args: argparse.Namespace, folder: str):
    """`bench --backend onnxruntime`: the model exported into ``folder``, read back by onnxruntime."""
    from .core.checkpoint import load_model
    from .integrations.onnx import OnnxTokenizer, export_onnx, onnxruntime

    onnxruntime()  # a missing onnxruntime fails before the export's seconds
    export_onnx(load_model(args.model), folder)
    return OnnxTokenizer(folder, batch_size=args.batch_size or 512, threads=args.threads, verify=not args.no_verify)


# --- cmd_encode_dataset / cmd_decode_dataset (issue 19) ---


def cmd_encode_dataset(args: argparse.Namespace) -> int:
    import torch

    from .streaming.datasets import encode_dataset
    from .streaming.ray_data import ray_runner

    if args.threads:
        torch.set_num_threads(args.threads)
    tok = _tokenizer(args)
    runner = ray_runner(args.ray, workers=args.workers, threads=args.threads, device=args.device) if args.ray else None
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


def cmd_decode_dataset(args: argparse.Namespace) -> int:
    import torch

    from .core.shards import read_manifest
    from .streaming.datasets import decode_dataset
    from .streaming.ray_data import ray_runner

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.model is None:
        args.model = read_manifest(args.input)["model"]  # the model that made the shards
    runner = ray_runner(args.ray, workers=args.workers, threads=args.threads, device=args.device) if args.ray else None
    documents, chars = decode_dataset(
        _tokenizer(args),
        args.input,
        args.out,
        columns=args.columns,
        progress=not args.quiet and sys.stderr.isatty(),
        runner=runner,
    )
    if not args.quiet:
        print(f"{args.input}: {documents:,} documents, {chars:,} characters -> {args.out}", file=sys.stderr)
    return 0


# --- cmd_inspect (issue 21) ---


def _json_file(path: str, command: str) -> dict:
    """The JSON object of ``tokun COMMAND --json`` in ``path``, checked for every key the report reads."""
    from .core.textio import read_text
    from .inspection.report import REQUIRED, missing

    what = f"tokun {command} --json"
    try:
        data = json.loads(read_text(path, remedy=f"give the output of {what}"))
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: not JSON ({err.msg} at line {err.lineno}); give the output of {what}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: not a JSON object; give the output of {what}")
    if problem := missing(data, REQUIRED[command]):
        raise InputError(f"{path}: {problem}; give the output of {what}")
    return data


def cmd_inspect(args: argparse.Namespace) -> int:
    from .inspection.inspect import inspect

    if not args.corpora:
        raise InputError("inspect needs text files or folders, e.g. tokun inspect ../shared/corpora --out report")
    tok = _tokenizer(args)
    progress = sys.stderr.isatty()
    accuracy = args.eval and _json_file(args.eval, "eval")
    noise_result = args.noise and _json_file(args.noise, "noise")
    speed = args.bench and _json_file(args.bench, "bench")
    if args.all:  # small samples: the report's figures in a minute, `tokun eval/noise/bench` for the full ones
        from .evaluation import noise
        from .evaluation.accuracy import evaluate
        from .inspection.embeddings import read_corpora

        read_corpora(args.corpora)  # inspect's error for a file that is not UTF-8, before eval's
        accuracy = accuracy or evaluate(
            tok, args.corpora, ["planes0-3"], samples=20_000, offsets=[0], progress=progress
        )
        noise_result = noise_result or noise.measure(tok, args.corpora, max_blocks=512, draws=1)
        if not speed:
            try:
                import tempfile

                from .core.textio import read_text, text_files
                from .evaluation.bench import bench
                from .integrations.onnx import installed_backends

                text = "\n".join(read_text(p) for p in text_files(args.corpora))[:200_000]
                with tempfile.TemporaryDirectory(prefix="tokun-bench-") as tmp:  # every backend installed
                    speed = bench(tok, text, repeats=1, others=installed_backends(tok, tmp))
            except ImportError:
                print("tokun: bench skipped: it needs tiktoken (pip install -e '.[bench]')", file=sys.stderr)
    result = inspect(
        tok,
        args.corpora,
        args.out,
        max_points=args.max_points,
        methods=tuple(args.maps),
        seed=args.seed,
        accuracy=accuracy or None,
        noise=noise_result or None,
        speed=speed or None,
        progress=progress,
    )
    print(
        f"{result['characters']:,} characters ({result['mapped_characters']:,} mapped), {result['blocks']:,} blocks "
        f"-> {result['report']}",
        file=sys.stderr,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tokun", description="Neural tokenizer: text <-> latent vectors.")
    parser.add_argument("--version", action="version", version=f"tokun {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str, func: Callable[[argparse.Namespace], int], help: str, model: bool = True
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(func=func)
        if model:
            p.add_argument("--model", default=None, help="shipped model name or model directory (default: 4x16)")
        return p

    p = command("encode", cmd_encode, "encode UTF-8 text into latents (safetensors)")
    p.add_argument("input", nargs="?", default="-", help="UTF-8 text file, or - for stdin (default)")
    p.add_argument("-o", "--output", required=True, help="output .safetensors file (- for stdout)")
    p.add_argument(
        "--errors",
        choices=["strict", "replace"],
        default="strict",
        help="invalid UTF-8: fail naming the byte offset (strict), or substitute U+FFFD (replace)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no summary line on stderr")

    p = command("decode", cmd_decode, "decode latents (safetensors from `tokun encode`) into UTF-8 text")
    p.add_argument("input", help="input .safetensors file")
    p.add_argument("-o", "--output", default="-", help="output text file (default: - for stdout)")
    p.add_argument("--decode-dtype", choices=["float32", "bfloat16"], help="decoder precision (default float32)")
    add_verify(p)

    p = command("roundtrip", cmd_roundtrip, "encode and decode files; print per-file accuracy")
    p.add_argument("files", nargs="+", help="UTF-8 text files or folders of *.txt")
    add_verify(p)
    p.add_argument("--json", action="store_true", help="print JSON")

    p = command("eval", cmd_eval, "accuracy on text files (worst of all cut offsets) and random codepoints")
    p.add_argument("paths", nargs="*", help="UTF-8 text files or folders of *.txt")
    p.add_argument(
        "--random",
        nargs="*",
        default=[],
        metavar="SPEC",
        help="planes0-3, plane0..plane16, assigned, all, or START-STOP",
    )
    p.add_argument("--samples", type=int, default=1_000_000, help="characters per random spec (default 1,000,000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random codepoints")
    p.add_argument("--dtype", choices=["float32", "float16", "bfloat16"], default="float32", help="inference precision")
    p.add_argument(
        "--decode-dtype", choices=["float32", "float16", "bfloat16"], help="decoder precision (default: --dtype)"
    )
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--offsets", type=int, help="cut offsets to try (default: all, 0..block_chars-1)")
    add_verify(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = command("info", cmd_info, "configuration, parameter counts and compression of a model")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = command("bench", cmd_bench, "throughput of tokun encode/decode against tiktoken cl100k_base, side by side")
    p.add_argument("paths", nargs="*", help="UTF-8 text files or folders of *.txt")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--repeats", type=int, default=5, help="interleaved repetitions; the median is reported")
    p.add_argument("--batch-size", type=int, help="blocks per model call (default: the tokenizer's, 512)")
    p.add_argument("--decode-dtype", choices=["float32", "bfloat16"], help="decoder precision (default float32)")
    p.add_argument(
        "--backend",
        choices=["torch", "onnxruntime"],
        default="torch",
        help="onnxruntime: also time the model exported to ONNX, under its own key (pip install -e '.[onnx]')",
    )
    add_verify(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = command("noise", cmd_noise, "noise tolerance of the latents, int8 latents, and latent distances")
    p.add_argument("paths", nargs="*", help="UTF-8 text files or folders of *.txt")
    p.add_argument("--max-blocks", type=int, default=4096, help="blocks sampled from the texts (default 4096)")
    p.add_argument("--draws", type=int, default=3, help="noise draws per k")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", help="save a PNG of accuracy against k")
    add_verify(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = command(
        "params",
        cmd_params,
        "parameters of a llama-style model, with its vocabulary layers replaced by tokun",
        model=False,
    )
    p.add_argument("--llm", required=True, help="llama3-8b, llama3-8b-simplified, llama3.2-1b, llama3.2-3b, tiny-256")
    p.add_argument("--tokun", default="4x16", help="tokun preset replacing the vocabulary layers")
    p.add_argument("--text", nargs="*", help="texts on which to measure cl100k positions per 1,000 characters")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = command("lm", cmd_lm, "a small llama over tokun latents, compared with bytes and BPE")
    lm_sub = p.add_subparsers(dest="lm_command", required=True, metavar="LM_COMMAND")
    c = lm_sub.add_parser("compare", help="train tokun, byte and BPE models for the same time; bits per byte")
    c.add_argument(
        "--corpora",
        nargs="*",
        default=["../shared/corpora"],
        help="text files, folders of *.txt, or a folder of shards from `tokun encode-dataset`",
    )
    c.add_argument("--minutes", type=float, help="training wall-clock per model and seed (default 8 without --flops)")
    c.add_argument("--flops", type=float, help="training FLOPs per model and seed (ends first of this and --minutes)")
    c.add_argument("--seeds", type=int, default=1, help="seeds per model: mean and spread reported (default 1)")
    c.add_argument(
        "--models",
        nargs="+",
        default=["tokun", "patch-learned", "tokun-direct", "bytes", "bpe"],
        metavar="NAME",
        help="tokun (the best of tokun-words, tokun-words8, tokun-words8-tuned, tokun-16), tokun-8, tokun-4, "
        "patch-learned, tokun-direct, bytes, bpe (each of the four also by its name)",
    )
    c.add_argument(
        "--lr",
        type=float,
        nargs="+",
        default=[1e-3],
        help="peak learning rate (default 1e-3); several: each model's is tuned by a sweep on part of the training text",
    )
    c.add_argument("--model", default=argparse.SUPPRESS, help="tokun model at both ends (default: 4x16)")
    c.add_argument("--batch-size", type=int, default=16)
    c.add_argument("--threads", type=int)
    c.add_argument("--device", default="cpu", help="cpu or cuda")
    c.add_argument("--preset", choices=["cpu", "gpu"], default="cpu", help="body size and contexts (default cpu)")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--out", default="runs/lm", help="where the trained models and compare.json go")
    c.add_argument("--json", action="store_true")
    g = lm_sub.add_parser("generate", help="continue a prompt with the trained tokun language model")
    g.add_argument("--prompt", required=True)
    g.add_argument(
        "--blocks",
        type=int,
        default=8,
        help="patches to generate (tokun-direct: 16-character blocks; bytes, bpe: tokens)",
    )
    g.add_argument("--chars", type=int, help="generate this many characters instead (any model: same-length samples)")
    g.add_argument("--out", default="runs/lm", help="folder of `tokun lm compare`")
    g.add_argument(
        "--model",
        dest="model_name",
        default="tokun",
        help="which trained model of --out, bytes and bpe included (default tokun: the best tokun patch model)",
    )
    g.add_argument("--temperature", type=float, default=0.8, help="0: the likeliest byte (default 0.8)")
    g.add_argument("--top-p", type=float, default=0.95, help="nucleus sampling (default 0.95)")
    g.add_argument("--seed", type=int, default=0, help="the same seed gives the same text")

    p = command("split", cmd_split, "split a corpus into training and held-out text, by line", model=False)
    p.add_argument("corpora", help="a UTF-8 text file or a folder of *.txt")
    p.add_argument("out", help="output folder: OUT/train/ and OUT/val/, one file per input file")
    p.add_argument(
        "--tail", action="store_true", help="hold out the last tenth of each file (default: every 10th line)"
    )

    p = command("prior", cmd_prior, "the character prior of posterior decoding", model=False)
    prior_sub = p.add_subparsers(dest="prior_command", required=True, metavar="PRIOR_COMMAND")
    b = prior_sub.add_parser("build", help="count a character n-gram prior from UTF-8 texts (no text is stored)")
    b.add_argument("paths", nargs="+", help="UTF-8 text files or folders of *.txt")
    b.add_argument("--out", required=True, help="the prior file to write (safetensors)")
    b.add_argument("--order", type=int, default=4, help="characters per n-gram, 1 to 6 (default %(default)s)")

    # --- export: Hugging Face and ONNX (issue 18) ---
    p = command("export", lambda args: args.export_func(args), "export a model for other runtimes", model=False)
    export_sub = p.add_subparsers(dest="export_command", required=True, metavar="FORMAT")
    e = export_sub.add_parser(
        "onnx",
        help="OUT_DIR/encoder.onnx (bytes uint8 (N, B), B the model's bytes per block -> latents) and decoder.onnx "
        "(latents -> logits)",
    )
    e.set_defaults(export_func=cmd_export)
    e.add_argument("out_dir", metavar="OUT_DIR", help="a new or empty directory (a previous export is replaced)")
    e.add_argument("--model", default=None, help="shipped model name or model directory (default: 4x16)")
    e.add_argument("--opset", type=int, default=18, help="ONNX opset, 18 or later (default 18)")

    # --- encode-dataset / decode-dataset: corpora at scale (issue 19) ---
    p = command("encode-dataset", cmd_encode_dataset, "encode Parquet/JSONL/Arrow documents into Parquet shards")
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

    p = command("decode-dataset", cmd_decode_dataset, "decode Parquet shards back into the rows they were read from")
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

    # --- inspect: maps, neighbours, projector, report (issue 21) ---

    from .inspection.inspect import MAX_POINTS
    from .inspection.maps import METHODS

    p = command("inspect", cmd_inspect, "maps, neighbour tables, a projector export and one HTML report of a model")
    p.add_argument("corpora", nargs="*", help="UTF-8 text files or folders of *.txt")
    p.add_argument("--out", required=True, help="output folder: OUT/index.html, OUT/maps/, OUT/projector/")
    p.add_argument(
        "--max-points", type=int, default=MAX_POINTS, help="points per map, at least 10 (default %(default)s)"
    )
    p.add_argument("--maps", nargs="+", default=list(METHODS), choices=METHODS, help="projections (default: all)")
    p.add_argument("--eval", metavar="FILE", help="`tokun eval --json` output: accuracy per language in the report")
    p.add_argument("--noise", metavar="FILE", help="`tokun noise --json` output: the noise curves in the report")
    p.add_argument("--bench", metavar="FILE", help="`tokun bench --json` output: the speed in the report")
    p.add_argument("--all", action="store_true", help="measure accuracy, noise and speed (small samples) if not given")
    p.add_argument("--seed", type=int, default=0)

    from .training.train import add_arguments

    p = command("train", cmd_train, "train an autoencoder (also under torchrun for DDP)", model=False)
    add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except Interrupted as err:  # a long job's own account of what it kept
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
