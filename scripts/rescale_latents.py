"""Rescale a model's latents to a given spread, without changing what it decodes (float16 needs it).

    python scripts/rescale_latents.py runs/v10a/model --texts tests/fixtures/multilingual.txt --sigma 1 --out runs/v10a-scaled

sigma is measured as ``tokun noise`` does (sqrt of the mean per-dimension variance) over the blocks of
``--texts``; the encoder's last Linear is scaled by sigma_target / sigma and the decoder's first Linear by
the inverse (``AutoEncoder.rescale_latents``). Noise tolerance, distances' ranks and int8 are scale-free.
"""

from __future__ import annotations

import argparse
import sys

from tokun.core import codec
from tokun.core.checkpoint import load_model, resolve, save_model
from tokun.core.errors import TokunError
from tokun.core.model import latent_sigma
from tokun.decoding.tokenizer import Tokenizer
from tokun.evaluation.noise import corpus_blocks


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="model directory or shipped name")
    p.add_argument("--texts", nargs="+", required=True, help="UTF-8 text files or folders whose latents set sigma")
    p.add_argument("--sigma", type=float, default=1.0, help="the latents' spread after rescaling (default 1)")
    p.add_argument("--out", required=True, help="output model directory")
    args = p.parse_args()
    try:
        model = load_model(resolve(args.model))
        tok = Tokenizer(model, verify=False)
        cps = corpus_blocks(tok, args.texts, max_blocks=4096)
        before = float(latent_sigma(tok.encode_bytes(codec.codepoints_to_bytes(cps))))
        model.rescale_latents(args.sigma / before)
        after = float(latent_sigma(Tokenizer(model, verify=False).encode_bytes(codec.codepoints_to_bytes(cps))))
        save_model(model, args.out)
    except TokunError as e:  # a bad path or model: a message, not a traceback
        print(f"rescale_latents: error: {e}", file=sys.stderr)
        return 2
    print(f"sigma {before:.6g} -> {after:.6g}; written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
