"""A finished shard folder of ``tokun encode-dataset`` back into rows: ``decode_dataset`` writes one Parquet file of
the documents in the inputs' order (``id``, the decoded text, the source's other columns).

Each shard is decoded into ``OUT.parts/`` first (:func:`decode_piece`, atomically; a rerun skips the finished ones),
in this process or with a runner such as Ray's (:mod:`tokun.streaming.ray_data`), then the parts are joined into
``OUT`` (atomically) and ``OUT.parts/`` removed. Ctrl-C raises :class:`~tokun.core.errors.Interrupted`, naming the
parts kept and the command that continues.
"""

from __future__ import annotations

import dataclasses
import json
import shlex
import shutil
from pathlib import Path

from tqdm import tqdm

from ..core import shards
from ..core.errors import InputError
from ..core.textio import atomic_output
from ..decoding.shard_texts import decode_shard, shard_tokenizer
from ..decoding.tokenizer import Tokenizer
from .datasets import PieceResult, Runner, interrupts, portable_model
from .inputs import one_line


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
    names = shards.finished_names(folder, manifest)
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
