"""The inputs of ``tokun encode-dataset``: Parquet, JSONL and ``datasets`` Arrow files found, planned into shards of
documents that never span two files, and read one shard at a time, each bad row named by its file and row."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..core import shards
from ..core.errors import InputError

SUFFIXES = {".parquet": "parquet", ".jsonl": "jsonl", ".json": "jsonl", ".arrow": "arrow"}


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
