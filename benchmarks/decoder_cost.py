"""What decoding costs against encoding, arithmetic only (no files, no process start): why `decode-dataset` is slower
than `encode-dataset` (issue #31), and what a cheaper read of the same decoder would save.

    python benchmarks/decoder_cost.py [--model 4x16] [--blocks 16384] [--threads 1] [--repeats 5]

On the blocks of ../shared/corpora (or the test fixture), cut into 16-character blocks, it times (best of
``--repeats``, ``--threads`` torch threads):

- ``encode``: `Inference.encode_bytes`, the folded encoder `encode-dataset` runs;
- ``read``: `Inference.read`, the decoder's likeliest bytes of a Unicode scalar value (its head scores neither
  byte 0 nor byte 1's values above 0x10), what `decode-dataset` runs before verifying (which encodes once more);
- ``read_unicode``: the same reading with the last detokenize block skipping byte 0 as well (byte 0 of a character
  is always 0): a lower bound of what a cheaper read of this decoder costs; it agrees with ``read`` wherever
  ``read`` gives a Unicode scalar value;
- ``read_bf16``: ``read`` with the decoder in bfloat16, and the share of bytes it reads as float32 does.

It prints one JSON line: seconds, each against ``encode``, and the multiply-adds per block of encoder and decoder.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from tokun.core import codec
from tokun.core.checkpoint import load_model
from tokun.core.textio import read_corpus
from tokun.decoding.inference import Inference, read_step
from tokun.lm.flops import macs_per_block

ROOT = Path(__file__).resolve().parents[1]


def corpus_blocks(count: int) -> np.ndarray:
    """``(count, 64)`` uint8 blocks of the corpora (or the fixture), repeated if they hold fewer."""
    corpora = ROOT.parent / "shared" / "corpora"
    source = corpora if corpora.is_dir() else ROOT / "tests" / "fixtures" / "multilingual.txt"
    blocks = codec.encode(read_corpus([source], example="../shared/corpora"))
    return np.resize(blocks, (count, blocks.shape[1]))


def read_unicode(inf: Inference, latents: torch.Tensor) -> torch.Tensor:
    """``(N, 64)`` bytes read by ``inf``'s decoder (a ``4x...`` model without attention) scoring only the byte values a
    Unicode scalar value can hold: byte 0 of each character is 0 and its last layers are skipped, byte 1 <= 0x10."""
    decoder = inf.model.decoder
    chars, bytes_ = decoder.blocks  # latent -> character vectors; a character vector -> its 4 byte vectors
    width = inf.cfg.embed_dim
    out = torch.zeros(len(latents), inf.cfg.block_bytes // 4, 4, dtype=torch.uint8)  # (N, C, 4)
    weight = bytes_.proj.weight.view(4, width, -1)[1:].reshape(3 * width, -1)  # bytes 1-3 of a character
    bias = bytes_.proj.bias.view(4, width)[1:].reshape(-1)
    head_w, head_b = decoder.head.weight, decoder.head.bias
    step = read_step(inf.cfg.block_bytes, inf.batch_size)
    for i in range(0, len(latents), step):
        z = latents[i : i + step, None]  # (n, 1, L)
        z = z - z.mean(-1, keepdim=True) if inf.cfg.center_latent else z
        y = bytes_.act(F.linear(chars(z), weight, bias))  # (n, C, 3 * E)
        y = bytes_.norm(y.view(*y.shape[:2], 3, width) + bytes_.position[1:])  # (n, C, 3, E)
        out[i : i + step, :, 1] = F.linear(y[:, :, 0], head_w[:17], head_b[:17]).max(-1).indices.to(torch.uint8)
        out[i : i + step, :, 2:] = F.linear(y[:, :, 1:], head_w, head_b).max(-1).indices.to(torch.uint8)
    return out.view(len(latents), -1)


def best_of(repeats: int, fn) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="4x16")
    p.add_argument("--blocks", type=int, default=16384)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    model = load_model(args.model)
    if model.cfg.attention or model.cfg.decoder_mlp or model.cfg.token_dim[0] != 4 or len(model.cfg.token_dim) != 2:
        raise SystemExit(f"{args.model}: read_unicode handles 4xN models without attention or decoder MLP only")
    inf, bf16 = Inference(model), Inference(model, decode_dtype=torch.bfloat16)
    blocks = corpus_blocks(args.blocks)
    with torch.inference_mode():
        encode, latents = best_of(args.repeats, lambda: inf.encode_bytes(blocks))
        read, exact = best_of(args.repeats, lambda: inf.read(latents))
        unicode, cheap = best_of(args.repeats, lambda: read_unicode(inf, latents).numpy())
        half, halved = best_of(args.repeats, lambda: bf16.read(latents))
    enc_macs, dec_macs = macs_per_block(model.cfg)
    valid = (exact.reshape(len(blocks), -1, 4)[..., :2] <= [0, 0x10]).all(-1).all(-1)  # Unicode scalar values only
    print(
        json.dumps(
            {
                "model": args.model,
                "blocks": args.blocks,
                "threads": args.threads,
                "seconds": {k: round(v, 4) for k, v in {"encode": encode, "read": read, "read_unicode": unicode,
                                                         "read_bf16": half}.items()},  # fmt: skip
                "over_encode": {k: round(v / encode, 2) for k, v in {"read": read, "read_verified": read + encode,
                                "read_unicode": unicode, "read_bf16": half}.items()},  # fmt: skip
                "read_exact_share": float((exact == blocks).mean()),
                "read_unicode_agrees_on_valid_blocks": bool((cheap[valid] == exact[valid]).all()),
                "read_bf16_agrees_share": float((halved == exact).mean()),
                "macs_per_block": {"encoder_unfolded": enc_macs, "decoder": dec_macs},
            }
        )
    )


if __name__ == "__main__":
    main()
