"""Corpora at scale: Parquet, JSONL and ``datasets`` Arrow files -> Parquet shards of latents, and back.

``encode_dataset`` plans the job (the inputs' documents numbered in order, cut into shards of ``shard_docs``
documents that never span two files), writes ``manifest.json``, then encodes every shard not yet written, in this
process or with a ``runner`` such as Ray's (:mod:`tokun.streaming.ray_data`), each with :func:`encode_piece`. A
shard is written atomically: rerunning the job skips finished shards, and the same input gives byte-identical
shards. A shard keeps each document's other columns (its row without the text). :mod:`tokun.streaming.decoded` reads a
finished folder back into one Parquet file of the rows (``id``, the text, the other columns), shard by shard in the
same way (resumable, on Ray too). The shard format is :mod:`tokun.core.shards`. Ctrl-C raises
:class:`~tokun.core.errors.Interrupted`, naming the shards kept and the command that continues.

Bad input is reported one line per problem, naming the file and row: a file that cannot be read or lacks the
column (when the job is planned), a row that is null, not a string, empty, not valid UTF-8 or JSON, or holds a
lone surrogate (when its shard is encoded). ``on_error="stop"`` raises InputError at the first one (the shard in
progress is not written); ``"skip"`` reports it and leaves the row (or file) out.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shlex
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from ..core import checkpoint, codec, shards
from ..core.errors import InputError, Interrupted, ModelError
from ..core.version import __version__
from ..decoding.tokenizer import Tokenizer
from .inputs import Input, Piece, document, plan, read_piece

BATCH_CHARS = 1 << 20  # characters per call of the encoder: memory stays bounded whatever the shard size


@dataclasses.dataclass(frozen=True)
class Job:
    """What every shard needs to be encoded, in this process or on a Ray actor (picklable)."""

    out: str
    model: str
    fingerprint: str
    column: str
    dtype: str
    on_error: str
    inputs: list[Input]
    pieces: list[Piece]

    def tokenizer(self, device: str) -> Tokenizer:
        """The model, loaded in another process (a Ray actor)."""
        return Tokenizer.load(self.model, device=device, prior=False)

    def run(self, tok: Tokenizer, name: str) -> PieceResult:
        """Encode and write shard ``name``."""
        return encode_piece(tok, self, next(p for p in self.pieces if p.name == name))


@dataclasses.dataclass(frozen=True)
class PieceResult:
    name: str
    documents: int
    chars: int
    problems: list[str]
    written: bool


Runner = Callable[[Any, list[str]], Iterator[PieceResult]]  # runs a job's shards elsewhere: each result as it ends


# -- encoding one shard's documents -------------------------------------------------------------------


def encode_texts(tok: Tokenizer, texts: list[str], dtype: str) -> tuple[np.ndarray, list[int]]:
    """The latents of ``texts``, stacked ``(sum N_i, L)`` in ``dtype``, and ``N_i = ceil(len_i / block_chars)``.

    ``tok.encode_batch`` runs over groups of about ``BATCH_CHARS`` characters, each group's float32 latents written
    into the one ``dtype`` array at once (memory: the shard's latents in ``dtype``, once)."""
    rows = [-(-len(t) // tok.block_chars) for t in texts]
    flat = np.empty((sum(rows), tok.latent_dim), dtype)
    at = start = size = 0
    for k, text in enumerate(texts + [None]):  # type: ignore[list-item]
        if k > start and (text is None or size + len(text) > BATCH_CHARS):
            for z in tok.encode_batch(texts[start:k]):  # (N_i, L) float32
                flat[at : at + len(z)] = z.numpy()
                at += len(z)
            start, size = k, 0
        if text is not None:
            size += len(text)
    assert at == len(flat), (at, len(flat))
    return flat, rows


def shard_metadata(tok: Tokenizer, dtype: str) -> dict[str, str]:
    return {
        "model": portable_model(tok.name),  # a directory as an absolute path: decodable from anywhere
        "model_sha256": tok.fingerprint,
        "block_chars": str(tok.block_chars),
        "latent_dim": str(tok.latent_dim),
        "dtype": dtype,
        "version": __version__,
    }


def encode_piece(tok: Tokenizer, job: Job, piece: Piece) -> PieceResult:
    """Read, check and encode one shard's documents, and write the shard with the rows' other columns (not when a
    problem stops the job)."""
    item = job.inputs[piece.input]
    kept: list[int] = []  # the piece's rows that are documents
    texts: list[str] = []
    problems: list[str] = []
    others = None
    try:
        rows, others = read_piece(item, piece, job.column)
        for offset, (where, value) in enumerate(rows):
            try:
                text = document(value, job.column)
                if not text.isascii():
                    codec.to_codepoints(text)  # InputError naming a lone surrogate
            except InputError as err:
                problems.append(f"{item.path}, {where}: {err}")
                if job.on_error == "stop":
                    break
                continue
            kept.append(offset)
            texts.append(text)
    except InputError as err:
        problems.append(str(err))
    if problems and job.on_error == "stop":
        return PieceResult(piece.name, 0, 0, problems, written=False)
    latents, rows_per_doc = encode_texts(tok, texts, job.dtype)  # (sum N_i, L)
    table = shards.latents_table(
        [piece.first_id + k for k in kept],
        [len(t) for t in texts],
        latents,
        rows=rows_per_doc,
        model=portable_model(tok.name),
        dtype=job.dtype,
        latent_dim=tok.latent_dim,
        source=others.take(kept) if others is not None and others.num_columns else None,
    )
    shards.write_shard(Path(job.out) / piece.name, table, shard_metadata(tok, job.dtype))
    return PieceResult(piece.name, len(kept), sum(map(len, texts)), problems, written=True)


# -- the job ------------------------------------------------------------------------------------------------------


def manifest_of(tok: Tokenizer, job: Job, shard_docs: int) -> dict[str, Any]:
    return {
        "format": shards.FORMAT,
        **shard_metadata(tok, job.dtype),
        "column": job.column,
        "shard_docs": shard_docs,
        "inputs": [dataclasses.asdict(i) for i in job.inputs],
        "shards": [dataclasses.asdict(p) for p in job.pieces],
    }


def portable_model(name: str) -> str:
    """A shipped model's name as it is; a model directory as an absolute path."""
    try:
        folder = checkpoint.resolve(name)
    except ModelError:
        return name  # a Tokenizer made in memory: Tokenizer.load fails on the actors with this name
    return name if folder.parent == checkpoint.weights_root() else str(folder.resolve())


def check_resume(folder: Path, found: dict[str, Any], manifest: dict[str, Any]) -> None:
    """InputError unless ``found`` (the folder's manifest) is this job's ``manifest``: an input changed since (its
    shards would mix old and new documents), or another job."""
    if found == manifest:
        return
    old = {i.get("path"): i for i in found.get("inputs", [])}
    for item in manifest["inputs"]:
        before = old.get(item["path"])
        if before is not None and before != item:
            raise InputError(
                f"{item['path']} has changed since {folder} was begun (its size or modification time differs): "
                f"its finished shards may hold the old documents; give another --out, or delete {folder}"
            )
    raise InputError(f"{folder} holds shards of another job (other inputs, model or options): give another --out")


def encode_dataset(
    tok: Tokenizer,
    paths: list[str],
    out: str,
    *,
    column: str = "text",
    dtype: str = "float16",
    shard_docs: int = 4096,
    on_error: str = "stop",
    progress: bool = False,
    report: Callable[[str], None] = lambda line: None,
    runner: Runner | None = None,
) -> dict[str, Any]:
    """Encode the documents of ``paths`` into shards under ``out`` (resumable); a summary of the run.

    ``runner``: ``None`` encodes in this process; :func:`tokun.streaming.ray_data.ray_runner` on Ray Data. ``report``
    receives each problem
    skipped under ``on_error="skip"``; under ``"stop"`` the first one raises InputError."""
    if on_error not in ("stop", "skip"):
        raise InputError(f"--on-error must be stop or skip, got {on_error!r}")
    if shard_docs < 1:
        raise InputError(f"--shard-docs must be positive, got {shard_docs}")
    if dtype not in shards.DTYPES:
        raise InputError(f"--dtype must be one of {', '.join(shards.DTYPES)}, got {dtype!r}")
    inputs, pieces, skipped = plan(paths, column, shard_docs, on_error=on_error)
    for line in skipped:
        report(line)
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"cannot write shards to {folder}: it is a file")
    folder.mkdir(parents=True, exist_ok=True)
    # absolute paths: Ray's actors may run in another working directory, on another node
    job = Job(str(folder.resolve()), portable_model(tok.name), tok.fingerprint, column, dtype, on_error, inputs, pieces)
    manifest = manifest_of(tok, job, shard_docs)
    if shards.is_shard_folder(folder):
        check_resume(folder, shards.read_manifest(folder), manifest)
    else:
        shards.write_manifest(folder, manifest)
    todo = [p for p in pieces if not (folder / p.name).is_file()]
    summary = {"shards": len(pieces), "skipped_done": len(pieces) - len(todo), "documents": 0, "chars": 0}
    summary["problems"] = len(skipped)
    sizes = {p.name: p.stop - p.start for p in todo}
    names = list(sizes)
    options = {"column": column, "dtype": dtype, "shard_docs": shard_docs, "on_error": on_error}
    rerun = encode_command(paths, out, model=job.model, **options)
    with (
        interrupts(f"{len(pieces)} shards in {out}", lambda: sum((folder / p.name).is_file() for p in pieces), rerun),
        tqdm(total=sum(sizes.values()), unit="doc", disable=not progress, desc="encode-dataset", leave=False) as bar,
    ):
        for result in runner(job, names) if runner else (job.run(tok, name) for name in names):
            if result.problems and on_error == "stop":
                raise InputError(f"{result.problems[0]} (finished shards are kept: rerun to resume)")
            for line in result.problems:
                report(line)
            summary["problems"] += len(result.problems)
            summary["documents"] += result.documents
            summary["chars"] += result.chars
            bar.update(sizes[result.name])
    return summary


def encode_command(
    paths: list[str], out: str, *, model: str, column: str, dtype: str, shard_docs: int, on_error: str
) -> str:
    """The ``tokun encode-dataset`` command line of this job (its options that are not the defaults): what resumes
    it (``--threads``, ``--ray`` and ``--workers`` change nothing in the shards)."""
    words = ["tokun", "encode-dataset", *paths, "--out", out]
    options = {"--model": (model, "4x16"), "--column": (column, "text"), "--latent-dtype": (dtype, "float16")}
    options |= {"--shard-docs": (str(shard_docs), "4096"), "--on-error": (on_error, "stop")}
    for flag, (value, default) in options.items():
        words += [flag, value] if value != default else []
    return shlex.join(words)


@contextlib.contextmanager
def interrupts(what: str, kept: Callable[[], int], rerun: str) -> Iterator[None]:
    """Ctrl-C (KeyboardInterrupt) inside -> :class:`Interrupted`, whose message says how many of ``what`` are
    finished and kept (``kept()``, counted then) and the command that continues the job."""
    try:
        yield
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted: {kept()} of {what} are finished and kept; to continue, run: {rerun}") from None
