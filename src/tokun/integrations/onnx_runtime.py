"""Exact text from an ONNX export with onnxruntime and numpy only: no PyTorch is imported.

``tokun export onnx OUT`` (:mod:`tokun.integrations.onnx`) writes ``encoder.onnx``, ``decoder.onnx`` and
``verify.onnx``; this module reads them (and ``config.json``) and nothing else:

    encoder.onnx  bytes uint8 (N, B)      -> latents float32 (N, L)
    decoder.onnx  latents float32 (N, L)  -> logits float32 (N, B, 256)
    verify.onnx   latents float32 (N, L)  -> bytes uint8 (N, B): the decoder's reading (argmax)
                                          -> distance float32 (N,): ||E(bytes) - z|| / ||z|| (z centred for
                                             centred models), the reading re-encoded, against the latent

The decoder alone misreads a few blocks (``tokun export onnx`` prints how many, measured). A right reading
re-encodes to its latent (distance ~1e-7 in float32); a misread character lands a character's worth away
(>= 0.047 for the shipped models), so a block whose ``distance`` exceeds ``FLAG`` (0.025) is re-checked: that is
all a consumer in another language needs from ``verify.onnx``. The re-check here (:func:`search`) is verified
decoding's search, re-encoding every candidate with ``encoder.onnx``: for each character of the block, the
decoder's reading with one byte set to one of its ``TOP`` likeliest values, or two to four bytes to their
runner-ups; greedy, one character per round, up to ``ROUNDS`` rounds, keeping the candidate nearest the latent;
a block still far gets the wide search: every value of one byte, alone or next to another byte's runner-up. A
block changes only if the search brings it ``GAIN`` times closer (nearest-codeword decoding: a right reading is
never changed).

    tok = OnnxTextTokenizer("runs/onnx")
    assert tok.decode(tok.encode("Hello, 世界")) == "Hello, 世界"
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core import codec
from ..core.config import BYTES_PER_CHAR, ModelConfig
from ..core.errors import ConfigError, InputError, ModelError

ENCODER, DECODER, VERIFY, CONFIG = "encoder.onnx", "decoder.onnx", "verify.onnx", "config.json"
FLAG = 0.025  # relative distance above which a block is re-checked (verified decoding's flag)
TOP = 8  # values tried per byte, one byte changed
ROUNDS = 4  # characters changed per block at most
GAIN = 0.5  # a block changes only if the search brings its distance below GAIN x the decoder's
RUNNER_UPS = 2  # of another byte, next to every value of one byte, in the wide search
BYTE_VALUES = 256


def onnxruntime():  # noqa: ANN201 - the module
    """The onnxruntime module, or a one-line InputError saying how to install it."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise InputError("onnxruntime is not installed: pip install -e '.[onnx]'") from None
    return ort


@dataclass
class ReadStats:
    """What :meth:`OnnxTextTokenizer.read` did, in blocks."""

    blocks: int = 0
    flagged: int = 0  # whose reading re-encodes farther than FLAG from its latent
    changed: int = 0  # whose text the search changed (decoder slips corrected)
    far: int = 0  # still farther than FLAG after the search: no encoder output (noise, a model's prediction)


class OnnxTextTokenizer:
    """encode / decode / read over an export folder, onnxruntime and numpy only (module docstring)."""

    def __init__(self, folder: str | Path, *, batch_size: int = 1024, threads: int | None = None) -> None:
        ort = onnxruntime()
        self.folder = Path(folder)
        missing = [n for n in (ENCODER, DECODER, VERIFY, CONFIG) if not (self.folder / n).is_file()]
        if missing:
            raise InputError(
                f"{self.folder} has no {', '.join(missing)}: write it with `tokun export onnx {self.folder}`"
            )
        try:
            self.cfg = ModelConfig.from_dict(json.loads((self.folder / CONFIG).read_text(encoding="utf-8")))
        except (json.JSONDecodeError, ConfigError) as err:
            raise ModelError(f"{self.folder / CONFIG}: {err}") from None
        self.batch_size = batch_size
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        session = lambda name: ort.InferenceSession(  # noqa: E731
            str(self.folder / name), options, providers=["CPUExecutionProvider"]
        )
        self.encoder, self.decoder, self.verifier = session(ENCODER), session(DECODER), session(VERIFY)

    @property
    def block_chars(self) -> int:
        return self.cfg.block_chars

    # -- model calls, in chunks of batch_size ------------------------------------------------------

    def encode_bytes(self, rows: np.ndarray) -> np.ndarray:
        """``(N, B)`` uint8 -> ``(N, L)`` float32 latents."""
        data = np.ascontiguousarray(rows, dtype=np.uint8)
        out = np.empty((len(data), self.cfg.latent_dim), dtype=np.float32)
        for i in range(0, len(data), self.batch_size):
            out[i : i + self.batch_size] = self.encoder.run(None, {"bytes": data[i : i + self.batch_size]})[0]
        return out

    def log_probs(self, latents: np.ndarray) -> np.ndarray:
        """``(F, L)`` -> ``(F, C, 4, 256)`` byte log-probabilities per character."""
        logits = self.decoder.run(None, {"latents": np.ascontiguousarray(latents, dtype=np.float32)})[0]
        logits = logits - logits.max(-1, keepdims=True)
        logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        return logp.reshape(len(latents), -1, BYTES_PER_CHAR, BYTE_VALUES)

    def check(self, latents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(N, L)`` -> the decoder's ``(N, B)`` uint8 reading and ``(N,)`` relative distance (``verify.onnx``)."""
        z = np.ascontiguousarray(latents, dtype=np.float32)
        rows = np.empty((len(z), self.cfg.block_bytes), dtype=np.uint8)
        dist = np.empty(len(z), dtype=np.float32)
        for i in range(0, len(z), self.batch_size):
            rows[i : i + self.batch_size], dist[i : i + self.batch_size] = self.verifier.run(
                None, {"latents": z[i : i + self.batch_size]}
            )
        return rows, dist

    # -- the tokenizer -----------------------------------------------------------------------------

    def encode(self, text: str) -> np.ndarray:
        """Text -> ``(N, L)`` float32 latents, one per ``block_chars`` characters."""
        return self.encode_bytes(codec.encode(text, block_chars=self.block_chars))

    def read(self, latents: np.ndarray) -> tuple[np.ndarray, ReadStats]:
        """``(N, L)`` latents -> ``(N, B)`` uint8 bytes, verified: flagged blocks re-checked (module docstring)."""
        z = np.asarray(latents, dtype=np.float32)
        if z.ndim != 2 or z.shape[1] != self.cfg.latent_dim:
            raise InputError(f"latents must be (N, {self.cfg.latent_dim}), got shape {z.shape}")
        rows, dist = self.check(z)
        flagged = np.flatnonzero(dist > FLAG)
        stats = ReadStats(blocks=len(z), flagged=len(flagged))
        for i in flagged:  # each block decided from its own latent
            fixed, far = search(self, z[i], rows[i], float(dist[i]))
            stats.changed += int(not np.array_equal(fixed, rows[i]))
            stats.far += int(far)
            rows[i] = fixed
        return rows, stats

    def decode(self, latents: np.ndarray, *, length: int | None = None) -> str:
        """``(N, L)`` latents -> text; ``length`` (characters) keeps a trailing U+0000, as in ``tokun.Tokenizer``."""
        rows, _ = self.read(latents)
        return codec.decode(rows, length=length) if len(rows) else ""


def centred(z: np.ndarray, cfg: ModelConfig) -> np.ndarray:
    return z - z.mean(-1, keepdims=True) if cfg.center_latent else z


def alternatives(logp: np.ndarray) -> np.ndarray:
    """``(C, 4, 256)`` log-probabilities -> ``(C, A, 4)`` candidate characters: one byte set to each of its TOP
    likeliest values, or two to four bytes to their runner-ups."""
    ranked = np.argsort(-logp, -1)[..., :TOP]  # (C, 4, TOP)
    best = ranked[..., 0]  # (C, 4)
    out = []
    for j in range(BYTES_PER_CHAR):
        alt = np.repeat(best[:, None], TOP, 1)  # (C, TOP, 4)
        alt[..., j] = ranked[:, j, :]
        out.append(alt)
    for size in range(2, BYTES_PER_CHAR + 1):
        for which in map(list, itertools.combinations(range(BYTES_PER_CHAR), size)):
            alt = best.copy()
            alt[:, which] = ranked[:, which, 1]
            out.append(alt[:, None])
    return np.concatenate(out, 1)


def wide_alternatives(logp: np.ndarray) -> np.ndarray:
    """``(C, 4, 256)`` -> ``(C, A, 4)``: the reading (first byte 0) with every value of one byte (planes 0-16 for
    the second), alone or next to one of another byte's RUNNER_UPS runner-ups."""
    ranked = np.argsort(-logp, -1)[..., : 1 + RUNNER_UPS]  # (C, 4, 1 + R)
    chars = ranked[..., 0].copy()
    chars[:, 0] = 0
    out = []
    for j in range(1, BYTES_PER_CHAR):
        values = np.arange(0x11 if j == 1 else BYTE_VALUES)
        one = np.repeat(chars[:, None], len(values), 1)  # (C, V, 4)
        one[..., j] = values
        out.append(one)
        for k in range(1, BYTES_PER_CHAR):
            for r in range(1, 1 + RUNNER_UPS) if k != j else ():
                two = one.copy()
                two[..., k] = ranked[:, k, r][:, None]
                out.append(two)
    return np.concatenate(out, 1)


def _valid(chars: np.ndarray) -> np.ndarray:
    """``(..., 4)`` bytes -> whether each is a Unicode scalar value's UTF-32-BE encoding."""
    cp = codec.bytes_to_codepoints(chars.astype(np.uint8))[..., 0]
    return (cp <= codec.MAX_CODEPOINT) & ~((cp >= codec.SURROGATES[0]) & (cp <= codec.SURROGATES[1]))


def _greedy(tok: OnnxTextTokenizer, z: np.ndarray, row: np.ndarray, dist: float, alts: np.ndarray, rounds: int):
    """Up to ``rounds`` characters changed, each round the candidate (one character replaced by one of ``alts``,
    ``(C, A, 4)``) whose encoding is nearest ``z``; the row and its absolute distance."""
    c, a, _ = alts.shape
    ok = _valid(alts)  # (C, A)
    for _ in range(rounds):
        trials = np.repeat(row[None], c * a, 0).reshape(c, a, c, BYTES_PER_CHAR)  # (C, A, C, 4)
        trials[np.arange(c), :, np.arange(c)] = alts  # character i of candidate (i, k) is alts[i, k]
        flat = trials.reshape(c * a, -1)[ok.reshape(-1)]
        if not len(flat):
            break
        d = np.linalg.norm(centred(tok.encode_bytes(flat), tok.cfg) - z, axis=-1)
        k = int(d.argmin())
        if d[k] >= dist:
            break
        row, dist = flat[k].astype(np.uint8), float(d[k])
        if dist <= FLAG * float(np.linalg.norm(z)):
            break
    return row, dist


def search(tok: OnnxTextTokenizer, latent: np.ndarray, reading: np.ndarray, rel: float) -> tuple[np.ndarray, bool]:
    """One flagged block: its corrected ``(B,)`` reading, and whether it is still far from every codeword."""
    z = centred(latent[None].astype(np.float32), tok.cfg)[0]
    norm = float(np.linalg.norm(z))
    near = FLAG * norm
    dist0 = rel * norm
    logp = tok.log_probs(latent[None])[0]  # (C, 4, 256)
    row, dist = _greedy(tok, z, reading.copy(), dist0, alternatives(logp), ROUNDS)
    if dist > near:  # the wide search: a byte far down its list
        row, dist = _greedy(tok, z, row, dist, wide_alternatives(logp), 2)
    if dist >= GAIN * dist0:
        return reading, True
    return row, dist > near
