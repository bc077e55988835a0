"""``tokun params`` and ``tokun lm``: tokun as the input and output layers of a language model. Their flags list the
library's model names, so they are added when the command is used (``tokun --help`` imports no torch)."""

from __future__ import annotations

import argparse
import sys

from .common import add_json, command, print_json, set_threads


def add_params(sub: argparse._SubParsersAction) -> None:
    command(
        sub,
        "params",
        cmd_params,
        "parameters of a llama-style model, with its vocabulary layers replaced by tokun",
        model=False,
        flags=_params_flags,
    )


def _params_flags(p: argparse.ArgumentParser) -> None:
    from ..lm.params import LLMS

    p.add_argument("--llm", required=True, help=", ".join(LLMS))
    p.add_argument("--tokun", default="4x16", help="tokun preset replacing the vocabulary layers")
    p.add_argument("--text", nargs="*", help="texts on which to measure cl100k positions per 1,000 characters")
    add_json(p, "print JSON")


def cmd_params(args: argparse.Namespace) -> int:
    from ..lm.params import report, table_rows

    bpe = None
    if args.text:
        from ..core.reference import cl100k_chars_per_token
        from ..core.textio import read_corpus

        bpe = cl100k_chars_per_token(read_corpus(args.text, example="tokun params --llm llama3-8b --text corpora/"))
    result = report(args.llm, args.tokun, bpe_chars_per_token=bpe)
    if args.json:
        return print_json(result)
    o, t256, tw = result["original"], result["tokun_at_256"], result["tokun_at_model_width"]
    print(f"{args.llm}: {result['config']}")
    print(f"{'':26} {'original':>15} {'tokun @256':>15} {'tokun @dim':>15}")
    for label, a, b, c in table_rows(result):
        print(f"{label:26} {a:>15,} {b:>15,} {c:>15,}")
    per = o.get("positions_per_1000_chars", "n/a (give --text to measure cl100k)")
    print(
        f"{'positions / 1000 chars':26} {per!s:>15} {t256['positions_per_1000_chars']:>15} {tw['positions_per_1000_chars']:>15}"
    )
    print(f"per block: {o['per_block']:,}")
    return 0


def add_lm(sub: argparse._SubParsersAction) -> None:
    command(
        sub, "lm", None, "a small llama over tokun latents, compared with bytes and BPE", model=False, flags=_lm_flags
    )


def _lm_flags(p: argparse.ArgumentParser) -> None:
    from ..lm.compare import DEFAULT_MODELS, PRESETS
    from ..lm.zoo import BEST_OF, MODELS

    p.add_argument("--model", default=None, help="tokun model at both ends (default: 4x16)")
    lm_sub = p.add_subparsers(dest="lm_command", required=True, metavar="LM_COMMAND")
    c = lm_sub.add_parser("compare", help="train tokun, byte and BPE models on the same FLOPs; bits per byte on test")
    c.set_defaults(func=cmd_lm_compare)
    c.add_argument(
        "--corpora",
        nargs="*",
        default=["../shared/corpora"],
        help="text files, folders of *.txt, or a folder of shards from `tokun encode-dataset`",
    )
    c.add_argument("--minutes", type=float, help="training wall-clock per model and seed (default 8 without --flops)")
    c.add_argument("--flops", type=float, help="training FLOPs per model and seed (ends first of this and --minutes)")
    c.add_argument("--seeds", type=int, default=1, help="seeds per model: mean and 95 %% interval (default 1)")
    c.add_argument(
        "--models",
        nargs="+",
        default=list(DEFAULT_MODELS),
        metavar="NAME",
        help=f"tokun (the best of {', '.join(BEST_OF)}, chosen on the tune split), "
        + ", ".join(m for m in MODELS if m not in ("tokun", *BEST_OF))
        + " (each of the four also by its name)",
    )
    c.add_argument(
        "--lr",
        type=float,
        nargs="+",
        default=[1e-3],
        help="peak learning rate (default 1e-3); several: each model's is chosen by a sweep scored on the tune split "
        "(a recipe's lr may also be a table of each model's own)",
    )
    c.add_argument("--model", default=argparse.SUPPRESS, help="tokun model at both ends (default: 4x16)")
    c.add_argument(
        "--batch-size",
        type=int,
        default=16,
        help="windows a step (default 16); with several --context-chars, the first context's (the others keep its "
        "characters per step)",
    )
    c.add_argument("--threads", type=int)
    c.add_argument("--device", default="cpu", help="cpu or cuda")
    c.add_argument("--preset", choices=sorted(PRESETS), default="cpu", help="body size and contexts (default cpu)")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--out", default="runs/lm", help="where the trained models and compare.json go")
    c.add_argument(
        "--context-chars",
        type=float,
        nargs="+",
        default=[160.0],
        help="each model's window spans about this many characters (default 160; several: one comparison each, "
        "OUT/ctx-N)",
    )
    c.add_argument(
        "--generate-chars",
        type=int,
        default=200,
        help="characters of each test file that every model writes through its generation loop, timed (0: none)",
    )
    c.add_argument(
        "--best-of",
        nargs="+",
        default=list(BEST_OF),
        help=f"the tokun patch models that `tokun` is chosen from on the tune split (default {' '.join(BEST_OF)})",
    )
    c.add_argument("--recipe", help="a recipe file (recipes/lm-compare.toml) instead of the options above")
    c.add_argument("--json", action="store_true")
    g = lm_sub.add_parser("generate", help="continue a prompt with a trained language model")
    g.set_defaults(func=cmd_lm_generate)
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


def cmd_lm_generate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..lm.generate import generate, model_folder

    generate(
        args.prompt,
        folder=model_folder(Path(args.out), args.model_name),
        blocks=args.blocks,
        chars=args.chars,
        temperature=args.temperature,
        top_p=args.top_p,
        seed=args.seed,
        stream=sys.stdout,
    )
    print()
    return 0


def cmd_lm_compare(args: argparse.Namespace) -> int:
    from pathlib import Path

    import torch

    from ..core.errors import InputError
    from ..lm.compare import PRESETS, compare, compare_contexts, compare_recipe
    from ..lm.report import summary_rows

    set_threads(args.threads)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"--device {args.device}: no CUDA device is available")
    progress = sys.stderr.isatty()

    def log(line: str) -> None:  # a line per training run: what a run in the background (nohup) shows
        print(f"tokun lm compare: {line}", file=sys.stderr, flush=True)

    if args.recipe:
        result = compare_recipe(Path(args.recipe), progress=progress, log=log)
        if "models" not in result:  # several contexts: {chars: {model: figures}}
            return print_json(result)
    else:
        options = dict(
            minutes=args.minutes if args.minutes is not None or args.flops else 8.0,
            flops=args.flops,
            seeds=args.seeds,
            models=tuple(args.models),
            lr=tuple(args.lr),
            out=Path(args.out),
            batch=args.batch_size,
            seed=args.seed,
            tokun_model=args.model or "4x16",
            progress=progress,
            device=args.device,
            cfg=PRESETS[args.preset],
            generate_chars=args.generate_chars,
            best_of=tuple(args.best_of),
            log=log,
        )
        if len(args.context_chars) > 1:
            return print_json(compare_contexts(args.corpora, context_chars=args.context_chars, **options))
        result = compare(args.corpora, context_chars=args.context_chars[0], **options)
    if args.json:
        return print_json(result)
    split = result["split"]
    print(
        f"budget {result['budget']} per model; train {split['train_chars']:,} chars, tune {split['tune_chars']:,}, "
        f"test {split['test_chars']:,} (choices on tune, figures on test)"
    )
    print(
        f"{'model':18} {'bits/byte':>9} {'95 % interval':>15} {'seeds':>13} {'pos/1000ch':>10} {'vocab params':>12} "
        f"{'body params':>11} {'train ch/s':>10} {'train FLOPs':>11} {'langs won':>9}"
    )
    for row in summary_rows(result):
        lo, hi = row["ci"]
        print(
            f"{row['model']:18} {row['bits_per_byte']:>9.4f} {f'{lo:.4f}-{hi:.4f}':>15} "
            f"{row['seeds_std']:>6.4f} ({row['seeds']}) {row['positions_per_1000_chars']:>10.1f} "
            f"{row['vocabulary_parameters']:>12,} {row['body_parameters']:>11,} {row['train_chars_per_s']:>10,.0f} "
            f"{row['train_flops']:>11.3g} {row['languages_won']:>6}/{row['languages']}"
        )
    for pair, p in result["paired"].items():
        print(
            f"{pair}: {p['mean']:+.4f} bits/byte, 95 % interval {p['ci'][0]:+.4f} to {p['ci'][1]:+.4f}: {p['verdict']}"
        )
        if tally := result.get("paired_per_language", {}).get(pair, {}).get("tally"):
            print(
                f"  per test file (intervals over seeds): {tally['win']} wins, {tally['loss']} losses, {tally['tie']} ties"
            )
    if result.get("cl100k_positions_per_1000_chars"):
        print(f"cl100k_base reference: {result['cl100k_positions_per_1000_chars']:.1f} positions per 1000 characters")
    return 0
