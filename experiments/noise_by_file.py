"""Where isotropic noise breaks a model: character accuracy per file at one k, next to how much each
file's blocks carry (issue: latents a model can hit).

    python experiments/noise_by_file.py ../shared/corpora --model 4x16 --k 0.5

sigma is measured over all the texts together, as ``tokun noise`` does; each file's blocks then get
N(0, (k sigma)^2) on every dimension (``--draws`` fresh draws). Next to each file's accuracy: its
unigram entropy in bits per character (a crude upper bound of what a block of it carries, 16 times
that per block, before any context) and its count of distinct characters. The files are printed
worst first, with the share of all errors that each holds.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import torch

from tokun.core import codec
from tokun.core.errors import TokunError
from tokun.core.model import latent_sigma
from tokun.core.textio import read_text, text_files
from tokun.decoding.tokenizer import Tokenizer
from tokun.evaluation.noise import char_accuracy, corpus_blocks, isotropic_noise


def unigram_bits(cps: np.ndarray) -> float:
    _, counts = np.unique(cps, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", help="text files or folders of *.txt")
    p.add_argument("--model", default="4x16")
    p.add_argument("--k", type=float, default=0.5, help="isotropic noise, in sigmas")
    p.add_argument("--max-blocks", type=int, default=400, help="blocks per file (sampled evenly)")
    p.add_argument("--draws", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    torch.manual_seed(args.seed)
    tok = Tokenizer.load(args.model)
    files = []
    for path in text_files(args.paths):
        cps = corpus_blocks(tok, [path], max_blocks=args.max_blocks, seed=args.seed)  # (N, C), as tokun noise samples
        text_cps = codec.to_codepoints(read_text(path))
        files.append((path.stem, cps, unigram_bits(text_cps), len(np.unique(text_cps))))
    latents = [tok.encode_bytes(codec.codepoints_to_bytes(cps)) for _, cps, _, _ in files]  # (N_f, L) each
    sigma = float(latent_sigma(torch.cat(latents)))
    gen = torch.Generator().manual_seed(args.seed)
    rows = []
    for (name, cps, bits, distinct), z in zip(files, latents):
        accs = [char_accuracy(tok, isotropic_noise(z, args.k, sigma, generator=gen), cps) for _ in range(args.draws)]
        acc = float(np.mean(accs))
        rows.append(
            {
                "file": name,
                "char_accuracy": acc,
                "errors": (1 - acc) * cps.size,
                "unigram_bits": bits,
                "distinct": distinct,
            }
        )
    total_errors = sum(r["errors"] for r in rows) or 1.0
    rows.sort(key=lambda r: r["char_accuracy"])
    if args.json:
        print(json.dumps({"model": tok.name, "k": args.k, "sigma": sigma, "files": rows}, indent=2))
        return
    print(f"{tok.name}: isotropic k = {args.k}, sigma {sigma:.4g} over {len(files)} files")
    print("| file | char accuracy | share of errors | unigram bits/char | distinct chars |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        share = r["errors"] / total_errors
        print(f"| {r['file']} | {r['char_accuracy']:.4%} | {share:.1%} | {r['unigram_bits']:.2f} | {r['distinct']} |")
    bits = np.array([r["unigram_bits"] for r in rows])
    accs = np.array([r["char_accuracy"] for r in rows])
    print(
        f"files at >= 99.9 %: {(accs >= 0.999).sum()} of {len(rows)}; "
        f"Pearson(unigram bits, accuracy) = {np.corrcoef(bits, accs)[0, 1]:.3f}"
    )


if __name__ == "__main__":
    torch.set_num_threads(1)
    try:
        main()
    except TokunError as e:  # a bad path or model: a message, not a traceback
        sys.exit(f"noise_by_file: error: {e}")
