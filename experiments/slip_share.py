"""The statistic that gates verified decoding's searches over every value of one byte, on noisy latents: the share of
a block's residual that one character slot explains (``SlotTerms.explained_share`` of the decoder's reading), and
the time to read noisy blocks with that search gated as shipped and switched off.

    python experiments/slip_share.py ../shared/corpora --blocks 1024 --timed 256

A clean block with several slipped characters has a share of 0.67-0.77 (docs/experiments.md, "Blocks across
scripts"); verified decoding searches blocks at or above ``VerifyConfig.several_share``.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import torch

from tokun.core import codec
from tokun.core.model import add_noise
from tokun.decoding.tokenizer import Tokenizer
from tokun.evaluation.noise import corpus_blocks


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("corpora", nargs="+")
    p.add_argument("--blocks", type=int, default=1024, help="blocks of the corpora for the share (default 1024)")
    p.add_argument("--timed", type=int, default=256, help="noisy blocks read for the timing (default 256)")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    tok = Tokenizer.load()
    plain = Tokenizer.load(verify=False, prior=False)
    inf = tok.inference
    cps = corpus_blocks(tok, args.corpora, max_blocks=args.blocks)
    z = tok.encode_bytes(codec.codepoints_to_bytes(cps))
    print(f"share of the residual one slot explains, noisy latents ({len(z)} blocks): percentiles 50/90/99/100")
    with torch.inference_mode():
        for k in (0.1, 0.2, 0.3, 0.5, 1.0):
            noisy = add_noise(z, k, generator=torch.Generator().manual_seed(0))
            centred = noisy - noisy.mean(-1, keepdim=True)
            now = inf.encode_bytes(plain.decode_bytes(noisy))
            share = inf.slot_terms.explained_share(now - centred).numpy()
            gated = (share >= tok.search.several_share).mean()
            print(f"  k {k:<4} {np.percentile(share, [50, 90, 99, 100]).round(3)}  >= gate: {gated:.2%}")
    shipped = tok.search
    print(f"reading {args.timed} noisy blocks, {args.threads} thread(s): gate {shipped.several_share} / off")
    for k in (0.3, 0.5):
        noisy = add_noise(z[: args.timed], k, generator=torch.Generator().manual_seed(0))
        seconds = []
        for share in (shipped.several_share, 1.01):
            tok.search = dataclasses.replace(shipped, several_share=share)
            t0 = time.perf_counter()
            tok.read(noisy)
            seconds.append(time.perf_counter() - t0)
        tok.search = shipped
        print(f"  k {k}: {seconds[0]:.2f} s / {seconds[1]:.2f} s")


if __name__ == "__main__":
    main()
