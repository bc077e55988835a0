import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from tokun.core import shards
from tokun.core.errors import InputError


def rows() -> tuple[list[int], list[int], list[np.ndarray]]:
    rng = np.random.default_rng(0)
    chars = [1, 16, 17, 40]
    latents = [rng.normal(size=(-(-n // 16), 8)).astype(np.float32) for n in chars]  # (N_i, 8)
    return [3, 4, 7, 9], chars, latents


@pytest.mark.parametrize("dtype", ["float16", "float32"])
def test_shard_round_trip_keeps_rows_lengths_and_latents(tmp_path, dtype: str) -> None:
    ids, chars, latents = rows()
    table = shards.latents_table(ids, chars, latents, model="m", dtype=dtype, latent_dim=8)
    shards.write_shard(tmp_path / "s.parquet", table, {"model": "m", "dtype": dtype})
    back = shards.read_shard(tmp_path / "s.parquet")
    assert back.ids.tolist() == ids and back.chars.tolist() == chars
    assert [z.shape for z in back.latents] == [(1, 8), (1, 8), (2, 8), (3, 8)]
    for got, want in zip(back.latents, latents):
        assert got.dtype == np.dtype(dtype) and np.array_equal(got, want.astype(dtype))
    meta = pq.read_schema(tmp_path / "s.parquet").metadata
    assert meta[b"tokun.model"] == b"m" and meta[b"tokun.dtype"] == dtype.encode()
    assert pq.read_table(tmp_path / "s.parquet").column("model").to_pylist() == ["m"] * 4


def test_shards_are_byte_identical_for_the_same_rows(tmp_path) -> None:
    for name in ("a.parquet", "b.parquet"):
        table = shards.latents_table(*rows(), model="m", dtype="float16", latent_dim=8)
        shards.write_shard(tmp_path / name, table, {"model": "m"})
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()


def test_a_failed_write_leaves_no_shard(tmp_path, monkeypatch) -> None:
    def broken(table, where, **kwargs) -> None:
        where.write(b"PAR1 half a shard")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pq, "write_table", broken)
    table = shards.latents_table(*rows(), model="m", dtype="float16", latent_dim=8)
    with pytest.raises(InputError, match="No space left"):
        shards.write_shard(tmp_path / "s.parquet", table, {})
    assert list(tmp_path.iterdir()) == []


def test_folder_errors_name_what_is_wrong(tmp_path) -> None:
    with pytest.raises(InputError, match="no such folder"):
        shards.read_manifest(tmp_path / "nope")
    with pytest.raises(InputError, match="not a folder written by `tokun encode-dataset`"):
        shards.read_manifest(tmp_path)
    manifest = {"format": shards.FORMAT, "shards": [{"name": "part-00000.parquet"}, {"name": "part-00001.parquet"}]}
    shards.write_manifest(tmp_path, manifest)
    assert json.loads((tmp_path / shards.MANIFEST).read_text()) == manifest
    table = shards.latents_table(*rows(), model="m", dtype="float16", latent_dim=8)
    shards.write_shard(tmp_path / "part-00000.parquet", table, {})
    with pytest.raises(InputError, match="incomplete: 1 of 2 shards missing \\(first part-00001.parquet\\)"):
        list(shards.iter_shards(tmp_path))
    data = (tmp_path / "part-00000.parquet").read_bytes()
    (tmp_path / "part-00001.parquet").write_bytes(data[: len(data) // 2])  # truncated
    it = shards.iter_shards(tmp_path)
    assert next(it).ids.tolist() == [3, 4, 7, 9]
    with pytest.raises(InputError, match="part-00001.parquet: not a readable shard"):
        next(it)


def test_import_tokun_imports_no_pyarrow_ray_or_datasets() -> None:
    import subprocess
    import sys

    code = (
        "import sys, tokun, tokun.core.shards, tokun.streaming.datasets\n"
        "print(sorted(m for m in ('pyarrow', 'ray', 'datasets') if m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"


def test_a_large_shard_is_written_in_row_groups_of_bounded_size(tmp_path, monkeypatch) -> None:
    """pyarrow builds a row group whole (2 int16 levels per float): a shard's row groups hold about
    ROW_GROUP_LATENTS vectors each, a small shard one row group."""
    ids, chars, latents = rows()  # 7 vectors in 4 documents
    flat = np.concatenate(latents)
    table = shards.latents_table(ids, chars, flat, rows=[1, 1, 2, 3], model="m", dtype="float16", latent_dim=8)
    shards.write_shard(tmp_path / "one.parquet", table, {})
    monkeypatch.setattr(shards, "ROW_GROUP_LATENTS", 2)
    shards.write_shard(tmp_path / "s.parquet", table, {})
    assert pq.ParquetFile(tmp_path / "one.parquet").num_row_groups == 1
    assert pq.ParquetFile(tmp_path / "s.parquet").num_row_groups == 2  # ceil(4 documents * 2 / 7 vectors) a group
    for name in ("one.parquet", "s.parquet"):
        back = shards.read_shard(tmp_path / name)
        assert back.ids.tolist() == ids and back.chars.tolist() == chars
        assert all(np.array_equal(a, b.astype(np.float16)) for a, b in zip(back.latents, latents))
    with pytest.raises(InputError, match=r"latents of shape \(7, 8\) for 8 rows of 8"):
        shards.latents_table(ids, chars, flat, rows=[1, 2, 2, 3], model="m", dtype="float16", latent_dim=8)
