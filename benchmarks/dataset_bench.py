"""Throughput and peak memory of `tokun encode-dataset` and `decode-dataset`, one process against a local Ray, on a
generated corpus.

    python benchmarks/dataset_bench.py --mb 200 [--threads 1] [--workers 2] [--shard-docs 4096] [--repeats 1]
        [--skip-ray] [--keep]

A corpus of MB megabytes of UTF-8 is made in a temporary folder under /tmp (not committed): the files of
../shared/corpora (or the test fixture) cut into documents of 32 lines, repeated and shuffled with a fixed seed,
written as 8 Parquet files. Then `tokun encode-dataset` runs in a fresh process, once alone and once with
`--ray --workers W`, each with `--threads T`, `--repeats` times in turn with `decode-dataset` (medians reported); the
script prints one JSON line per run: documents/s, characters/s, the peak memory of the process tree (sum of RSS of
the command and its descendants, Ray's workers included, sampled every 0.2 s), output bytes per character, and whether both runs wrote byte-identical shards; for
`tokun decode-dataset` (the same rows, the same threads) whether the text is the corpus', and `decode_over_encode`:
decoding's seconds over encoding's.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def make_corpus(folder: Path, mb: int, seed: int = 0) -> tuple[int, int]:
    """Parquet files of documents (32 lines each) drawn from the corpora until ``mb`` MB; (documents, chars)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    corpora = ROOT.parent / "shared" / "corpora"
    files = sorted(corpora.glob("*.txt")) or [ROOT / "tests" / "fixtures" / "multilingual.txt"]
    docs = []
    for path in files:
        lines = path.read_text(encoding="utf-8").splitlines()
        docs += ["\n".join(lines[i : i + 32]) for i in range(0, len(lines), 32)]
    docs = [d for d in docs if d]
    sizes = [len(d.encode("utf-8")) for d in docs]
    rng = np.random.default_rng(seed)
    out: list[str] = []
    total = 0
    while total < mb * 1_000_000:  # shuffled repetitions of the documents, cut at the target size
        for i in rng.permutation(len(docs)):
            out.append(docs[i])
            total += sizes[i]
            if total >= mb * 1_000_000:
                break
    folder.mkdir(parents=True)
    for k, part in enumerate(np.array_split(np.arange(len(out)), 8)):
        pq.write_table(pa.table({"text": [out[i] for i in part]}), folder / f"part-{k}.parquet")
    return len(out), sum(map(len, out))


def same_text(corpus: Path, back: Path) -> bool:
    """Whether the decoded file's text column is the corpus's, document for document."""
    import pyarrow.parquet as pq

    want = [t for p in sorted(corpus.glob("*.parquet")) for t in pq.read_table(p).column("text").to_pylist()]
    return pq.read_table(back).column("text").to_pylist() == want


def tree_rss_mb(pid: int) -> float:
    """Sum of the RSS of ``pid`` and its descendants (from /proc)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            parents[int(entry)] = int(fields[1])
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError):
            continue
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = [p for p, pp in parents.items() if pp == parent and p not in tree]
        tree.update(children)
        frontier += children
    return sum(rss.get(p, 0) for p in tree) / 2**20


def run(args: list[str]) -> tuple[float, float]:
    """Seconds and peak memory (MB, the process tree) of one `tokun` command."""
    env = os.environ | {"PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "tokun", *args], env=env)
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, tree_rss_mb(proc.pid))
        time.sleep(0.2)
    if proc.returncode:
        raise SystemExit(f"tokun {' '.join(args)} failed with status {proc.returncode}")
    return time.perf_counter() - t0, peak


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mb", type=int, default=200)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--shard-docs", type=int, default=4096)
    p.add_argument("--skip-ray", action="store_true")
    p.add_argument("--repeats", type=int, default=1, help="encode and decode in turn, this many times; medians")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tokun-dataset-", dir="/tmp"))
    try:
        t0 = time.perf_counter()
        documents, chars = make_corpus(tmp / "corpus", args.mb)
        print(
            json.dumps(
                {
                    "corpus_mb": args.mb,
                    "documents": documents,
                    "chars": chars,
                    "generate_s": round(time.perf_counter() - t0, 1),
                }
            ),
            flush=True,
        )
        threads = ["--threads", str(args.threads), "-q"]
        runs = {"single": []} if args.skip_ray else {"single": [], "ray": ["--ray", "--workers", str(args.workers)]}
        for name, extra in runs.items():  # encode, decode, encode, decode...: machine noise hits both alike
            out, back = tmp / name, tmp / f"{name}.parquet"
            options = ["--shard-docs", str(args.shard_docs), *threads, *extra]
            times: dict[str, list[tuple[float, float]]] = {"encode": [], "decode": []}
            for _ in range(args.repeats):
                shutil.rmtree(out, ignore_errors=True)
                times["encode"].append(run(["encode-dataset", str(tmp / "corpus"), "--out", str(out), *options]))
                times["decode"].append(run(["decode-dataset", str(out), "--out", str(back), *threads, *extra]))
            seconds = {op: statistics.median(t for t, _ in runs_) for op, runs_ in times.items()}
            for op in ("encode", "decode"):
                row = {
                    "run": f"{op} {name}",
                    "threads": args.threads,
                    "workers": args.workers if extra else 1,
                    "seconds": round(seconds[op], 1),
                    "docs_per_s": round(documents / seconds[op]),
                    "chars_per_s": round(chars / seconds[op]),
                    "peak_mb": round(max(peak for _, peak in times[op])),
                }
                if op == "encode":
                    row["bytes_per_char"] = round(sum(f.stat().st_size for f in out.glob("*.parquet")) / chars, 2)
                else:
                    row["exact"] = same_text(tmp / "corpus", back)
                    row["decode_over_encode"] = round(seconds["decode"] / seconds["encode"], 2)
                print(json.dumps(row), flush=True)
        if not args.skip_ray:
            names = sorted(f.name for f in (tmp / "single").iterdir())
            same = all(filecmp.cmp(tmp / "single" / n, tmp / "ray" / n, shallow=False) for n in names)
            print(json.dumps({"identical_shards": same, "shards": len(names) - 1}), flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
