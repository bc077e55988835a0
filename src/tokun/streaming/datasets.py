"""Corpora at scale: Parquet, JSONL and ``datasets`` Arrow files -> Parquet shards of latents, and back.

``encode_dataset`` plans the job (the inputs' documents numbered in order, cut into shards of ``shard_docs``
documents that never span two files), writes ``manifest.json``, then encodes every shard not yet written, in this
process or with a ``runner`` such as Ray's (:mod:`tokun.streaming.ray_data`), each with :func:`encode_piece`. A shard is written atomically:
rerunning the job skips finished shards, and the same input gives byte-identical shards. ``decode_dataset``
reads a finished folder back into a Parquet file of ``id``, ``text``. The shard format is :mod:`tokun.core.shards`.

Bad input is reported one line per problem, naming the file and row: a file that cannot be read or lacks the
column (when the job is planned), a row that is null, not a string, empty, not valid UTF-8 or JSON, or holds a
lone surrogate (when its shard is encoded). ``on_error="stop"`` raises InputError at the first one (the shard in
progress is not written); ``"skip"`` reports it and leaves the row (or file) out.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from ..core import checkpoint, codec, shards
from ..core.errors import InputError, ModelError
from ..core.textio import atomic_output
from ..core.version import __version__
from ..decoding.shard_texts import shard_texts, shard_tokenizer
from ..decoding.tokenizer import Tokenizer

SUFFIXES = {".parquet": "parquet", ".jsonl": "jsonl", ".json": "jsonl", ".arrow": "arrow"}
BATCH_CHARS = 1 << 20  # characters per call of the encoder: memory stays bounded whatever the shard size


@dataclasses.dataclass(frozen=True)
class Input:
    """One input file: ``kind`` parquet, jsonl or arrow; ``rows`` its documents (JSONL: lines); ``size`` and
    ``mtime_ns`` tell a rerun whether the file changed since its shards were written."""

    path: str
    kind: str
    rows: int
    size: int
    mtime_ns: int


@dataclasses.dataclass(frozen=True)
class Piece:
    """The documents of one shard: rows ``start:stop`` of input ``input``, numbered from ``first_id``;
    ``offset``: the byte offset of line ``start`` (JSONL)."""

    name: str
    input: int
    start: int
    stop: int
    first_id: int
    offset: int = 0


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


@dataclasses.dataclass(frozen=True)
class PieceResult:
    name: str
    documents: int
    chars: int
    problems: list[str]
    written: bool


Runner = Callable[[Job, list[Piece]], Iterator[PieceResult]]  # encodes shards elsewhere: each result as it ends


# -- finding and planning inputs ----------------------------------------------------------------------------------


def find_inputs(paths: list[str]) -> list[tuple[Path, str]]:
    """Files named, a ``Dataset.save_to_disk`` folder's Arrow files, or the Parquet/JSONL files below a folder."""
    found: list[tuple[Path, str]] = []
    for path in map(Path, paths):
        if (path / "dataset_dict.json").is_file():
            splits = ", ".join(sorted(p.name for p in path.iterdir() if p.is_dir()))
            raise InputError(f"{path} is a DatasetDict: give one split's folder ({splits})")
        if (path / "state.json").is_file():
            try:
                state = json.loads((path / "state.json").read_text(encoding="utf-8"))
                found += [(path / f["filename"], "arrow") for f in state.get("_data_files", [])]
            except (UnicodeDecodeError, json.JSONDecodeError, AttributeError, TypeError, KeyError) as err:
                raise InputError(
                    f"{path / 'state.json'}: not a valid `Dataset.save_to_disk` state file ({one_line(err)})"
                ) from None
        elif path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file())
            if not files:
                raise InputError(f"{path}: no Parquet, JSONL or Arrow files in this folder")
            found += [(p, SUFFIXES[p.suffix]) for p in files]
        elif not path.exists():
            raise InputError(f"{path}: no such file")
        elif path.suffix not in SUFFIXES:
            raise InputError(
                f"{path}: unknown format (give .parquet, .jsonl or .arrow files, or a save_to_disk folder)"
            )
        else:
            found.append((path, SUFFIXES[path.suffix]))
    return found


def open_table(path: Path, kind: str) -> Any:
    """A ``pyarrow.parquet.ParquetFile`` (its footer read), or an Arrow file as a memory-mapped ``pyarrow.Table``;
    InputError if it is unreadable."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        if kind == "parquet":
            return pq.ParquetFile(path)
        source = pa.memory_map(str(path))
        try:
            return pa.ipc.open_stream(source).read_all()  # what Dataset.save_to_disk writes
        except pa.ArrowInvalid:
            return pa.ipc.open_file(source).read_all()
    except (pa.ArrowException, OSError) as err:
        what = "Parquet" if kind == "parquet" else "Arrow"
        raise InputError(f"{path}: not a readable {what} file ({one_line(err)})") from None


def one_line(err: BaseException) -> str:
    """An error's message on one line: pyarrow's messages hold line breaks, a ``tokun: error:`` line may not."""
    return " ".join(str(err).split())


def refuse_json_array(path: Path) -> None:
    """InputError for a ``.json`` file holding one JSON array (or object) over several lines: JSONL is expected."""
    with open(path, "rb") as fh:
        head = fh.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"["):
        raise InputError(
            f"{path}: a JSON array; encode-dataset reads JSONL, one JSON object a line "
            f"(convert it with: jq -c '.[]' {path.name} > {path.stem}.jsonl)"
        )


def line_offsets(path: Path, every: int) -> tuple[int, list[int]]:
    """Lines of a JSONL file and the byte offset of every ``every``-th line (0, every, 2 every, ...)."""
    rows, offsets, at = 0, [], 0
    with open(path, "rb") as fh:
        for line in fh:
            if rows % every == 0:
                offsets.append(at)
            rows += 1
            at += len(line)
    return rows, offsets


def plan(
    paths: list[str], column: str, shard_docs: int, *, on_error: str
) -> tuple[list[Input], list[Piece], list[str]]:
    """The inputs, their shards, and the files skipped: unreadable, or without ``column`` (``on_error="stop"``:
    InputError). Document ids count the rows of the files read, in order."""
    inputs: list[Input] = []
    pieces: list[Piece] = []
    problems: list[str] = []
    first_id = 0
    for path, kind in find_inputs(paths):
        try:
            offsets: list[int] = []
            if kind == "jsonl":
                if path.suffix == ".json":
                    refuse_json_array(path)
                rows, offsets = line_offsets(path, shard_docs)
            else:
                table = open_table(path, kind)
                schema = table.schema_arrow if kind == "parquet" else table.schema
                if column not in schema.names:
                    raise InputError(f"{path}: no column {column!r} (columns: {', '.join(schema.names)})")
                rows = table.metadata.num_rows if kind == "parquet" else table.num_rows
        except InputError as err:
            if on_error == "stop":
                raise
            problems.append(f"{err} (file skipped)")
            continue
        for k, start in enumerate(range(0, rows, shard_docs)):
            stop = min(rows, start + shard_docs)
            offset = offsets[k] if offsets else 0
            pieces.append(Piece(shards.shard_name(len(pieces)), len(inputs), start, stop, first_id + start, offset))
        stat = path.stat()
        inputs.append(Input(str(path.resolve()), kind, rows, stat.st_size, stat.st_mtime_ns))  # actors run elsewhere
        first_id += rows
    return inputs, pieces, problems


# -- reading and encoding one shard's documents -------------------------------------------------------------------


def read_rows(item: Input, piece: Piece, column: str) -> Iterator[tuple[str, Any]]:
    """``(where, value)`` for each row of ``piece``; ``value`` is the column's value, or an InputError."""
    if item.kind == "jsonl":
        with open(item.path, "rb") as fh:
            fh.seek(piece.offset)
            for row in range(piece.start, piece.stop):
                yield f"line {row + 1}", json_value(fh.readline(), column)
        return
    table = open_table(Path(item.path), item.kind)
    if item.kind == "parquet":  # the row groups that hold the piece's rows
        sizes = np.array([table.metadata.row_group(g).num_rows for g in range(table.num_row_groups)])
        ends = np.cumsum(sizes)
        groups = [g for g in range(len(sizes)) if ends[g] > piece.start and ends[g] - sizes[g] < piece.stop]
        base = int(ends[groups[0]] - sizes[groups[0]]) if groups else 0
        try:
            table = table.read_row_groups(groups, columns=[column])
        except Exception as err:  # pyarrow raises OSError or ArrowException on corrupt pages
            where = f"{item.path}, rows {piece.start}..{piece.stop - 1}"
            raise InputError(f"{where}: cannot read ({one_line(err)})") from None
        values = table.column(column).slice(piece.start - base, piece.stop - piece.start).to_pylist()
    else:
        values = table.column(column).slice(piece.start, piece.stop - piece.start).to_pylist()
    for row, value in zip(range(piece.start, piece.stop), values):
        yield f"row {row}", value


def json_value(line: bytes, column: str) -> Any:
    """The ``column`` field of one JSONL line, or the InputError that says why there is none."""
    try:
        text = line.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as err:
        return InputError(f"not valid UTF-8 at byte {err.start} of the line (0x{line[err.start]:02x})")
    if not text.strip():
        return InputError("blank line, no JSON object")
    try:
        record = json.loads(text)
    except json.JSONDecodeError as err:
        return InputError(f"not valid JSON ({err})")
    if not isinstance(record, dict) or column not in record:
        return InputError(f"no field {column!r}")
    return record[column]


def document(value: Any, column: str) -> str:
    """``value`` if it is a document: a non-empty string with no lone surrogate; else InputError."""
    if isinstance(value, InputError):
        raise value
    if value is None:
        raise InputError(f"{column!r} is null")
    if not isinstance(value, str):
        raise InputError(f"{column!r} is not a string ({type(value).__name__})")
    if not value:
        raise InputError("empty document")
    return value


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
    """Read, check and encode one shard's documents, and write the shard (not when a problem stops the job)."""
    item = job.inputs[piece.input]
    ids: list[int] = []
    texts: list[str] = []
    problems: list[str] = []
    try:
        for offset, (where, value) in enumerate(read_rows(item, piece, job.column)):
            try:
                text = document(value, job.column)
                if not text.isascii():
                    codec.to_codepoints(text)  # InputError naming a lone surrogate
            except InputError as err:
                problems.append(f"{item.path}, {where}: {err}")
                if job.on_error == "stop":
                    break
                continue
            ids.append(piece.first_id + offset)
            texts.append(text)
    except InputError as err:
        problems.append(str(err))
    if problems and job.on_error == "stop":
        return PieceResult(piece.name, 0, 0, problems, written=False)
    latents, rows = encode_texts(tok, texts, job.dtype)  # (sum N_i, L)
    table = shards.latents_table(
        ids,
        [len(t) for t in texts],
        latents,
        rows=rows,
        model=portable_model(tok.name),
        dtype=job.dtype,
        latent_dim=tok.latent_dim,
    )
    shards.write_shard(Path(job.out) / piece.name, table, shard_metadata(tok, job.dtype))
    return PieceResult(piece.name, len(ids), sum(map(len, texts)), problems, written=True)


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
    with tqdm(total=sum(sizes.values()), unit="doc", disable=not progress, desc="encode-dataset", leave=False) as bar:
        results = runner(job, todo) if runner else (encode_piece(tok, job, p) for p in todo)
        for result in results:
            if result.problems and on_error == "stop":
                raise InputError(f"{result.problems[0]} (finished shards are kept: rerun to resume)")
            for line in result.problems:
                report(line)
            summary["problems"] += len(result.problems)
            summary["documents"] += result.documents
            summary["chars"] += result.chars
            bar.update(sizes[result.name])
    return summary


# -- back to text -------------------------------------------------------------------------------------------------


def decode_dataset(tok: Tokenizer, folder: str, out: str, *, progress: bool = False) -> tuple[int, int]:
    """A finished shard folder -> a Parquet file of ``id``, ``text`` in the inputs' order; (documents, chars)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    manifest = shards.read_manifest(folder)
    shard_tokenizer(folder, tok)  # the model that made the shards, before any output is begun
    schema = pa.schema([("id", pa.int64()), ("text", pa.string())])
    documents = chars = 0
    with (
        atomic_output(out) as fh,
        pq.ParquetWriter(fh, schema, compression=shards.COMPRESSION) as writer,
        tqdm(total=len(manifest["shards"]), unit="shard", disable=not progress, desc="decode", leave=False) as bar,
    ):
        for shard, texts in shard_texts(folder, tok):
            writer.write_table(pa.table({"id": shard.ids, "text": texts}, schema=schema))
            documents += len(texts)
            chars += int(shard.chars.sum())
            bar.update()
    return documents, chars
