"""Bits per UTF-8 byte of a text under a language model: every byte scored exactly once, with a sliding window.

Each text is scored from the shared start (:data:`~tokun.lm.data.STX`, position 0): every later position is
predicted once, so every UTF-8 byte of the text is paid for, the first included, and ``scored_bytes`` is the
text's byte count for every model.

The window scheme: windows of ``context + 1`` positions start every ``stride`` positions (half the context by
default). The first window scores all its positions; each later one only the positions the windows before it did
not reach. So every scored position sees the whole text before it, or at least ``context - stride`` positions of
it, never fewer: with contexts set to span the same characters (``--context-chars``), every model sees between
half its context and all of it, in characters alike, for every unit it scores (disjoint windows gave the first
units of each window no context and the last ones a whole window).

    positions   0 1 2 3 4 5 6 7 8 9      context 4, stride 2
    window 1    [0 1 2 3 4]              scores 1 2 3 4
    window 2        [2 3 4 5 6]          scores 5 6 (each sees at least 2 positions)
    window 3            [4 5 6 7 8]      scores 7 8
    window 4                [6 7 8 9]    scores 9
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from .data import Encoded
from .train import to_device
from .zoo import LanguageModel


def windows(n: int, context: int, stride: int) -> list[tuple[int, int, int]]:
    """``(begin, end, new)`` of the windows over ``n`` positions: positions ``begin..end`` go in, the last ``new``
    of the predicted ``begin + 1..end`` are scored. Every position from 1 to ``n - 1`` is scored once.

    >>> windows(10, 4, 2)
    [(0, 4, 4), (2, 6, 2), (4, 8, 2), (6, 9, 1)]
    """
    out, scored, begin = [], 0, 0
    while scored < n - 1:
        end = min(begin + context, n - 1)
        out.append((begin, end, end - scored))
        scored, begin = end, begin + stride
    return out


def score(model: LanguageModel, data: Encoded, *, stride: int, batch: int = 16) -> tuple[float, int]:
    """``(nats, UTF-8 bytes)`` summed over every position of ``data`` after the first, each scored once."""
    net = model.network
    device = next(net.parameters()).device
    plan = windows(len(data), model.cfg.context, stride)
    nats, nbytes = 0.0, 0
    with torch.inference_mode():
        for length in sorted({end - begin for begin, end, _ in plan}):  # windows of one length run as a batch
            same = [w for w in plan if w[1] - w[0] == length]
            for i in range(0, len(same), batch):
                group = same[i : i + batch]
                rows = np.array([begin for begin, _, _ in group])[:, None] + np.arange(length + 1)  # (b, L+1)
                nll = model.nll(to_device(data.take(rows), device)).double().cpu()  # (b, L)
                for row, (_, end, new) in zip(nll, group):
                    nats += float(row[length - new :].sum())
                    nbytes += int(data.nbytes[end - new + 1 : end + 1].sum())
    return nats, nbytes


def evaluate(model: LanguageModel, texts: dict[str, str], *, stride_share: float = 0.5) -> dict[str, Any]:
    """Bits per byte of each named text (a corpus file's test or tune split) and over all of them.

    ``bits`` and ``bytes`` per file are kept for the intervals (:mod:`tokun.lm.stats`)."""
    stride = max(1, int(model.cfg.context * stride_share))
    bits, nbytes = {}, {}
    for name, text in texts.items():
        if not text:
            continue
        nats, count = score(model, model.encode(text), stride=stride)
        bits[name], nbytes[name] = nats / math.log(2), count
    total = sum(nbytes.values())
    return {
        "bits_per_byte": sum(bits.values()) / max(1, total),
        "per_language": {name: bits[name] / nbytes[name] for name in bits if nbytes[name]},
        "scored_bytes": total,
        "bits": bits,
        "bytes": nbytes,
    }
