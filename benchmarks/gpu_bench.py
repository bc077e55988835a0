"""Throughput on a GPU at several batch sizes, float32 and bfloat16, with a lossless check.

    python benchmarks/gpu_bench.py [--model 4x16] [--corpora ../shared/corpora] [--json OUT.json]

Text is taken from the corpora (or the test fixture), repeated to fill each batch. Encode is
bytes (uint8, already on the GPU) -> latents; decode is latents -> bytes (argmax). Timings use CUDA
events after a warm-up; the figure of merit is characters per second and GB of UTF-8 text per
second, encode + decode. A dtype is reported lossless only when its decoded bytes equal the input's.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from tokun.core import codec
from tokun.core.checkpoint import load_model
from tokun.core.folded import FoldedEncoder
from tokun.core.textio import read_text, text_files

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="4x16")
    p.add_argument("--corpora", default=str(ROOT.parent / "shared" / "corpora"))
    p.add_argument("--batches", type=int, nargs="*", default=[4096, 16384, 65536, 262144])
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--json")
    args = p.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("gpu_bench: no CUDA device")
    dev = torch.device("cuda")
    paths = (
        text_files([args.corpora])
        if Path(args.corpora).is_dir()
        else [ROOT / "tests" / "fixtures" / "multilingual.txt"]
    )
    text = "\n".join(read_text(p) for p in paths)
    utf8_per_char = len(text.encode("utf-8")) / len(text)
    rows = torch.from_numpy(codec.encode(text)).to(dev)  # (N, 64)
    model = load_model(args.model, device=dev)
    results = []
    for dtype in (torch.float32, torch.bfloat16):
        net = model.to(dtype)
        enc = FoldedEncoder(net.encoder).to(dev)
        with torch.inference_mode():
            # lossless check on the whole corpus
            pred = torch.cat([net.decoder(enc(c)).argmax(-1) for c in rows.split(65536)])
            lossless = bool((pred == rows).all())
            for batch in args.batches:
                x = rows.repeat(-(-batch // len(rows)), 1)[:batch]
                z = enc(x)
                net.decoder(z).argmax(-1)
                torch.cuda.synchronize()
                t = {}
                jobs = (
                    ("encode", lambda e=enc, x=x: e(x)),
                    ("decode", lambda n=net, z=z: n.decoder(z).argmax(-1).to(torch.uint8)),
                )
                for name, fn in jobs:
                    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                    start.record()
                    for _ in range(args.repeats):
                        fn()
                    end.record()
                    torch.cuda.synchronize()
                    t[name] = start.elapsed_time(end) / 1000 / args.repeats
                chars = batch * 16
                both = chars / (t["encode"] + t["decode"])
                row = {
                    "dtype": str(dtype).replace("torch.", ""),
                    "batch_blocks": batch,
                    "encode_chars_per_s": chars / t["encode"],
                    "decode_chars_per_s": chars / t["decode"],
                    "encode_plus_decode_GB_utf8_per_s": both * utf8_per_char / 1e9,
                    "lossless_on_corpora": lossless,
                }
                results.append(row)
                print(json.dumps(row))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
