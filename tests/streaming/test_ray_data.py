"""The Ray Data backend on a local Ray of 2 CPUs (started once for the module): the same shards as one process."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tokun.core import shards
from tokun.decoding.tokenizer import Tokenizer
from tokun.streaming.datasets import encode_dataset
from tokun.streaming.decoded import decode_dataset
from tokun.streaming.ray_data import ShardWorker, ray_runner

from ..conftest import FIXTURE

DOCS = FIXTURE.read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def ray_local():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture
def one_thread():
    """torch on one thread, as on the actors of ``threads=1``: the float latents' last bits depend on the count."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_ray_writes_the_single_process_shards_row_for_row(tmp_path, ray_local, one_thread) -> None:
    tok = Tokenizer.load()
    docs = DOCS * 3 + [None]  # a bad row at the end: reported by an actor, skipped
    pq.write_table(pa.table({"text": pa.array(docs, pa.string())}), tmp_path / "in.parquet", row_group_size=9)
    src = [str(tmp_path / "in.parquet")]
    got: dict[str, list[str]] = {"one": [], "ray": []}
    one = encode_dataset(tok, src, str(tmp_path / "one"), shard_docs=20, on_error="skip", report=got["one"].append)
    ray = encode_dataset(
        tok,
        src,
        str(tmp_path / "ray"),
        shard_docs=20,
        on_error="skip",
        report=got["ray"].append,
        runner=ray_runner("local", threads=1),
    )
    assert one == ray and one["documents"] == len(DOCS) * 3 and one["shards"] == 5
    assert got["one"] == got["ray"] == [f"{tmp_path / 'in.parquet'}, row {len(docs) - 1}: 'text' is null"]
    for a, b in zip(shards.iter_shards(tmp_path / "one"), shards.iter_shards(tmp_path / "ray")):
        assert a.ids.tolist() == b.ids.tolist() and a.chars.tolist() == b.chars.tolist()
    for name in sorted(p.name for p in (tmp_path / "one").iterdir()):  # row for row, and byte for byte
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "ray" / name).read_bytes()
    # and back: decoded on Ray's actors, the same file as in one process
    decode_dataset(tok, str(tmp_path / "one"), str(tmp_path / "one.parquet"))
    decode_dataset(tok, str(tmp_path / "one"), str(tmp_path / "ray.parquet"), runner=ray_runner("local", threads=1))
    assert pq.read_table(tmp_path / "ray.parquet").equals(pq.read_table(tmp_path / "one.parquet"))
    assert pq.read_table(tmp_path / "ray.parquet").column("text").to_pylist() == DOCS * 3


def test_an_actor_returns_each_shards_problems_as_a_list(tmp_path) -> None:
    """Problems travel as a list column, not joined by line breaks (without Ray: the actor called here)."""
    rows = ["fine", None, "", "ok"]
    pq.write_table(pa.table({"text": pa.array(rows, pa.string())}), tmp_path / "in.parquet")
    tables = []

    def runner(job, todo):
        table = ShardWorker(job, threads=None, device="cpu")({"name": np.array(todo)})
        tables.append(table)
        return iter(())

    src = [str(tmp_path / "in.parquet")]
    encode_dataset(Tokenizer.load(), src, str(tmp_path / "out"), on_error="skip", runner=runner)
    (table,) = tables
    assert table.column("problems").type == pa.list_(pa.string())
    where = f"{tmp_path / 'in.parquet'}, row"
    assert table.to_pylist() == [
        {
            "name": "part-00000.parquet",
            "documents": 2,
            "chars": 6,
            "written": True,
            "problems": [f"{where} 1: 'text' is null", f"{where} 2: empty document"],
        }
    ]
