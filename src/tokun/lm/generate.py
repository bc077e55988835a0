"""``tokun lm generate``: continue a prompt with a model of ``tokun lm compare``, and its speed.

Every model kind generates through the same loop: :meth:`~tokun.lm.zoo.LanguageModel.begin` gives the shared
start and the prompt as positions, the global body runs over them once with a KV cache (:class:`GlobalWindow`),
then each :meth:`~tokun.lm.zoo.LanguageModel.step` turns the last state into the next piece of text (a token, a
16-character block, or a patch written by the local decoder) and its position, which the body runs on alone.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import torch

from ..core.errors import ModelError
from .model import KVCache
from .zoo import LanguageModel, load_lm


class GlobalWindow:
    """The global model's view of the text while generating: a KV cache over the last positions, so each new
    position runs the body once. The model was trained on ``context`` positions: when the cache is full, it is
    refilled with the last half of the context (the positions restart at 0, as in training).

    ``net`` has ``input`` (positions -> embeddings) and ``body``; ``rows`` ``(1, N, ...)`` the prompt's positions."""

    def __init__(self, net: torch.nn.Module, rows: torch.Tensor) -> None:
        self.net, self.context = net, net.cfg.context
        self.rows = rows[:, -self.context :]  # (1, n, ...): the rows the cache holds, or will
        self.cache = KVCache()
        self.state = self.net.body(self.net.input(self.rows), self.cache)[:, -1:]  # (1, 1, dim)

    def push(self, rows: torch.Tensor) -> None:
        """Append ``(1, n, ...)`` rows; ``state`` becomes the state after the last one."""
        self.rows = torch.cat([self.rows, rows], dim=1)
        if self.cache.length + rows.shape[1] > self.context:  # full: start again from the recent half
            self.rows = self.rows[:, -max(rows.shape[1], self.context // 2) :]
            self.cache, rows = KVCache(), self.rows
        self.state = self.net.body(self.net.input(rows), self.cache)[:, -1:]


def continue_text(
    model: LanguageModel,
    prompt: str,
    *,
    steps: int = 8,
    chars: int | None = None,
    temperature: float = 0.8,
    top_p: float = 0.95,
    seed: int = 0,
    stream: Any = None,
    follow: str | None = None,
) -> str:
    """``prompt`` and its continuation by ``model``: ``steps`` pieces, or ``chars`` characters when given. With
    ``follow``, the continuation is that text, written piece by piece through the same loop: each piece is drawn,
    then replaced by ``follow``'s next one (:meth:`~tokun.lm.zoo.LanguageModel.step`), so timing it measures
    generation on a text every model writes alike."""
    forced = None
    if follow is not None:
        forced = model.encode(follow).arrays  # position 0 is the shared start: the text's pieces follow it
        steps, chars = len(forced[0]) - 1, len(follow)  # the last block's padding is not the text's (tokun-direct)
    if follow is None and chars is not None:
        steps = 16 * chars  # stop on length: a piece holds at least 1 character
    out: list[str] = []
    written = 0
    if stream is not None:
        stream.write(prompt)
    with torch.inference_mode():
        gen = torch.Generator().manual_seed(seed)
        window = GlobalWindow(model.network, model.begin(prompt))
        for i in range(steps):
            position = None if forced is None else tuple(a[i + 1] for a in forced)
            piece, row = model.step(window.state, temperature=temperature, top_p=top_p, generator=gen, forced=position)
            if chars is not None:
                piece = piece[: chars - written]
            out.append(piece)
            written += len(piece)
            if stream is not None:
                stream.write(piece)
                stream.flush()
            if (chars is not None and written >= chars) or i == steps - 1:
                break
            window.push(row)
    return prompt + "".join(out)


def generate(
    prompt: str,
    *,
    folder: Path,
    blocks: int = 8,
    chars: int | None = None,
    temperature: float = 0.8,
    top_p: float = 0.95,
    seed: int = 0,
    stream: Any = None,
) -> str:
    """Continue ``prompt`` with the model saved in ``folder``: ``blocks`` patches (16-character blocks for
    tokun-direct, greedy; tokens for the byte and BPE models), or until ``chars`` characters when given, sampled at
    ``temperature`` with nucleus ``top_p`` from a generator seeded by ``seed`` (the same seed, the same text); each
    piece is written to ``stream`` (a text file) as soon as it is decoded. The global model keeps a KV cache."""
    model = load_lm(folder)
    return continue_text(
        model, prompt, steps=blocks, chars=chars, temperature=temperature, top_p=top_p, seed=seed, stream=stream
    )


def chars_per_second(model: LanguageModel, texts: list[str], *, prompt: str = "", seed: int = 0) -> float:
    """Characters per second of writing ``texts`` (each after ``prompt``) through the generation loop, batch 1,
    KV caches, on this machine's threads: every piece drawn at temperature 0.8, top-p 0.95, then replaced by the
    text's (``continue_text(follow=...)``), so every model pays for the same characters (after one warm-up piece)."""
    continue_text(model, prompt, chars=1, seed=seed)
    t0 = time.perf_counter()
    written = sum(len(continue_text(model, prompt, follow=text, seed=seed)) - len(prompt) for text in texts)
    return written / (time.perf_counter() - t0)


def model_folder(out: Path, name: str) -> Path:
    """The folder of model ``name`` trained by ``lm compare --out OUT``; ``tokun`` is the tokun patch model that
    the run's compare.json chose (on the tune split)."""
    if name != "tokun":
        return out / name
    try:
        return out / json.loads((out / "compare.json").read_text())["models"]["tokun"]["model"]
    except (FileNotFoundError, KeyError, json.JSONDecodeError):
        raise ModelError(
            f"{out} holds no comparison that chose a best tokun model: run `tokun lm compare --models tokun "
            f"--out {out}`, or name a model (--model tokun-words8)"
        ) from None
