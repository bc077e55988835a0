"""`tokun lm compare --corpora DIR` trains on a shard folder of `tokun encode-dataset`: the corpus encoded once."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tokun.core import shards
from tokun.core.errors import InputError
from tokun.core.splits import split_three
from tokun.decoding.tokenizer import Tokenizer
from tokun.lm import split_corpus
from tokun.streaming.datasets import encode_dataset

from ..conftest import FIXTURE


def test_a_shard_folder_is_a_corpus_file_of_its_documents(tmp_path) -> None:
    docs = FIXTURE.read_text(encoding="utf-8").splitlines()
    pq.write_table(pa.table({"text": docs}), tmp_path / "docs.parquet")
    encode_dataset(Tokenizer.load(), [str(tmp_path / "docs.parquet")], str(tmp_path / "wiki"), shard_docs=8)
    splits = split_corpus([str(FIXTURE), str(tmp_path / "wiki")])
    fixture = split_three(FIXTURE.read_text(encoding="utf-8"))
    shard = split_three("\n".join(docs))  # the documents, decoded exactly, one a line
    for i, part in enumerate((splits.train, splits.tune, splits.test)):
        assert part == {"multilingual": fixture[i], "wiki": shard[i]}


def test_a_shard_folder_from_other_weights_is_refused(tmp_path) -> None:
    pq.write_table(pa.table({"text": ["one document", "another"]}), tmp_path / "docs.parquet")
    encode_dataset(Tokenizer.load(), [str(tmp_path / "docs.parquet")], str(tmp_path / "wiki"))
    manifest = shards.read_manifest(tmp_path / "wiki")
    shards.write_manifest(tmp_path / "wiki", {**manifest, "model_sha256": "0" * 16})  # the model changed since
    with pytest.raises(InputError, match=r"wiki was encoded by model '4x16' \(weights 0000000000000000\), not by"):
        split_corpus([str(tmp_path / "wiki")])
