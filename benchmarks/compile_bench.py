"""Does ``torch.compile`` speed up the default model's encoder and decoder here, losslessly?

    python benchmarks/compile_bench.py --threads 2

Encodes and decodes the corpora (or the test fixture) with the plain and the compiled modules, side by
side (median of 3 after a warm-up that includes compilation), and prints chars/s and whether the
decoded bytes are identical.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from tokun import Tokenizer
from tokun.core import codec
from tokun.core.textio import read_text, text_files

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--model", default="4x16")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    corpora = ROOT.parent / "shared" / "corpora"
    paths = text_files([corpora]) if corpora.is_dir() else [ROOT / "tests" / "fixtures" / "multilingual.txt"]
    text = "\n".join(read_text(p) for p in paths)
    rows = codec.encode(text, block_chars=16)
    plain = Tokenizer.load(args.model)
    compiled = Tokenizer.load(args.model)
    compiled.inference.encoder = torch.compile(compiled.inference.encoder, dynamic=True)
    compiled.inference.decoder = torch.compile(compiled.inference.decoder, dynamic=True)
    z = plain.encode_bytes(rows)
    want = plain.decode_bytes(z)
    for tok in (plain, compiled):  # warm-up (and compilation)
        tok.decode_bytes(tok.encode_bytes(rows[:4096]))
    times: dict[str, list[tuple[float, float]]] = {"plain": [], "compiled": []}
    same = True
    for _ in range(3):
        for name, tok in (("plain", plain), ("compiled", compiled)):
            t0 = time.perf_counter()
            zz = tok.encode_bytes(rows)
            t1 = time.perf_counter()
            got = tok.decode_bytes(zz)
            t2 = time.perf_counter()
            times[name].append((t1 - t0, t2 - t1))
            same &= bool((got == want).all())
    n = len(text)
    for name, ts in times.items():
        enc = n / statistics.median(t for t, _ in ts)
        dec = n / statistics.median(t for _, t in ts)
        print(f"{name:9} encode {enc:>12,.0f} chars/s   decode {dec:>12,.0f} chars/s")
    print(f"decoded bytes identical to the plain model's: {same}")


if __name__ == "__main__":
    main()
