"""``tokun eval``, ``info``, ``bench``, ``noise``, ``inspect``: measuring a model and showing what it learned."""

from __future__ import annotations

import argparse
import sys

from ..inspection import MAX_POINTS, METHODS
from .common import add_json, add_verify, command, print_json, tokenizer


def add_eval(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "eval", cmd_eval, "accuracy on text files (worst of all cut offsets) and random codepoints")
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
    add_json(p)


def cmd_eval(args: argparse.Namespace) -> int:
    from ..core.errors import InputError
    from ..evaluation.accuracy import evaluate

    if not args.paths and not args.random:
        raise InputError("eval needs text files/folders or --random SPEC")
    tok = tokenizer(args)
    result = evaluate(
        tok,
        args.paths,
        args.random,
        samples=args.samples,
        seed=args.seed,
        offsets=None if args.offsets is None else range(args.offsets),
        progress=not args.json and sys.stderr.isatty(),
    )
    result["dtype"] = args.dtype
    result["decode_dtype"] = args.decode_dtype or args.dtype
    if args.json:
        return print_json(result)
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


def add_info(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "info", cmd_info, "configuration, parameter counts and compression of a model")
    add_json(p, "print JSON")


def cmd_info(args: argparse.Namespace) -> int:
    tok = tokenizer(args)
    info = tok.info()
    if args.json:
        return print_json(info)
    cfg, p, c = tok.model.cfg, info["parameters"], info["compression"]
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


def add_bench(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "bench", cmd_bench, "throughput of tokun encode/decode against tiktoken cl100k_base, side by side")
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
    add_json(p)


def cmd_bench(args: argparse.Namespace) -> int:
    import tempfile

    from ..core.errors import InputError
    from ..core.textio import read_corpus
    from ..evaluation.bench import bench

    text = read_corpus(args.paths, example="tokun bench ../shared/corpora")
    tok = tokenizer(args)
    if args.batch_size is not None:
        if args.batch_size < 1:
            raise InputError(f"--batch-size must be positive, got {args.batch_size}")
        tok.batch_size = args.batch_size
    with tempfile.TemporaryDirectory(prefix="tokun-bench-") as tmp:
        others = {}
        if args.backend == "onnxruntime":
            from ..integrations.onnx import exported_tokenizer

            others["onnxruntime"] = exported_tokenizer(
                tok.model, f"{tmp}/onnx", batch_size=tok.batch_size, threads=args.threads, verify=not args.no_verify
            )
        result = bench(tok, text, repeats=args.repeats, threads=args.threads, others=others)
    result["batch_size"] = tok.batch_size
    if args.json:
        return print_json(result)
    t, k, r = result["tokun"], result["tiktoken"], result["ratio"]
    threads = f"{result['threads']} thread{'s' if result['threads'] != 1 else ''}"
    print(f"{result['chars']:,} characters, {threads}, {result['device']}, exact roundtrip: {result['exact']}")
    print(f"{'':10} {'encode chars/s':>16} {'decode chars/s':>16}")
    print(f"{'tokun':10} {t['encode_chars_per_s']:>16,.0f} {t['decode_chars_per_s']:>16,.0f}")
    print(f"{'tiktoken':10} {k['encode_chars_per_s']:>16,.0f} {k['decode_chars_per_s']:>16,.0f}")
    print(f"{'ratio':10} {r['encode']:>16.4f} {r['decode']:>16.4f}")
    if "onnxruntime" in result:
        o = result["onnxruntime"]
        print(f"{'onnxrt':10} {o['encode_chars_per_s']:>16,.0f} {o['decode_chars_per_s']:>16,.0f}  exact: {o['exact']}")
    print(f"peak RSS {t['peak_rss_mb']:.0f} MB")
    return 0


def add_noise(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "noise", cmd_noise, "noise tolerance of the latents, int8 latents, and latent distances")
    p.add_argument("paths", nargs="*", help="UTF-8 text files or folders of *.txt")
    p.add_argument("--max-blocks", type=int, default=4096, help="blocks sampled from the texts (default 4096)")
    p.add_argument("--draws", type=int, default=3, help="noise draws per k")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", help="save a PNG of accuracy against k")
    add_verify(p)
    add_json(p)


def cmd_noise(args: argparse.Namespace) -> int:
    from ..core.errors import InputError
    from ..evaluation import noise

    if not args.paths:
        raise InputError("noise needs text files or folders, e.g. tokun noise ../shared/corpora")
    result = noise.measure(tokenizer(args), args.paths, max_blocks=args.max_blocks, draws=args.draws, seed=args.seed)
    if args.plot:
        noise.plot(result, args.plot)
    if args.json:
        return print_json(result)
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


def add_inspect(sub: argparse._SubParsersAction) -> None:
    p = command(
        sub, "inspect", cmd_inspect, "maps, neighbour tables, a projector export and one HTML report of a model"
    )
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


def cmd_inspect(args: argparse.Namespace) -> int:
    from ..core.errors import InputError
    from ..inspection.inspect import inspect
    from ..inspection.report import read_figures

    if not args.corpora:
        raise InputError("inspect needs text files or folders, e.g. tokun inspect ../shared/corpora --out report")
    tok = tokenizer(args)
    progress = sys.stderr.isatty()
    given = {
        "accuracy": args.eval and read_figures(args.eval, "eval"),
        "noise": args.noise and read_figures(args.noise, "noise"),
        "speed": args.bench and read_figures(args.bench, "bench"),
    }
    if args.all and not all(given.values()):
        import tempfile

        from ..evaluation.figures import quick_figures
        from ..inspection.embeddings import read_corpora
        from ..integrations.onnx import installed_backends

        text = "\n".join(read_corpora(args.corpora).values())  # inspect's error for a file that is not UTF-8
        with tempfile.TemporaryDirectory(prefix="tokun-bench-") as tmp:  # every backend installed
            measured = quick_figures(tok, text, args.corpora, others=installed_backends(tok, tmp), progress=progress)
        given = {key: given[key] or measured[key] for key in given}
        if given["speed"] is None:
            print("tokun: bench skipped: it needs tiktoken (pip install -e '.[bench]')", file=sys.stderr)
    result = inspect(
        tok,
        args.corpora,
        args.out,
        max_points=args.max_points,
        methods=tuple(args.maps),
        seed=args.seed,
        accuracy=given["accuracy"] or None,
        noise=given["noise"] or None,
        speed=given["speed"] or None,
        progress=progress,
    )
    print(
        f"{result['characters']:,} characters ({result['mapped_characters']:,} mapped), {result['blocks']:,} blocks "
        f"-> {result['report']}",
        file=sys.stderr,
    )
    return 0
