"""The figures behind verified decoding (`tokun.decoding.verify`), for one model.

    python experiments/repair_stats.py ../shared/corpora --model 4x16          # ~7 min on 2 cores, mostly the noisy search

Prints, as JSON:
- ``mismatch``: the relative distance ||E(D(z)) - z|| / ||z|| of blocks the decoder reads right (largest) and
  of blocks it misreads (smallest), for clean and for int8 latents, over the texts' blocks and
  ``--random`` random planes 0-3 characters: the gap the ``flag`` threshold sits in;
- ``search``: over the whole texts, the decoder's misread blocks, the blocks searched, how many needed the wide
  search, and the misread blocks left after verification;
- ``noisy_without_gain_test``: at isotropic noise ``--k`` on ``--noisy-blocks`` blocks, character accuracy as the
  decoder reads them and after a nearest-codeword search that accepts any nearer text (no gain test, every block
  searched wide and deep): why verified decoding leaves noisy latents alone;
- ``first_preactivation_max``: the largest |pre-activation| of the decoder's first layer on the texts' blocks
  (float16 holds 65,504; hence ``InFloat32``).
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import torch

from tokun.core import codec
from tokun.core.errors import TokunError
from tokun.core.sources import random_codepoints
from tokun.core.textio import read_text, text_files
from tokun.decoding.tokenizer import Tokenizer
from tokun.decoding.verify import VerifyConfig, verify
from tokun.evaluation.noise import corpus_blocks, int8_roundtrip, isotropic_noise


def mismatch(tok: Tokenizer, rows: np.ndarray, z: torch.Tensor) -> dict:
    read = tok.decode_bytes(z)  # the decoder alone (verify=False)
    rel = (tok.encode_bytes(read) - z).norm(dim=-1) / z.norm(dim=-1)
    wrong = torch.from_numpy(~(read == rows).all(1))
    return {
        "right_max": float(rel[~wrong].max()),
        "misread_min": float(rel[wrong].min()) if wrong.any() else None,
        "misread_blocks": int(wrong.sum()),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", help="UTF-8 text files or folders of *.txt")
    p.add_argument("--model", default=None)
    p.add_argument("--random", type=int, default=1_000_000, help="random planes 0-3 characters (default 1 M)")
    p.add_argument("--k", type=float, default=0.5)
    p.add_argument("--noisy-blocks", type=int, default=256)
    args = p.parse_args()
    try:
        tok = Tokenizer.load(args.model, verify=False)
        text = "".join(read_text(path) for path in text_files(args.paths))
        sample = corpus_blocks(tok, args.paths, max_blocks=args.noisy_blocks)
    except TokunError as e:  # a bad path or model: a message, not a traceback
        print(f"repair_stats: error: {e}", file=sys.stderr)
        return 2
    out: dict = {"model": tok.name}
    texts = codec.encode(text, block_chars=tok.block_chars)
    planes = codec.codepoints_to_bytes(
        codec.pad_codepoints(random_codepoints("planes0-3", args.random, seed=0), tok.block_chars)
    )
    rows = np.concatenate([texts, planes])
    z = tok.encode_bytes(rows)
    out["mismatch"] = {"clean": mismatch(tok, rows, z), "int8": mismatch(tok, rows, int8_roundtrip(z))}

    z = tok.encode_bytes(texts)
    read = tok.decode_bytes(z)
    fixed, stats = verify(tok.inference, z, read)
    out["search"] = {
        "blocks": len(texts),
        "misread": int((~(read == texts).all(1)).sum()),
        "searched": stats.flagged,
        "wide": stats.wide,
        "deep": stats.deep,
        "misread_after": int((~(fixed == texts).all(1)).sum()),
    }

    z = tok.encode_bytes(codec.codepoints_to_bytes(sample))
    noisy = isotropic_noise(z, args.k, generator=torch.Generator().manual_seed(0))
    read = tok.decode_bytes(noisy)
    anything = VerifyConfig(gain=1.0, slip_share=0.0)  # every far block searched wide and deep, any nearer text kept
    searched, _ = verify(tok.inference, noisy, read, cfg=anything)
    right = codec.codepoints_to_bytes(sample).reshape(-1, 4)
    out["noisy_without_gain_test"] = {
        "k": args.k,
        "blocks": len(z),
        "decoder": float((read.reshape(-1, 4) == right).all(-1).mean()),
        "nearest_codeword_search": float((searched.reshape(-1, 4) == right).all(-1).mean()),
    }

    with torch.inference_mode():
        zc = z - z.mean(-1, keepdim=True) if tok.model.cfg.center_latent else z
        pre = tok.model.decoder.blocks[0].proj(zc.unsqueeze(1))
    out["first_preactivation_max"] = float(pre.abs().max())
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
