"""ONNX: tokun's encoder and decoder as two ONNX files, and tokun's inference over onnxruntime.

``tokun export onnx OUT_DIR`` (:func:`export_onnx`) writes, atomically (a temporary directory, then renamed):

    encoder.onnx   input ``bytes``   uint8 (N, B)      -> output ``latents`` float32 (N, L)
    decoder.onnx   input ``latents`` float32 (N, L)    -> output ``logits``  float32 (N, B, 256)
    verify.onnx    input ``latents`` float32 (N, L)    -> outputs ``bytes`` uint8 (N, B), the decoder's reading, and
                   ``distance`` float32 (N,), that reading re-encoded against the latent, relative: a block above
                   0.025 is one to re-check (:mod:`tokun.integrations.onnx_runtime`)
    config.json    the model's ModelConfig (B = block_bytes, 64 for ``4x16``; L = latent_dim, 256)
    model.safetensors  the weights exported: the folder is a tokun model directory too (``--model OUT_DIR``)

with N dynamic. These names and shapes are a contract. :class:`~tokun.integrations.onnx_runtime.OnnxTextTokenizer`
reads exact text from the three graphs with onnxruntime and numpy only (no PyTorch); :func:`raw_error_rate`
measures how often the decoder alone misreads a block (``tokun export onnx`` prints it). :class:`OnnxInference` runs the pair in onnxruntime behind
the interface verified decoding takes (:mod:`tokun.decoding.verify`), so :class:`OnnxTokenizer` reads exact text
with every model call in onnxruntime: the decoder's reading and its log-probabilities from ``decoder.onnx``, each
block re-encoded by ``encoder.onnx``. Only the search's scoring of candidate characters uses the weights, through
the slot algebra of the last tokenize block (:mod:`tokun.decoding.slots`, small products in torch); without
``model.safetensors`` every candidate is re-encoded by ``encoder.onnx`` instead, and the search has no wide or
deep stage (2 of the 68 corpus files, gu and vi-Hani, then keep a slip).

    export_onnx(tokun.load_model("4x16"), "runs/onnx")
    tok = OnnxTokenizer("runs/onnx")
    assert tok.decode(tok.encode("Hello, 世界")) == "Hello, 世界"
"""

from __future__ import annotations

import contextlib
import copy
import functools
import logging
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch
from torch import nn

from ..core import codec
from ..core.checkpoint import CONFIG, WEIGHTS, atomic_dir, load_model, read_config, write_model
from ..core.errors import InputError
from ..core.model import BYTE_VALUES, AutoEncoder
from ..decoding.inference import read_step
from ..decoding.slots import CHAR_BYTES, SlotTerms, read_scalar_values
from ..decoding.tokenizer import Tokenizer
from ..decoding.verify import VerifyConfig

ENCODER, DECODER, VERIFY = "encoder.onnx", "decoder.onnx", "verify.onnx"
EXPORT_FILES = (ENCODER, DECODER, VERIFY, CONFIG, WEIGHTS)
MIN_OPSET = 18  # torch's exporter (torch.export + onnxscript) writes opset 18 and later
DEFAULT_OPSET = 18


def onnxruntime() -> ModuleType:
    """The onnxruntime module, or a one-line InputError saying how to install it."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise InputError("onnxruntime is not installed: pip install -e '.[onnx]'") from None
    return ort


def installed_backends(tok: Tokenizer, folder: str | Path, *, threads: int | None = None) -> dict[str, Any]:
    """The other backends installed that run ``tok``'s model, for ``bench``'s ``others``: ``{"onnxruntime": an
    OnnxTokenizer of the model exported into ``folder``}`` where onnxruntime and the exporter are importable, else
    ``{}``."""
    try:
        onnx = exported_tokenizer(tok.model, folder, batch_size=tok.batch_size, threads=threads, verify=tok.verify)
    except (InputError, ImportError):
        return {}
    return {"onnxruntime": onnx}


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The exporter's warnings and log lines (optional torchvision ops, deprecations) kept off the terminal."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


class VerifyGraph(nn.Module):
    """``verify.onnx``: latents ``(N, L)`` -> the decoder's reading ``(N, B)`` uint8 and its re-encoding's relative
    distance to the latent ``(N,)`` (the latent centred first for centred models, as verified decoding does)."""

    def __init__(self, model: AutoEncoder) -> None:
        super().__init__()
        self.encoder, self.decoder, self.centred = model.encoder, model.decoder, model.cfg.center_latent

    def forward(self, latents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        rows = read_scalar_values(self.decoder(latents))  # (N, B)
        z = latents - latents.mean(-1, keepdim=True) if self.centred else latents  # (N, L)
        distance = (self.encoder(rows) - z).norm(dim=-1) / z.norm(dim=-1)  # (N,)
        return rows.to(torch.uint8), distance


def _export(
    module: nn.Module, example: torch.Tensor, name_in: str, names_out: str | list[str], path: Path, opset: int
) -> None:
    """One module with one input, dynamic along the first axis, into one self-contained file."""
    rows = torch.export.Dim("N")
    with _quiet():
        program = torch.onnx.export(
            module,
            (example,),
            input_names=[name_in],
            output_names=[names_out] if isinstance(names_out, str) else names_out,
            dynamic_shapes=({0: rows},),
            opset_version=opset,
            dynamo=True,
            verbose=False,
        )
        program.save(str(path), external_data=False)


def export_onnx(model: AutoEncoder, out: str | Path, *, opset: int = DEFAULT_OPSET) -> Path:
    """Write ``out``/encoder.onnx, decoder.onnx, verify.onnx, config.json and model.safetensors (module docstring) from ``model``
    in float32.

    ``out`` must be new, empty, or a previous export (it is replaced as a whole); InputError otherwise."""
    out = Path(out)
    if opset < MIN_OPSET:
        raise InputError(f"--opset {opset}: the exporter writes opset {MIN_OPSET} or later")
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} is a file: give a directory for {ENCODER} and {DECODER}")
    other = sorted(p.name for p in out.iterdir() if p.name not in EXPORT_FILES) if out.is_dir() else []
    if other:
        raise InputError(f"{out} holds other files ({', '.join(other[:3])}): give a new or empty directory")
    net = copy.deepcopy(model).float().cpu().eval()
    rows = torch.zeros(2, net.cfg.block_bytes, dtype=torch.uint8)  # examples: shapes and dtypes, N made dynamic
    latents = torch.zeros(2, net.cfg.latent_dim)
    try:
        with atomic_dir(out) as tmp:
            _export(net.encoder, rows, "bytes", "latents", tmp / ENCODER, opset)
            _export(net.decoder, latents, "latents", "logits", tmp / DECODER, opset)
            _export(VerifyGraph(net).eval(), latents, "latents", ["bytes", "distance"], tmp / VERIFY, opset)
            write_model(net, tmp)
    except OSError as err:
        raise InputError(f"cannot write {out}: {err.strerror or err}") from None
    return out


@dataclass(frozen=True)
class RawErrors:
    """How often ``decoder.onnx`` alone (argmax) misreads a block, and how many blocks ``verify.onnx`` flags."""

    blocks: int
    misread: int  # blocks whose argmax reading differs from the text
    flagged: int  # blocks whose reading re-encodes farther than the flag: re-checked
    missed: int  # misread blocks not flagged (0: the flag catches every slip)

    @property
    def rate(self) -> float:
        return self.misread / max(1, self.blocks)


def raw_error_rate(folder: str | Path, texts: list[str]) -> RawErrors:
    """Run ``verify.onnx`` over ``texts`` encoded by ``encoder.onnx`` (onnxruntime only) and count misread blocks."""
    from .onnx_runtime import FLAG, OnnxTextTokenizer

    tok = OnnxTextTokenizer(folder)
    blocks = misread = flagged = missed = 0
    for text in texts:
        rows = codec.encode(text, block_chars=tok.block_chars)
        read, dist = tok.check(tok.encode_bytes(rows))
        wrong = (read != rows).any(-1)
        flag = dist > FLAG
        blocks, misread = blocks + len(rows), misread + int(wrong.sum())
        flagged, missed = flagged + int(flag.sum()), missed + int((wrong & ~flag).sum())
    return RawErrors(blocks, misread, flagged, missed)


RANDOM_SAMPLE = "random codepoints of planes 0-3 (1,024 blocks, seed 0)"


def export_report(folder: str | Path, paths: list[str | Path] | None = None) -> str:
    """The line ``tokun export onnx`` prints: :func:`raw_error_rate` over the text files of ``paths`` (files or
    folders of .txt), or without them over :data:`RANDOM_SAMPLE`."""
    from ..core.sources import random_codepoints
    from ..core.textio import read_text, text_files

    if paths:
        files = text_files(list(paths))
        texts, sample = [read_text(f) for f in files], f"{len(files)} files of {', '.join(map(str, paths))}"
    else:
        texts, sample = ["".join(map(chr, random_codepoints("planes0-3", 16 * 1024, seed=0)))], RANDOM_SAMPLE
    r = raw_error_rate(folder, texts)
    return (
        f"decoder.onnx alone misreads {r.misread:,} of {r.blocks:,} blocks ({100 * r.rate:.3f} %) of {sample}; "
        f"verify.onnx flags {r.flagged:,} for a re-check ({r.missed} misread blocks unflagged)"
    )


class OnnxInference:
    """The exported pair in onnxruntime, with the interface of :class:`~tokun.decoding.inference.Inference` that
    verified decoding uses: ``encode_bytes``, ``read``, ``log_probs``, ``centred``, ``device``, ``slot_terms``.

    ``slot_terms``: the slot algebra of the exported weights (module docstring), None without them."""

    device = torch.device("cpu")

    def __init__(self, folder: str | Path, *, batch_size: int = 512, threads: int | None = None) -> None:
        ort = onnxruntime()
        folder = Path(folder)
        self.folder = folder
        missing = [name for name in (ENCODER, DECODER, CONFIG) if not (folder / name).is_file()]
        if missing:
            raise InputError(f"{folder} has no {', '.join(missing)}: write it with `tokun export onnx {folder}`")
        self.cfg = read_config(folder)
        self.batch_size = batch_size
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self.encoder = ort.InferenceSession(str(folder / ENCODER), options, providers=["CPUExecutionProvider"])
        self.decoder = ort.InferenceSession(str(folder / DECODER), options, providers=["CPUExecutionProvider"])

    @property
    def centred(self) -> bool:
        return self.cfg.center_latent

    @functools.cached_property
    def model(self) -> AutoEncoder:
        """The exported weights (``model.safetensors``) in PyTorch, loaded on first use; ModelError without them."""
        return load_model(self.folder)

    @functools.cached_property
    def slot_terms(self) -> SlotTerms | None:
        if not (self.folder / WEIGHTS).is_file():
            return None
        encoder = self.model.encoder
        return SlotTerms(encoder) if SlotTerms.applies(encoder) else None

    def encode_bytes(self, rows: np.ndarray) -> torch.Tensor:
        """``(N, block_bytes)`` uint8 rows -> ``(N, latent_dim)`` float32 latents."""
        data = np.ascontiguousarray(rows, dtype=np.uint8)
        out = np.empty((len(data), self.cfg.latent_dim), dtype=np.float32)
        for i in range(0, len(data), self.batch_size):
            out[i : i + self.batch_size] = self.encoder.run(None, {"bytes": data[i : i + self.batch_size]})[0]
        return torch.from_numpy(out)

    def logits(self, latents: torch.Tensor | np.ndarray) -> np.ndarray:
        """``(N, latent_dim)`` latents -> ``(N, block_bytes, 256)`` float32 byte logits (one run)."""
        z = torch.as_tensor(latents).detach().float().cpu().numpy()
        return self.decoder.run(None, {"latents": np.ascontiguousarray(z)})[0]

    def read(self, latents: torch.Tensor) -> np.ndarray:
        """``(N, latent_dim)`` latents -> ``(N, block_bytes)`` uint8: the decoder's likeliest bytes of a Unicode
        scalar value at each character, as `Inference.read` (:func:`~tokun.decoding.slots.read_scalar_values`)."""
        out = np.empty((len(latents), self.cfg.block_bytes), dtype=np.uint8)
        step = read_step(self.cfg.block_bytes, self.batch_size)
        for i in range(0, len(latents), step):
            out[i : i + step] = read_scalar_values(torch.from_numpy(self.logits(latents[i : i + step]))).numpy()
        return out

    def log_probs(self, latents: torch.Tensor) -> torch.Tensor:
        """``(F, latent_dim)`` latents -> ``(F, C, 4, 256)`` float32 byte log-probabilities, per character."""
        logp = torch.log_softmax(torch.from_numpy(self.logits(latents)), -1)  # (F, T, 256)
        return logp.view(len(latents), -1, CHAR_BYTES, BYTE_VALUES)


class OnnxTokenizer(Tokenizer):
    """:class:`~tokun.decoding.tokenizer.Tokenizer` (encode, decode, batches, ``read``) over an exported pair:
    every model call is an onnxruntime run; decoding is verified (``verify``) with :class:`OnnxInference`.
    ``model`` is the folder's ``model.safetensors`` in PyTorch (loaded on first use, for callers that want it);
    no method of the tokenizer needs it."""

    def __init__(
        self, folder: str | Path, *, batch_size: int = 512, threads: int | None = None, verify: bool = True
    ) -> None:
        self.inference = OnnxInference(folder, batch_size=batch_size, threads=threads)  # type: ignore[assignment]
        self.verify = verify
        self.search = VerifyConfig()
        self._prior = None
        self.prior_name = self.prior_file = None
        self.name = f"onnx:{folder}"
        self.fingerprint = ""

    @classmethod
    def load(  # type: ignore[override]
        cls, model: str | Path, *, batch_size: int = 512, threads: int | None = None, verify: bool = True
    ) -> OnnxTokenizer:
        """The tokenizer of an exported folder (``tokun export onnx``): ``OnnxTokenizer(model, ...)``."""
        return cls(model, batch_size=batch_size, threads=threads, verify=verify)

    @property
    def block_chars(self) -> int:
        return self.inference.cfg.block_chars

    @property
    def latent_dim(self) -> int:
        return self.inference.cfg.latent_dim


def exported_tokenizer(
    model: AutoEncoder, folder: str | Path, *, batch_size: int = 512, threads: int | None = None, verify: bool = True
) -> OnnxTokenizer:
    """``model`` exported into ``folder`` and read back by onnxruntime (``tokun bench --backend onnxruntime``)."""
    onnxruntime()  # a missing onnxruntime fails before the export's seconds
    export_onnx(model, folder)
    return OnnxTokenizer(folder, batch_size=batch_size, threads=threads, verify=verify)
