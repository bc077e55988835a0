"""Streaming throughput and peak memory of `tokun encode` / `tokun decode` at growing input sizes.

    python benchmarks/stream_bench.py --sizes 1 10 100 1000 [--single-line] [--decode]

For each size (MB of UTF-8), a file is made by repeating the corpora (or the test fixture), then
`tokun encode` (and with --decode, `tokun decode`) runs in a fresh process; the script prints
characters per second and that process's peak RSS (GNU time), one JSON line per run.
--single-line replaces every newline by a space: one line of SIZE MB.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make_text(mb: int, single_line: bool) -> Path:
    corpora = ROOT.parent / "shared" / "corpora"
    files = sorted(corpora.glob("*.txt")) or [ROOT / "tests" / "fixtures" / "multilingual.txt"]
    seed = "\n".join(p.read_text(encoding="utf-8") for p in files)
    if single_line:
        seed = seed.replace("\n", " ")
    data = seed.encode("utf-8")
    path = Path(tempfile.mkdtemp(prefix="tokun-stream-")) / f"text-{mb}MB.txt"
    target = mb * 1_000_000
    copies, tail = divmod(target, len(data))
    with open(path, "wb") as fh:
        for _ in range(copies):
            fh.write(data)
        fh.write(data[:tail].decode("utf-8", errors="ignore").encode("utf-8"))  # ends at a character boundary
    return path


def run(args: list[str]) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of one `tokun` process, measured by GNU time (not this process's fork)."""
    t0 = time.perf_counter()
    env = os.environ | {"PYTHONPATH": str(ROOT / "src")}
    with tempfile.NamedTemporaryFile("r") as report:
        cmd = ["/usr/bin/time", "-o", report.name, "-f", "%M", sys.executable, "-m", "tokun", *args]
        subprocess.run(cmd, check=True, env=env)
        peak_kb = int(report.read().split()[-1])
    return time.perf_counter() - t0, peak_kb / 1024


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[1, 10])
    p.add_argument("--single-line", action="store_true")
    p.add_argument("--decode", action="store_true")
    args = p.parse_args()
    for mb in args.sizes:
        src = make_text(mb, args.single_line)
        try:
            print(json.dumps(measure(src, mb, args.single_line, args.decode)), flush=True)
        finally:  # a failed run leaves no 40 GB of latents behind
            shutil.rmtree(src.parent, ignore_errors=True)


def measure(src: Path, mb: int, single_line: bool, decode: bool) -> dict:
    """Encode (and decode) one text file in fresh processes: one JSON row."""
    with open(src, encoding="utf-8") as fh:
        chars = sum(len(block) for block in iter(lambda: fh.read(1 << 20), ""))
    out = src.with_suffix(".safetensors")
    seconds, rss = run(["encode", str(src), "-o", str(out), "-q"])
    row = {
        "mb": mb,
        "chars": chars,
        "single_line": single_line,
        "encode_chars_per_s": chars / seconds,
        "encode_peak_rss_mb": rss,
    }
    if decode:
        back = src.with_suffix(".back.txt")
        seconds, rss = run(["decode", str(out), "-o", str(back)])
        row |= {
            "decode_chars_per_s": chars / seconds,
            "decode_peak_rss_mb": rss,
            "exact": filecmp.cmp(back, src, shallow=False),  # compares in chunks
        }
    return row


if __name__ == "__main__":
    main()
