"""Corpora at scale: Parquet, JSONL and ``datasets`` Arrow files -> Parquet shards of latents, and back.

``encode_dataset`` plans the job (the inputs' documents numbered in order, cut into shards of ``shard_docs``
documents that never span two files), writes ``manifest.json``, then encodes every shard not yet written, in this
process or with a ``runner`` such as Ray's (:mod:`tokun.streaming.ray_data`), each with :func:`encode_piece`. A
shard is written atomically: rerunning the job skips finished shards, and the same input gives byte-identical
shards. A shard keeps each document's other columns (its row without the text). ``decode_dataset`` reads a finished
folder back into one Parquet file of the rows (``id``, the text, the other columns), shard by shard in the same
way (:func:`decode_piece`, resumable, on Ray too). The shard format is :mod:`tokun.core.shards`. Ctrl-C raises
:class:`~tokun.core.errors.Interrupted`, naming the shards kept and the command that continues.

Bad input is reported one line per problem, naming the file and row: a file that cannot be read or lacks the
column (when the job is planned), a row that is null, not a string, empty, not valid UTF-8 or JSON, or holds a
lone surrogate (when its shard is encoded). ``on_error="stop"`` raises InputError at the first one (the shard in
progress is not written); ``"skip"`` reports it and leaves the row (or file) out.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shlex
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from .. import __version__
from ..core import checkpoint, codec, shards
from ..core.errors import InputError, Interrupted, ModelError
from ..core.textio import atomic_output
from ..decoding.shard_texts import decode_shard, shard_tokenizer
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

    def tokenizer(self, device: str) -> Tokenizer:
        """The model, loaded in another process (a Ray actor)."""
        return Tokenizer.load(self.model, device=device, prior=False)

    def run(self, tok: Tokenizer, name: str) -> PieceResult:
        """Encode and write shard ``name``."""
        return encode_piece(tok, self, next(p for p in self.pieces if p.name == name))


@dataclasses.dataclass(frozen=True)
class DecodeJob:
    """What every shard needs to be decoded, in this process or on a Ray actor (picklable): shard ``name`` of
    ``folder`` is decoded into ``parts/name``, a Parquet file of its rows (the text in column ``column``)."""

    folder: str
    parts: str
    model: str
    fingerprint: str
    column: str
    verify: bool
    prior: str | None
    names: list[str]

    def tokenizer(self, device: str) -> Tokenizer:
        """The model, loaded in another process (a Ray actor), decoding as the driver's does."""
        return Tokenizer.load(self.model, device=device, verify=self.verify, prior=self.prior or False)

    def run(self, tok: Tokenizer, name: str) -> PieceResult:
        """Decode shard ``name`` and write its rows."""
        return decode_piece(tok, self, name)


@dataclasses.dataclass(frozen=True)
class PieceResult:
    name: str
    documents: int
    chars: int
    problems: list[str]
    written: bool


Runner = Callable[[Any, list[str]], Iterator[PieceResult]]  # runs a job's shards elsewhere: each result as it ends


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


def read_piece(item: Input, piece: Piece, column: str) -> tuple[list[tuple[str, Any]], Any]:
    """``(where, value)`` for each row of ``piece`` (``value``: the column's value, or an InputError), and the
    rows' other columns, a ``pyarrow.Table`` of as many rows (JSONL: the other fields, null where a line lacks one)."""
    import pyarrow as pa

    if item.kind == "jsonl":
        rows, records = [], []
        with open(item.path, "rb") as fh:
            fh.seek(piece.offset)
            for row in range(piece.start, piece.stop):
                record = json_record(fh.readline(), column)
                rows.append((f"line {row + 1}", record if isinstance(record, InputError) else record[column]))
                records.append({} if isinstance(record, InputError) else record)
        return rows, other_fields(records, column, f"{item.path}, lines {piece.start + 1}..{piece.stop}")
    table = open_table(Path(item.path), item.kind)
    if item.kind == "parquet":  # the row groups that hold the piece's rows
        sizes = np.array([table.metadata.row_group(g).num_rows for g in range(table.num_row_groups)])
        ends = np.cumsum(sizes)
        groups = [g for g in range(len(sizes)) if ends[g] > piece.start and ends[g] - sizes[g] < piece.stop]
        base = int(ends[groups[0]] - sizes[groups[0]]) if groups else 0
        try:
            table = table.read_row_groups(groups)
        except Exception as err:  # pyarrow raises OSError or ArrowException on corrupt pages
            where = f"{item.path}, rows {piece.start}..{piece.stop - 1}"
            raise InputError(f"{where}: cannot read ({one_line(err)})") from None
        table = table.slice(piece.start - base, piece.stop - piece.start)
    else:
        table = table.slice(piece.start, piece.stop - piece.start)
    values = table.column(column).to_pylist()
    rows = [(f"row {row}", value) for row, value in zip(range(piece.start, piece.stop), values)]
    return rows, table.drop_columns([column]) if table.num_columns > 1 else pa.table({})


def other_fields(records: list[dict[str, Any]], column: str, where: str) -> Any:
    """The fields of JSONL records other than ``column``, as a ``pyarrow.Table`` (columns in order of first
    appearance, null where a record lacks one); InputError for a field whose values pyarrow cannot hold in one
    column (a number in one line, a string in another)."""
    import pyarrow as pa

    names = list(dict.fromkeys(k for r in records for k in r if k != column))
    try:
        return pa.table({k: pa.array([r.get(k) for r in records]) for k in names}) if names else pa.table({})
    except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
        raise InputError(f"{where}: a field of mixed types cannot be kept as a column ({one_line(err)})") from None


def json_record(line: bytes, column: str) -> dict[str, Any] | InputError:
    """One JSONL line's object, or the InputError that says why it holds no ``column``."""
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
    return record


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


# -- back to text -------------------------------------------------------------------------------------------------


def decode_dataset(
    tok: Tokenizer,
    folder: str,
    out: str,
    *,
    columns: list[str] | None = None,
    progress: bool = False,
    runner: Runner | None = None,
) -> tuple[int, int]:
    """A finished shard folder -> one Parquet file of its documents in the inputs' order; (documents, chars).

    The file holds ``id`` (the document's position in the inputs; a source column of that name takes its place), the
    decoded text (in the column it was read from) and every other column of the source rows (``columns``: these
    only, in this order). Each shard is decoded into ``OUT.parts/`` first (atomically; a rerun skips the finished
    ones), in this process or with a ``runner`` (:func:`tokun.streaming.ray_data.ray_runner`), then the parts are
    joined into ``out`` (atomically) and ``OUT.parts/`` removed."""
    manifest = shards.read_manifest(folder)
    shard_tokenizer(folder, tok)  # the model that made the shards, before any output is begun
    names = [p["name"] for p in manifest["shards"]]
    missing = [n for n in names if not (Path(folder) / n).is_file()]
    if missing:
        raise InputError(
            f"{folder} is incomplete: {len(missing)} of {len(names)} shards missing (first {missing[0]}); "
            "run the same `tokun encode-dataset` again to finish it"
        )
    if runner is not None and tok.prior_name == "custom":
        raise InputError("a character prior made in memory cannot be sent to Ray's actors: give it as a file")
    target = Path(out)
    if target.is_dir():
        raise InputError(f"cannot write {target}: it is a directory")
    if not target.parent.is_dir():
        raise InputError(f"cannot write {target}: folder {target.parent} does not exist")
    parts = target.with_name(target.name + ".parts")
    job = DecodeJob(
        str(Path(folder).resolve()),
        str(parts.resolve()),
        portable_model(tok.name),
        tok.fingerprint,
        manifest["column"],
        tok.verify,
        tok.prior_file,
        names,
    )
    if columns:  # before any decoding: the columns the shards can give
        found = output_columns([Path(folder) / n for n in names], manifest["column"])
        if unknown := [c for c in columns if c not in found]:
            raise InputError(f"--columns: no column {unknown[0]!r} (columns: {', '.join(found)})")
    begin_parts(job)
    sizes = {p["name"]: p["stop"] - p["start"] for p in manifest["shards"]}
    todo = [n for n in names if not (parts / n).is_file()]
    rerun = decode_command(folder, out, tok, manifest["model"])
    def decoded() -> int:
        return sum((parts / n).is_file() for n in names)

    with (
        interrupts(f"{len(names)} shards decoded into {parts}", decoded, rerun),
        tqdm(
            total=sum(sizes.values()),
            initial=sum(sizes.values()) - sum(sizes[n] for n in todo),
            unit="doc",
            disable=not progress,
            desc="decode-dataset",
            leave=False,
        ) as bar,
    ):
        for result in runner(job, todo) if runner else (job.run(tok, name) for name in todo):
            bar.update(sizes[result.name])
        counts = join_parts([parts / n for n in names], target, manifest["column"], columns)
    shutil.rmtree(parts)
    return counts


def output_columns(paths: list[Path], text: str) -> list[str]:
    """The columns decoding the shards ``paths`` writes: ``id``, ``text`` and the source columns (their schemas)."""
    import pyarrow.parquet as pq

    found = ["id", text]
    for path in paths:
        schema = pq.read_schema(path)
        if "source" in schema.names:
            found += [f.name for f in schema.field("source").type if f.name not in found]
    return found


def decode_command(folder: str, out: str, tok: Tokenizer, made_by: str) -> str:
    """The ``tokun decode-dataset`` command line that continues this decode (its model and decoding options)."""
    words = ["tokun", "decode-dataset", folder, "--out", out]
    words += ["--model", portable_model(tok.name)] if portable_model(tok.name) != made_by else []
    words += [] if tok.verify else ["--no-verify"]
    if tok.prior_name != "shipped":
        words += ["--no-prior"] if tok.prior_name is None else ["--prior", tok.prior_name]
    return shlex.join(words)


def begin_parts(job: DecodeJob) -> None:
    """Create ``job.parts`` with its ``job.json`` (the shards and how they are decoded), or check that an existing
    one (an interrupted decode's) holds parts of this same decode."""
    parts = Path(job.parts)
    stamp = {"shards": job.folder, "model_sha256": job.fingerprint, "verify": job.verify, "prior": job.prior}
    if parts.is_dir() and (parts / "job.json").is_file():
        if json.loads((parts / "job.json").read_text(encoding="utf-8")) != stamp:
            raise InputError(f"{parts} holds the parts of another decode (other shards or options): delete it")
        return
    if parts.exists():
        raise InputError(f"cannot decode into {parts}: it exists and is not a folder of decoded parts")
    parts.mkdir()
    with atomic_output(parts / "job.json") as fh:
        fh.write(json.dumps(stamp, sort_keys=True).encode("utf-8"))


def decode_piece(tok: Tokenizer, job: DecodeJob, name: str) -> PieceResult:
    """Decode one shard and write its rows (``id``, the text, the source's other columns) to ``job.parts/name``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    shard = shards.read_shard(Path(job.folder) / name)
    texts = decode_shard(tok, shard)
    table = shard.source  # the source's own "id", where it has one, in place of the position
    ids = table.column("id") if "id" in table.column_names else pa.array(shard.ids, pa.int64())
    others = table.drop_columns(["id"]) if "id" in table.column_names else table
    table = others.add_column(0, "id", ids).add_column(1, job.column, pa.array(texts, pa.string()))
    with atomic_output(Path(job.parts) / name) as fh:
        pq.write_table(table, fh, compression=shards.COMPRESSION)
    return PieceResult(name, len(texts), int(shard.chars.sum()), [], written=True)


def join_parts(paths: list[Path], out: Path, text: str, columns: list[str] | None) -> tuple[int, int]:
    """The decoded parts, in order, written into one Parquet file (atomically) with one schema: a column's type
    unified over the parts (a JSONL field null in one shard and a string in another is a string); (documents,
    characters of the column ``text``)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    schemas = [pq.read_schema(p) for p in paths]
    try:
        schema = pa.unify_schemas(schemas, promote_options="permissive") if schemas else pa.schema([("id", pa.int64())])
    except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
        raise InputError(f"the shards' source columns differ in type and cannot be joined ({one_line(err)})") from None
    if columns:
        schema = pa.schema([schema.field(c) for c in columns])
    documents = chars = 0
    with atomic_output(out) as fh, pq.ParquetWriter(fh, schema, compression=shards.COMPRESSION) as writer:
        for path in paths:
            table = pq.read_table(path)
            cells = [
                table.column(f.name).cast(f.type) if f.name in table.column_names else pa.nulls(len(table), f.type)
                for f in schema
            ]
            writer.write_table(pa.table(cells, schema=schema))
            documents += len(table)
            chars += pc.sum(pc.utf8_length(table.column(text))).as_py() or 0
    return documents, chars
