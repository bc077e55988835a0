"""Where posterior decoding still misreads noisy latents: a search that missed a better text, or a score that
prefers the wrong one?

    python experiments/posterior_check.py runs/split/val --k 0.5    # ~30 s

Noisy latents of text blocks (isotropic noise at k times sigma, as ``tokun noise``; one draw) are decoded as the
tokenizer decodes them (posterior, shipped prior). For each block read wrong, the posterior's score

    log p(text) + w log p_decoder(text | z) - ||E(text) - z||^2 / 2 s^2

is computed for the right text and for the reading, each term apart. If the right text scores higher, the greedy
search missed it (a wider search would help); if lower, the score itself prefers the misreading (only a better
code or a better prior would help). Prints both counts, the median of each term's difference (right - read) where
the score is to blame, and some blocks.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import torch

from tokun.core import codec
from tokun.core.errors import TokunError
from tokun.decoding.posterior import PosteriorConfig, noise_variance, score_terms
from tokun.decoding.tokenizer import Tokenizer
from tokun.evaluation.noise import corpus_blocks, isotropic_noise


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", help="UTF-8 text files or folders of *.txt")
    p.add_argument("--model", default=None)
    p.add_argument("--k", type=float, default=0.5)
    p.add_argument("--max-blocks", type=int, default=4096)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--examples", type=int, default=12)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    try:
        tok = Tokenizer.load(args.model)
        cps = corpus_blocks(tok, args.paths, max_blocks=args.max_blocks, seed=args.seed)
        prior = tok.prior
    except TokunError as e:
        print(f"posterior_check: error: {e}", file=sys.stderr)
        return 2
    assert prior is not None
    z = tok.encode_bytes(codec.codepoints_to_bytes(cps))
    noisy = isotropic_noise(z, args.k, generator=torch.Generator().manual_seed(args.seed))
    decoded, stats = tok.read(noisy)
    if stats.posterior == 0:
        print("posterior_check: the latents were not read by their posterior (too little noise?)", file=sys.stderr)
        return 2
    read = codec.bytes_to_codepoints(decoded)
    real = np.ones_like(cps, dtype=bool)  # padding at a text's end is not scored
    real[(cps == 0) & (np.cumsum(cps[:, ::-1] != 0, axis=1)[:, ::-1] == 0)] = False
    wrong = (read != cps) & real
    rows = np.nonzero(wrong.any(1))[0]
    # each block's noise variance, as verified decoding estimates it: from the decoder's own reading
    read_rows = tok.inference.read(noisy[rows])
    s2 = noise_variance(tok.encode_bytes(read_rows), noisy[rows], centred=tok.inference.centred)
    w = PosteriorConfig().decoder_weight

    def terms(texts: np.ndarray) -> torch.Tensor:
        """``(n, C)`` codepoints -> ``(n, 3)``: log prior, log p_decoder, log likelihood (the library's terms)."""
        return score_terms(tok.inference, prior, noisy[rows], codec.codepoints_to_bytes(texts), s2)

    right, got = terms(cps[rows]), terms(read[rows])
    weights = torch.tensor([1.0, w, 1.0])
    gap = ((right - got) * weights).sum(1)  # > 0: the right text scores higher, the search missed it
    blame = gap <= 0
    out = {
        "k": args.k,
        "char_accuracy": float(1 - wrong.sum() / real.sum()),
        "wrong_chars": int(wrong.sum()),
        "wrong_blocks": len(rows),
        "search_missed": int((~blame).sum()),
        "score_prefers_misreading": int(blame.sum()),
        "median_difference_where_score_prefers_misreading": dict(
            zip(["log_prior", "log_p_decoder", "log_likelihood"], (right - got)[blame].median(0).values.tolist())
        )
        if blame.any()
        else {},
        "examples": [
            {"right": codec.from_codepoints(cps[r]), "read": codec.from_codepoints(read[r]), "score_gap": float(g)}
            for r, g in list(zip(rows.tolist(), gap.tolist()))[: args.examples]
        ],
    }
    if args.json:
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    print(f"k = {args.k}: {out['char_accuracy']:.4%} of characters, {out['wrong_chars']} wrong in {len(rows)} blocks")
    print(f"  the search missed a better-scoring right text: {out['search_missed']} blocks")
    print(f"  the score prefers the misreading:              {out['score_prefers_misreading']} blocks")
    for name, v in out["median_difference_where_score_prefers_misreading"].items():
        print(f"    median {name} (right - read): {v:+.2f}")
    for e in out["examples"]:
        print(f"  {e['right']!r} -> {e['read']!r}  score gap {e['score_gap']:+.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
