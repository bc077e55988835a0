"""Parquet shards of latents: a corpus encoded once, read in order by anything that trains on latents.

A shard folder (``tokun encode-dataset ... --out DIR``) holds ``manifest.json`` (the job: model, column, inputs,
the shards in order) and one Parquet file per shard, one row per document::

    id       int64                              the document's position in the inputs (files in order, rows in order)
    chars    int64                              its length in characters (the exact length to decode)
    latents  list<fixed_size_list<float, L>>    (ceil(chars / block_chars), L) latents, float16 or float32
    model    string                             the model that made them
    source   struct<...>                        the document's row without its text: every other column of the
                                                input (JSONL: every other field); absent when there is none

The ``source`` column was added after the first shards were written: a shard without it reads as before (its
documents decode to ``id`` and the text alone).
Shards are written atomically (temporary file + rename) and are byte-identical for the same input. pyarrow is
imported inside the functions: ``import tokun`` does not import it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError
from .textio import atomic_output

MANIFEST = "manifest.json"
FORMAT = "tokun-shards/1"
COMPRESSION = "zstd"
DTYPES = ("float16", "float32")
ROW_GROUP_LATENTS = 1 << 16  # latent vectors per Parquet row group: bounds the memory of writing a shard


def shard_name(index: int) -> str:
    return f"part-{index:05d}.parquet"


def is_shard_folder(path: str | Path) -> bool:
    return (Path(path) / MANIFEST).is_file()


def write_manifest(folder: str | Path, manifest: dict[str, Any]) -> None:
    """``manifest.json`` of a shard folder, written atomically, keys sorted (the same job, the same bytes)."""
    with atomic_output(Path(folder) / MANIFEST) as fh:
        fh.write((json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8"))


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The manifest of a shard folder; InputError for a folder that is none."""
    path = Path(folder) / MANIFEST
    if not Path(folder).is_dir():
        raise InputError(f"{folder}: no such folder of shards")
    if not path.is_file():
        raise InputError(f"{folder} holds no {MANIFEST}: not a folder written by `tokun encode-dataset`")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"{path}: not a valid manifest ({err})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InputError(f"{path}: not a {FORMAT} manifest")
    return manifest


def latents_table(
    ids: list[int],
    chars: list[int],
    latents: list[np.ndarray] | np.ndarray,
    *,
    model: str,
    dtype: str,
    latent_dim: int,
    rows: list[int] | None = None,
    source: Any = None,
) -> Any:
    """One shard's rows as a ``pyarrow.Table``; ``latents[i]``: ``(ceil(chars[i] / block_chars), latent_dim)``, or
    all of them stacked ``(sum N_i, latent_dim)`` with ``rows[i] = N_i`` (no copy when already in ``dtype``);
    ``source``: a ``pyarrow.Table`` of the documents' other columns, one row each, kept as the ``source`` struct."""
    import pyarrow as pa

    if dtype not in DTYPES:
        raise InputError(f"latents dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    if rows is None:
        rows = [len(z) for z in latents]
        latents = np.concatenate(latents) if len(latents) else np.zeros((0, latent_dim), dtype)
    flat = np.asarray(latents).astype(dtype, copy=False)  # (sum N_i, L)
    if flat.shape != (sum(rows), latent_dim):
        raise InputError(f"latents of shape {flat.shape} for {sum(rows)} rows of {latent_dim}")
    vectors = pa.FixedSizeListArray.from_arrays(pa.array(flat.reshape(-1)), latent_dim)
    offsets = np.concatenate([[0], np.cumsum(rows, dtype=np.int64)]).astype(np.int32)
    columns = {
        "id": pa.array(ids, pa.int64()),
        "chars": pa.array(chars, pa.int64()),
        "latents": pa.ListArray.from_arrays(pa.array(offsets), vectors),
        "model": pa.array([model] * len(ids), pa.string()).dictionary_encode(),
    }
    if source is not None and source.num_columns:
        if len(source) != len(ids):
            raise InputError(f"{len(source)} source rows for {len(ids)} documents")
        source = source.combine_chunks()
        columns["source"] = pa.StructArray.from_arrays(
            [c.chunk(0) if c.num_chunks else pa.array([], c.type) for c in source.columns], source.column_names
        )
    return pa.table(columns)


def row_group_size(table: Any) -> int:
    """Documents per Parquet row group: about ``ROW_GROUP_LATENTS`` latent vectors each (one row group for a small
    shard). pyarrow builds a row group's levels (2 int16 per float) and pages whole: one row group of 4,096 documents
    of 3,000 characters took 3 GB to write, row groups of 64k vectors take nothing noticeable."""
    import pyarrow.compute as pc

    vectors = pc.sum(pc.list_value_length(table.column("latents"))).as_py() or 0
    return max(1, -(-len(table) * ROW_GROUP_LATENTS // max(1, vectors)))


def write_shard(path: str | Path, table: Any, metadata: dict[str, str]) -> None:
    """Write a shard atomically: a temporary file renamed at the end, never half a shard."""
    import pyarrow.parquet as pq

    table = table.replace_schema_metadata({f"tokun.{k}": str(v) for k, v in sorted(metadata.items())})
    with atomic_output(path) as fh:
        # no dictionary or statistics for the latents: 4x faster to write, and smaller
        pq.write_table(
            table,
            fh,
            row_group_size=row_group_size(table),
            compression=COMPRESSION,
            use_dictionary=["model"],
            write_statistics=["id", "chars"],
        )


@dataclasses.dataclass
class Shard:
    """One shard's documents: ``ids`` (D,), ``chars`` (D,), ``latents[i]`` ``(N_i, L)`` in the stored dtype, views
    of ``vectors`` ``(sum N_i, L)``; ``source``: the documents' other columns (a ``pyarrow.Table`` of D rows, no
    columns for a shard without them)."""

    name: str
    ids: np.ndarray
    chars: np.ndarray
    latents: list[np.ndarray]
    vectors: np.ndarray
    source: Any


def read_shard(path: str | Path) -> Shard:
    """A shard's columns as numpy arrays; InputError for a missing, truncated or foreign file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(path).names
        table = pq.read_table(path, columns=["id", "chars", "latents"] + ["source"] * ("source" in names))
    except FileNotFoundError:
        raise InputError(f"{path}: no such shard") from None
    except (pa.ArrowException, OSError) as err:
        raise InputError(f"{path}: not a readable shard ({err})") from None
    column = table.column("latents").combine_chunks()  # list<fixed_size_list<float, L>>
    dim = column.type.value_type.list_size
    vectors = column.values.flatten().to_numpy(zero_copy_only=False).reshape(-1, dim)  # (sum N_i, L)
    offsets = column.offsets.to_numpy()
    if "source" in table.column_names:
        source = pa.Table.from_struct_array(table.column("source").combine_chunks())
    else:
        source = pa.table({"_": pa.nulls(len(table))}).drop_columns(["_"])  # D rows, no columns
    return Shard(
        name=Path(path).name,
        ids=table.column("id").to_numpy(),
        chars=table.column("chars").to_numpy(),
        latents=[vectors[a:b] for a, b in zip(offsets[:-1], offsets[1:])],
        vectors=vectors[offsets[0] : offsets[-1]],
        source=source,
    )


def finished_names(folder: str | Path, manifest: dict[str, Any]) -> list[str]:
    """The shard names of a folder's ``manifest``, in the inputs' order; InputError if any is not written yet."""
    names = [s["name"] for s in manifest["shards"]]
    missing = [n for n in names if not (Path(folder) / n).is_file()]
    if missing:
        raise InputError(
            f"{folder} is incomplete: {len(missing)} of {len(names)} shards missing (first {missing[0]}); "
            "run the same `tokun encode-dataset` again to finish it"
        )
    return names


def iter_shards(folder: str | Path) -> Iterator[Shard]:
    """Every shard of a finished folder in the inputs' order; InputError names missing shards first."""
    for name in finished_names(folder, read_manifest(folder)):
        yield read_shard(Path(folder) / name)
