"""Is it the decoder or the code? Under isotropic noise, where a block is misread, is the right text's codeword
nearer the noisy latent than the codeword of what the decoder read?

    python experiments/codeword_check.py ../shared/corpora --model 4x16 --k 0.3 0.5 0.75   # ~1 min

For each k, the blocks the decoder misreads (``--max-blocks`` sampled as ``tokun noise`` does, σ as there) are
split into those whose right text encodes nearer the noisy latent than the misreading does — a better decoder
or a nearest-codeword search could read them — and those where the misreading is the nearer codeword, which no
decoder that weighs the latent alone can get right: the code itself (the encoder's geometry) is the limit there.
Also printed: the log-likelihood ratio of the two readings under the noise, (d_read² - d_right²) / (2 (kσ)²) in
nats (> 0: the right text is the likelier), whose size says how much a prior over texts would have to make up.
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
from tokun.decoding.tokenizer import Tokenizer
from tokun.evaluation.noise import corpus_blocks, isotropic_noise


def check(tok: Tokenizer, cps: np.ndarray, k: float, *, seed: int = 0) -> dict:
    z = tok.encode_bytes(codec.codepoints_to_bytes(cps))  # (N, L)
    sigma = float(latent_sigma(z))
    scale = k * sigma  # the noise's standard deviation
    noisy = isotropic_noise(z, k, sigma, generator=torch.Generator().manual_seed(seed))
    read = codec.bytes_to_codepoints(tok.decode_bytes(noisy))  # (N, C)
    bad = (read != cps).any(1)
    d_right = (noisy[bad] - z[bad]).norm(dim=-1)
    d_read = (noisy[bad] - tok.encode_bytes(codec.codepoints_to_bytes(read[bad]))).norm(dim=-1)
    llr = ((d_read**2 - d_right**2) / (2 * scale**2)).numpy() if scale else np.zeros(0)
    return {
        "k": k,
        "char_accuracy": float((read == cps).mean()),
        "blocks": int(len(cps)),
        "misread_blocks": int(bad.sum()),
        "right_text_nearer": float((d_right < d_read).float().mean()) if bad.any() else None,
        "llr_nats_quartiles": np.percentile(llr, [25, 50, 75]).round(2).tolist() if len(llr) else None,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", help="UTF-8 text files or folders of *.txt")
    p.add_argument("--model", default=None)
    p.add_argument("--k", type=float, nargs="+", default=[0.3, 0.5, 0.75])
    p.add_argument("--max-blocks", type=int, default=4096)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    try:
        tok = Tokenizer.load(args.model, verify=False)  # the decoder's own reading
        cps = corpus_blocks(tok, args.paths, max_blocks=args.max_blocks, seed=args.seed)
    except TokunError as e:  # a bad path or model: a message, not a traceback
        print(f"codeword_check: error: {e}", file=sys.stderr)
        return 2
    rows = [check(tok, cps, k, seed=args.seed) for k in args.k]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print("| k | char accuracy | misread blocks | right text's codeword nearer | LLR quartiles (nats) |")
    print("|---:|---:|---:|---:|---|")
    for r in rows:
        near = "" if r["right_text_nearer"] is None else f"{r['right_text_nearer']:.0%}"
        print(f"| {r['k']} | {r['char_accuracy']:.3%} | {r['misread_blocks']} | {near} | {r['llr_nats_quartiles']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
