"""Side-by-side inference variants of the shipped model on corpus text, with a lossless check.

    python benchmarks/precision_bench.py [--chars 200000] [--threads 2]

Encoder: plain vs first block folded into tables. Decoder: float32, bfloat16, and int8 dynamic
quantisation of its Linear layers. Each variant's speed is printed relative to the float32 one
(interleaved repetitions, median), with the number of wrong bytes after decoding.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
import warnings
from pathlib import Path

import torch

from tokun import Tokenizer
from tokun.core import codec
from tokun.core.folded import FoldedEncoder
from tokun.core.textio import read_text, text_files

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--chars", type=int, default=200_000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    corpora = ROOT.parent / "shared" / "corpora"
    paths = text_files([corpora]) if corpora.is_dir() else [ROOT / "tests" / "fixtures" / "multilingual.txt"]
    text = "\n".join(read_text(p) for p in paths)[: args.chars]
    rows = torch.from_numpy(codec.encode(text))  # (N, 64)
    model = Tokenizer.load().model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # quantize_dynamic's deprecation notice
        int8 = torch.ao.quantization.quantize_dynamic(
            copy.deepcopy(model.decoder), {torch.nn.Linear}, dtype=torch.qint8
        )
    encoders = {"encoder float32": model.encoder, "encoder folded": FoldedEncoder(model.encoder)}
    decoders = {
        "decoder float32": (model.decoder, torch.float32),
        "decoder bfloat16": (copy.deepcopy(model.decoder).to(torch.bfloat16), torch.bfloat16),
        "decoder int8 dynamic": (int8, torch.float32),
    }
    with torch.inference_mode():
        latents = model.encoder(rows)
        times: dict[str, list[float]] = {name: [] for name in [*encoders, *decoders]}
        wrong: dict[str, int] = {}
        for _ in range(args.repeats):
            for name, enc in encoders.items():
                t0 = time.perf_counter()
                z = torch.cat([enc(c) for c in rows.split(2048)])
                times[name].append(time.perf_counter() - t0)
                wrong[name] = int((model.decoder(z[:4096]).argmax(-1) != rows[:4096]).sum())
            for name, (dec, dtype) in decoders.items():
                t0 = time.perf_counter()
                pred = torch.cat([dec(c.to(dtype)).argmax(-1) for c in latents.split(1024)])
                times[name].append(time.perf_counter() - t0)
                wrong[name] = int((pred != rows).sum())
    for kind in ("encoder", "decoder"):
        base = statistics.median(times[f"{kind} float32"])
        for name in times:
            if name.startswith(kind):
                t = statistics.median(times[name])
                print(f"{name:22} {len(text) / t:>12,.0f} chars/s  {base / t:5.2f}x  wrong bytes {wrong[name]}")


if __name__ == "__main__":
    main()
