"""`tokun lm compare --corpora DIR` trains on a shard folder of `tokun encode-dataset`: the corpus encoded once."""

import pyarrow as pa
import pyarrow.parquet as pq

from tokun.core.splits import split_lines
from tokun.decoding.tokenizer import Tokenizer
from tokun.lm.compare import split_corpus
from tokun.streaming.datasets import encode_dataset

from ..conftest import FIXTURE


def test_a_shard_folder_is_a_corpus_file_of_its_documents(tmp_path) -> None:
    docs = FIXTURE.read_text(encoding="utf-8").splitlines()
    pq.write_table(pa.table({"text": docs}), tmp_path / "docs.parquet")
    encode_dataset(Tokenizer.load(), [str(tmp_path / "docs.parquet")], str(tmp_path / "wiki"), shard_docs=8)
    train, val = split_corpus([str(FIXTURE), str(tmp_path / "wiki")])
    fixture_train, fixture_val = split_lines(FIXTURE.read_text(encoding="utf-8"))
    shard_train, shard_val = split_lines("\n".join(docs))  # the documents, decoded exactly, one a line
    assert val == {"multilingual": fixture_val, "wiki": shard_val}
    assert train == fixture_train + "\n" + shard_train
