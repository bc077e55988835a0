"""Where each language model wins, by language: bits per byte per corpus file from a `tokun lm compare` run, and
how a model's ratio to the byte model follows the language's UTF-8 bytes per character and word length, and its
ratio to BPE the share of patches cut at the patch limit (mid-word: a word or an unspaced run longer than the limit).
The paired differences per test file (`lm.compare.paired_differences`: intervals over seeds) come first, with the
files tokun does not win against BPE (losses and ties), their UTF-8 bytes per character and characters per patch (of the test split).

    python experiments/lm_languages.py runs/lm-compare/compare.json [--model tokun-16] [--corpora ../shared/corpora]
    python experiments/lm_languages.py runs/a/compare.json runs/b/compare.json --model tokun-words8   # runs merged
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from tokun.lm.data import split_corpus
from tokun.lm.patch_model import BLOCK_CHARS, patches_of
from tokun.lm.patching import BREAK, kind
from tokun.lm.report import paired_differences


def bpe_chars_per_token(run: Path, texts: dict[str, str]) -> dict[str, float]:
    """Characters per token of the run's BPE (``run/bpe/bpe.json``) on each text; empty if the run has none."""
    if not (run / "bpe" / "bpe.json").is_file():
        return {}
    from tokenizers import Tokenizer

    bpe = Tokenizer.from_file(str(run / "bpe" / "bpe.json"))
    return {f: len(t) / max(1, len(bpe.encode(t).ids)) for f, t in texts.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("compare_json", nargs="+", help="compare.json of one or more runs (their models merged)")
    p.add_argument("--model", default="tokun-16")
    p.add_argument("--corpora", default="../shared/corpora")
    p.add_argument("--show", nargs="*", default=[], metavar="FILE", help="also print these files' ratio to BPE")
    args = p.parse_args()
    models: dict = {}
    result: dict = {}
    for path in args.compare_json:
        result = json.loads(Path(path).read_text())
        models.update(result["models"])
    test = split_corpus([args.corpora]).test
    if len(args.compare_json) == 1 and "tokun" in models:
        per_language = paired_differences(result)["paired_per_language"]
        for pair, entry in per_language.items():
            print(f"{pair} per test file (intervals over seeds):", entry["tally"] or "one seed: no verdicts")
        files = per_language.get("tokun-bpe", {}).get("files", {})
        not_won = {f: p for f, p in files.items() if p["verdict"] != "win"}  # losses and ties, worst first
        scheme_of_tokun = models["tokun"].get("patch", "fixed-16")
        bpe = bpe_chars_per_token(Path(args.compare_json[0]).parent, {f: test[f] for f in files})
        for f, p in sorted(not_won.items(), key=lambda kv: -kv[1]["mean"]):
            text = test[f]
            print(
                f"  tokun - bpe on {f}: {p['mean']:+.3f} [{p['ci'][0]:+.3f}, {p['ci'][1]:+.3f}] {p['verdict']}; "
                f"{len(text.encode('utf-8')) / max(1, len(text)):.2f} UTF-8 bytes/char, "
                f"{len(text) / max(1, len(patches_of(text, scheme_of_tokun))):.1f} chars/patch ({scheme_of_tokun})"
                + (f", BPE {bpe[f]:.2f} chars/token" if bpe else "")
            )
        if bpe:
            diff = [files[f]["mean"] for f in files]
            utf8 = [len(test[f].encode("utf-8")) / max(1, len(test[f])) for f in files]
            median = {
                v: np.median([bpe[f] for f in files if files[f]["verdict"] == v] or [np.nan]) for v in ("win", "loss")
            }
            print(
                f"  tokun - bpe per file: correlation with BPE's chars/token {np.corrcoef(diff, [bpe[f] for f in files])[0, 1]:+.2f}, "
                f"with UTF-8 bytes/char {np.corrcoef(diff, utf8)[0, 1]:+.2f}; BPE chars/token, median where tokun "
                f"loses {median['loss']:.2f}, wins {median['win']:.2f}"
            )
    models.pop("tokun", None)  # an alias of the best tokun patch model
    scheme = models[args.model].get("patch", "words")
    scheme = scheme if scheme.startswith(("words", "fixed")) else "words"
    langs = sorted(models[args.model]["per_language"])
    best = {name: 0 for name in models}
    for lang in langs:
        best[min(models, key=lambda m: models[m]["per_language"][lang])] += 1
    print("languages where each model is best:", {k: v for k, v in best.items() if v})
    most = int(scheme.split("-")[1]) if "-" in scheme else BLOCK_CHARS
    rows, capped = [], {}
    for stem, val in test.items():
        if stem not in langs:
            continue
        utf8 = len(val.encode("utf-8")) / max(1, len(val))
        patches = patches_of(val, scheme) or [""]
        patch = float(np.mean([len(w) for w in patches]))
        # a patch of the limit's length that does not end with a break (the word rule's kind) was cut mid-word
        capped[stem] = float(np.mean([len(w) == most and kind(w[-1])[0] != BREAK for w in patches]))
        ratio = models[args.model]["per_language"][stem] / models["bytes"]["per_language"][stem]
        rows.append((ratio, stem, utf8, patch))
    rows.sort()
    r = np.array([(x[0], x[2], x[3]) for x in rows])
    print(f"{args.model} / bytes, bits per byte: median {np.median(r[:, 0]):.3f}")
    if "bpe" in models:
        vs_bpe = [models[args.model]["per_language"][k] / models["bpe"]["per_language"][k] for k in langs]
        wins = sum(v < 1 for v in vs_bpe)
        print(
            f"{args.model} / bpe: median {np.median(vs_bpe):.3f}; {args.model} better on {wins} of {len(langs)} files"
        )
        order = sorted(zip(vs_bpe, langs))
        print("  best against bpe:", ", ".join(f"{k} {v:.2f}" for v, k in order[:6]))
        print("  worst against bpe:", ", ".join(f"{k} {v:.2f}" for v, k in order[-6:]))
        if args.show:
            print("  against bpe:", ", ".join(f"{k} {v:.2f}" for v, k in order if k in args.show))
        if scheme.startswith("words") and len(capped) == len(langs):
            share = [capped[k] for k in langs]
            print(
                f"  share of patches cut at {most} characters: median {np.median(share):.2f}; on the 6 worst files "
                + ", ".join(f"{k} {capped[k]:.2f}" for _, k in order[-6:])
                + f"; correlation with the ratio to bpe {np.corrcoef(vs_bpe, share)[0, 1]:+.2f}"
            )
    print(
        f"correlation of the ratio with UTF-8 bytes per character: {np.corrcoef(r[:, 0], r[:, 1])[0, 1]:+.2f}, "
        f"with characters per patch ({scheme}): {np.corrcoef(r[:, 0], r[:, 2])[0, 1]:+.2f}"
    )
    print(f"{'language':14} {args.model + ' / bytes':>18} {'UTF-8 B/char':>12} {'chars/patch':>11}")
    for ratio, lang, utf8, patch in rows[:8] + rows[-8:]:
        print(f"{lang:14} {ratio:18.3f} {utf8:12.2f} {patch:11.2f}")


if __name__ == "__main__":
    main()
