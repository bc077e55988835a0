"""``tokun lm compare``: the same transformer over tokun patches, tokun blocks, bytes and BPE, at equal training
FLOPs, scored in bits per UTF-8 byte by a protocol that cannot flatter any model (docs/lm.md).

    splits       every corpus file split by line into train, tune and test (lm.data)
    choices      every choice is made on tune: each model's learning rate (a sweep, one seed), and which tokun
                 patch model of BEST_OF is `tokun` (:func:`pick_best` sees tune scores only)
    training     each model for the same FLOPs (or wall-clock), warm-up and decay as shares of its own steps
                 (lm.train), ``seeds`` times; each text starts from the shared start U+0002
    report       test is read once: every UTF-8 byte of it scored by every model exactly once, with a sliding
                 window (lm.evaluate); each model's mean and 95 % interval over seeds and test files, and the paired
                 differences tokun − bpe and tokun − bytes with a verdict (lm.stats)

On a GPU: ``tokun lm compare --device cuda --preset gpu --flops 1e15`` (a wider, deeper body and 4x longer
contexts; batch 64). The trained models are saved under ``--out`` as safetensors + JSON (the last seed's).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from functools import partial
from pathlib import Path
from typing import Any

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

import numpy as np

from ..core.checkpoint import atomic_dir
from ..core.config import preset
from ..core.errors import InputError
from .data import Encoded, Splits, split_corpus
from .evaluate import evaluate
from .flops import forward_flops, macs_per_block
from .generate import chars_per_second
from .model import LMConfig
from .report import paired_differences, summarise
from .train import Budget, Schedule, train
from .zoo import BEST_OF, MODELS, PATCH_MODELS, PATCH_NAMES, check_tokun_model, make

PRESETS = {
    "cpu": LMConfig(),  # 4 layers x 256; contexts: CONTEXTS
    "gpu": LMConfig(dim=512, layers=8, heads=8, ffn=1376, context=256),  # contexts x4
}
# Positions per window (cpu preset; the gpu preset x4) without --context-chars. The byte, BPE and patch models'
# windows span about the same text: 256 bytes ~ 147 characters, 128 BPE tokens ~ 189, 32 word patches of <= 8
# characters ~ 164 (on the corpora). tokun-direct keeps its 64 blocks of 16 characters (the design before).
CONTEXTS = {"tokun-direct": 64, "bytes": 256, "bpe": 128, "patch": 32}
DEFAULT_CONTEXT_CHARS = 160.0  # every model's window spans about this many characters (None: CONTEXTS' positions)
DEFAULT_MODELS = ("tokun", "patch-learned", "tokun-direct", "bytes", "bpe")


def pick_best(tune: dict[str, float]) -> str:
    """The model of lowest bits per byte among ``tune``: ``{name: bits per byte on the tune split}``. It is given
    tune scores only, so no choice reads the test split."""
    return min(tune, key=tune.__getitem__)


def context_positions(name: str, base: LMConfig, chars_per_position: float, context_chars: float | None) -> int:
    """Positions of model ``name``'s window: about ``context_chars`` characters of its training text when given,
    else :data:`CONTEXTS` scaled by the preset's context (64 on the cpu preset)."""
    if context_chars:
        return max(4, round(context_chars / chars_per_position))
    return CONTEXTS["patch" if name in PATCH_MODELS else name] * base.context // 64


def pretraining_flops(tokun_model: str, recipes: Path = Path("recipes")) -> float | None:
    """Training FLOPs of the tokun autoencoder's recipe (``recipes/NAME.toml``: every stage's steps x batch, 6
    FLOPs per multiply-add of encoder and decoder), or None when the recipe is not there."""
    path = recipes / f"{tokun_model}.toml"
    if not path.is_file():
        return None
    recipe = tomllib.loads(path.read_text(encoding="utf-8"))
    batch = recipe.get("defaults", {}).get("batch_size", 256)
    blocks = sum(stage.get("steps", 0) * stage.get("batch_size", batch) for stage in recipe.get("stage", []))
    enc, dec = macs_per_block(preset(tokun_model))
    return float(6 * (enc + dec) * blocks)


def compare(
    corpora: list[str],
    *,
    minutes: float | None,
    out: Path,
    flops: float | None = None,
    seeds: int = 1,
    models: tuple[str, ...] = DEFAULT_MODELS,
    batch: int = 16,
    lr: float | tuple[float, ...] | dict[str, float | tuple[float, ...]] = 1e-3,
    seed: int = 0,
    tokun_model: str = "4x16",
    progress: bool = True,
    device: str = "cpu",
    cfg: LMConfig | None = None,
    context_chars: float | None = DEFAULT_CONTEXT_CHARS,
    schedule: Schedule = Schedule(),
    stride_share: float = 0.5,
    generate_chars: int = 200,
    best_of: tuple[str, ...] = BEST_OF,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train each of ``models`` for ``flops`` and/or ``minutes`` (the first reached ends), ``seeds`` times, and
    report them on the test split (the protocol: this module's docstring). ``tokun`` trains every model of
    ``best_of`` (:data:`BEST_OF`) and reports the one best on tune. Several rates ``lr``: each model's is the best on tune of one
    run per rate (the first seed, whose run is then reused); ``{model: rates}``: each trained model's own (e.g. the
    rates an earlier comparison chose on tune). ``context_chars``: every model's window spans about
    that many characters of its training text (None: :data:`CONTEXTS`' positions, unequal in characters). ``log``
    receives a line per training run and per model (what a long run in the background shows). Writes
    ``out/compare.json`` and each model's files; returns the JSON. Resumable: each model's folder keeps its figures
    (``result.json``) with a fingerprint of the text, the options and the version; a rerun of the same comparison
    keeps the models it finds finished and trains the rest."""
    base = cfg or LMConfig()
    say = log or (lambda line: None)
    rates_of = learning_rates(lr)
    if not minutes and not flops:
        raise InputError("lm compare needs a budget: --minutes N, --flops F, or both (the first reached ends training)")
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise InputError(f"lm compare --models: unknown {', '.join(unknown)}; models: {', '.join(MODELS)}")
    best_of = (best_of,) if isinstance(best_of, str) else tuple(best_of)
    if not best_of or any(m not in PATCH_MODELS or m == "patch-learned" for m in best_of):
        tokun_models = ", ".join(m for m in PATCH_MODELS if m != "patch-learned")
        raise InputError(f"lm compare --best-of: tokun patch models only ({tokun_models}), got {list(best_of)}")
    if seeds < 1:
        raise InputError(f"--seeds must be at least 1, got {seeds}")
    check_tokun_model(tokun_model)
    splits = split_corpus(corpora)
    train_text = "\n".join(splits.train.values())
    if len(train_text) < 20_000:
        raise InputError("lm compare needs more training text (at least 20,000 characters)")
    out.mkdir(parents=True, exist_ok=True)
    budget = Budget(flops=flops, seconds=60 * (minutes or 0), batch=batch)
    result: dict[str, Any] = {
        "budget": {"minutes": minutes, "flops": flops, "seeds": seeds},
        "minutes_per_model": minutes,
        "train_chars": len(train_text),
        "val_chars": splits.chars()["test_chars"],  # the reported split (test)
        "split": splits.chars(),
        "chosen_on": "tune",
        "protocol": {
            "splits": "by line, of every 10: the 1st to tune, the 6th to test, the rest to train",
            "start": "U+0002",
            "window": f"sliding, stride {stride_share:g} of the context",
            "schedule": {"warmup": schedule.warmup, "decay": schedule.decay, "min_ratio": schedule.min_ratio},
            "interval": "95 %, bootstrap over seeds and test files",
            "verdict": "win if the interval of the difference is below 0, loss if above, else tie",
        },
        "models": {},
        "test_bytes_per_file": {},
    }
    run = [m for m in MODELS if m != "tokun" and (m in models or (m in best_of and "tokun" in models))]
    rates_by_model = {
        m: rates_of.get(m) or rates_of.get("tokun" if m in best_of else m) or rates_of.get("*") for m in run
    }
    if missing := [m for m, rates in rates_by_model.items() if not rates]:
        raise InputError(f"lm compare: no learning rate for {', '.join(missing)} (--lr names {', '.join(rates_of)})")
    test_all = "\n".join(splits.test.values())
    speed_texts = [text[:generate_chars] for text in splits.test.values()]  # every model writes these alike
    files = [name for name, text in splits.test.items() if text]
    fingerprint = comparison_key(  # what a model's figures depend on: a finished model is kept on a rerun
        splits, flops=flops, minutes=minutes, seeds=seeds, batch=batch, lr=rates_of.get("*") if list(rates_of) == ["*"] else rates_of, seed=seed, tokun_model=tokun_model,
        cfg=asdict(base), context_chars=context_chars, schedule=asdict(schedule), stride_share=stride_share,
        generate_chars=generate_chars, device=device,
    )  # fmt: skip
    for name in run:
        if finished := kept_model(out / name, fingerprint):
            result["models"][name], result["test_bytes_per_file"] = finished["model"], finished["test_bytes_per_file"]
            say(f"{name}: kept from an earlier run of this comparison ({out / name / RESULT}; delete it to retrain)")
            continue
        t0 = time.time()
        model = make(name, train_text, tokun_model)
        fit_seconds = time.time() - t0
        data = Encoded.concat([model.encode(text) for text in splits.train.values()])  # each file from the start
        chars_per_position = len(train_text) / len(data)
        context = context_positions(name, base, chars_per_position, context_chars)
        cfg_model = replace(base, context=context)

        fit = partial(  # fit(lr=..., seed=...): one training run of this model
            train, model, data, cfg_model, budget=budget, schedule=schedule,
            chars_per_position=chars_per_position, progress=progress, device=device,
        )  # fmt: skip

        sweep, kept, rates = {}, {}, rates_by_model[name]
        if len(rates) > 1:
            for rate in rates:
                kept[rate] = (fit(lr=rate, seed=seed), {k: v.clone() for k, v in model.network.state_dict().items()})
                sweep[rate] = evaluate(model, splits.tune, stride_share=stride_share)["bits_per_byte"]
                say(f"{name} lr {rate:g} seed {seed}: {run_line(kept[rate][0])}, tune {sweep[rate]:.4f} bits/byte")
        best_lr = pick_best(sweep) if sweep else rates[0]
        runs = []
        for s in range(seeds):
            if s == 0 and best_lr in kept:  # the sweep's run at the chosen rate is the first seed's
                info, state = kept[best_lr]
                model.build(cfg_model).load_state_dict(state)
                model.network.to(device).eval()
            else:
                info = fit(lr=best_lr, seed=seed + s)
            info["tune"] = evaluate(model, splits.tune, stride_share=stride_share)
            if not (s == 0 and best_lr in kept):
                say(
                    f"{name} lr {best_lr:g} seed {seed + s}: {run_line(info)}, tune {info['tune']['bits_per_byte']:.4f} bits/byte"
                )
            info["test"] = evaluate(model, splits.test, stride_share=stride_share)
            runs.append(info)
        bits = np.array([[r["test"]["bits"][f] for f in files] for r in runs])  # (S, F) test bits
        result["test_bytes_per_file"] = {f: runs[0]["test"]["bytes"][f] for f in files}
        model.network.cpu()
        result["models"][name] = summarise(runs, bits, files, result["test_bytes_per_file"])
        result["models"][name].update(
            lr=best_lr,
            lr_sweep={f"{rate:g}": bpb for rate, bpb in sweep.items()},
            patch=PATCH_MODELS.get(name) or PATCH_NAMES[name],
            positions_per_1000_chars=1000 * (len(model.encode(test_all)) - 1) / max(1, len(test_all)),
            context_positions=context,
            context_chars=context * chars_per_position,
            inference_flops_per_byte=inference_flops_per_byte(model, test_all),
            generate_chars_per_s=chars_per_second(model, speed_texts) if generate_chars else None,
            fit_seconds=fit_seconds,  # BPE's training, the latents' spread: before the language model's
        )
        with atomic_dir(out / name) as folder:  # the model and its figures appear together, or not at all
            model.save(folder)
            finished = {"key": fingerprint, "model": result["models"][name]}
            finished["test_bytes_per_file"] = result["test_bytes_per_file"]
            (folder / RESULT).write_text(json.dumps(finished, indent=2) + "\n")
        lo, hi = result["models"][name]["bits_per_byte_ci"]
        say(f"{name}: lr {best_lr:g}, test {result['models'][name]['bits_per_byte']:.4f} bits/byte ({lo:.4f}-{hi:.4f})")
    if "tokun" in models:
        best = pick_best({m: result["models"][m]["tune_bits_per_byte"] for m in best_of})
        say(f"tokun = {best}, the best on tune of {', '.join(best_of)}")
        result["models"]["tokun"] = {**result["models"][best], "best_of": list(best_of), "model": best}
    result.update(paired_differences(result))
    result["flops"] = flops_table(result, tokun_model)
    try:
        from ..core.reference import cl100k

        result["cl100k_positions_per_1000_chars"] = (
            1000 * len(cl100k().encode(test_all, disallowed_special=())) / len(test_all)
        )
    except Exception:  # the reference is optional
        result["cl100k_positions_per_1000_chars"] = None
    (out / "compare.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def learning_rates(lr: float | tuple[float, ...] | dict[str, Any]) -> dict[str, tuple[float, ...]]:
    """``{model: rates}`` from ``lr``: one rate or a sweep for every model (key ``"*"``), or a table of each
    model's own (``tokun``'s serves the patch models it is chosen from); an error names an unknown model or a rate
    that is not a positive number."""
    table = lr if isinstance(lr, dict) else {"*": lr}
    if unknown := [name for name in table if name not in MODELS and name != "*"]:
        raise InputError(f"--lr: no model named {', '.join(unknown)}; models: {', '.join(MODELS)}")
    rates_of = {name: tuple(r) if isinstance(r, (tuple, list)) else (r,) for name, r in table.items()}
    for name, rates in rates_of.items():
        if not rates or not all(isinstance(r, (int, float)) and r > 0 for r in rates):
            where = "" if name == "*" else f" of {name}"
            raise InputError(f"--lr: learning rates{where} must be positive numbers, got {list(rates)}")
    return rates_of


RESULT = "result.json"  # a finished model's figures in its folder, with the comparison's fingerprint


def comparison_key(splits: Splits, **options: Any) -> str:
    """A fingerprint of one comparison: the three splits' text, ``options`` and tokun's version."""
    from ..core.version import __version__

    h = hashlib.sha256(json.dumps({**options, "version": __version__}, sort_keys=True, default=str).encode())
    for part in (splits.train, splits.tune, splits.test):
        for name, text in sorted(part.items()):
            h.update(f"\0{name}\0".encode() + text.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def kept_model(folder: Path, key: str) -> dict[str, Any] | None:
    """The figures a finished model left in ``folder`` for the comparison ``key``, else None."""
    try:
        finished = json.loads((folder / RESULT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return finished if isinstance(finished, dict) and finished.get("key") == key else None


def run_line(info: dict[str, Any]) -> str:
    """One training run in a few words: its steps and minutes."""
    return f"{info['steps']:,} steps, {info['seconds'] / 60:.1f} min"


def inference_flops_per_byte(model: Any, text: str) -> float:
    """Forward FLOPs of scoring ``text`` once, position after position at the model's context, per UTF-8 byte."""
    data = model.encode(text)
    whole = data.take(np.arange(len(data))[None])  # (1, N, ...): what each position holds (a patch's length)
    return forward_flops(model.flop_parts(len(data) - 1, whole)) / max(1, int(data.nbytes.sum()))


def flops_table(result: dict[str, Any], tokun_model: str) -> dict[str, Any]:
    """Training FLOPs per model and seed, the one-time pre-training of tokun's autoencoder and of BPE on their own
    lines, and inference FLOPs per byte."""
    models = result["models"]
    return {
        "train": {name: m["train_flops"] for name, m in models.items()},
        "pretraining": {
            "tokun_autoencoder": pretraining_flops(tokun_model),
            "bpe_seconds": models.get("bpe", {}).get("fit_seconds"),  # merges counted, no matrix products
        },
        "inference_per_byte": {name: m["inference_flops_per_byte"] for name, m in models.items()},
    }


def compare_contexts(
    corpora: list[str], *, context_chars: list[float], out: Path, batch: int = 16, **kwargs: Any
) -> dict[str, Any]:
    """:func:`compare` at each of ``context_chars`` (``out/ctx-N``): bits per byte against context, in
    ``out/contexts.json`` (``{N: {model: {bits_per_byte, bits_per_byte_ci, context_chars, batch}}}``). ``batch``
    is the first context's; the others' keep its characters per step (``batch * first / N``, at least 1): a longer
    window means fewer windows a step, so steps fall only by what attention over the longer window costs."""
    by_context = {}
    for chars in context_chars:
        size = max(1, round(batch * context_chars[0] / chars))
        result = compare(corpora, out=out / f"ctx-{chars:g}", context_chars=chars, batch=size, **kwargs)
        by_context[f"{chars:g}"] = {
            name: {k: m[k] for k in ("bits_per_byte", "bits_per_byte_ci", "context_chars")} | {"batch": size}
            for name, m in result["models"].items()
        } | {"paired": result["paired"]}
    out.mkdir(parents=True, exist_ok=True)
    (out / "contexts.json").write_text(json.dumps(by_context, indent=2) + "\n")
    return by_context


RECIPE_KEYS = {
    "corpora", "minutes", "flops", "seeds", "models", "batch", "lr", "seed", "tokun_model", "device", "preset",
    "context_chars", "stride_share", "generate_chars", "warmup", "decay", "min_ratio", "threads", "out", "best_of",
}  # fmt: skip


def compare_recipe(path: Path, **overrides: Any) -> dict[str, Any]:
    """Run the comparison a recipe file describes (``recipes/lm-compare.toml``): its ``[compare]`` table holds
    :func:`compare`'s arguments (``preset`` for ``cfg``; ``warmup``, ``decay``, ``min_ratio`` for the schedule;
    ``threads``; ``context_chars``, a list: :func:`compare_contexts`). ``overrides`` (e.g. ``out``) win."""
    import torch

    recipe = tomllib.loads(Path(path).read_text(encoding="utf-8")).get("compare", {})
    unknown = set(recipe) - RECIPE_KEYS  # the file's keys; overrides are compare()'s own (progress, out)
    if unknown:
        raise InputError(f"{path}: unknown keys {sorted(unknown)} in [compare]; known: {sorted(RECIPE_KEYS)}")
    table = {**recipe, **overrides}
    if "corpora" not in table:
        raise InputError(f"{path}: [compare] needs corpora")
    if threads := table.pop("threads", None):
        torch.set_num_threads(int(threads))
    schedule = replace(Schedule(), **{k: table.pop(k) for k in ("warmup", "decay", "min_ratio") if k in table})
    corpora, contexts = table.pop("corpora"), table.pop("context_chars", None)
    table.update(
        out=Path(table.get("out", "runs/lm")),
        cfg=PRESETS[table.pop("preset", "cpu")],
        schedule=schedule,
        minutes=table.get("minutes"),
        models=tuple(table.get("models", DEFAULT_MODELS)),
        best_of=table.get("best_of", BEST_OF),
        lr=tuple(table["lr"]) if isinstance(table.get("lr"), list) else table.get("lr", 1e-3),  # or {model: rates}
    )
    if isinstance(contexts, list) and len(contexts) > 1:
        return compare_contexts(corpora, context_chars=contexts, **table)
    if isinstance(contexts, list):
        contexts = contexts[0]
    return compare(corpora, context_chars=contexts or DEFAULT_CONTEXT_CHARS, **table)
