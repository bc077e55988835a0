"""TokunTokenizer: whole blocks of UTF-32-BE bytes for transformers, exact decoding, save/load, AutoTokenizer."""

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer, DataCollatorWithPadding

import tokun
from tokun.core import codec
from tokun.integrations.hf_tokenizer import TokunTokenizer

from ..conftest import FIXTURE

TEXTS = ["Hello, world! Bonjour, 世界 👋\x03", "x", "第三" * 20, ""]


@pytest.fixture(scope="module")
def tok() -> TokunTokenizer:
    return TokunTokenizer.for_model("4x16")


def test_input_ids_are_tokun_blocks_with_a_mask_per_block(tok) -> None:
    enc = tok(TEXTS, padding=True, return_tensors="pt")
    blocks = [-(-len(t) // 16) for t in TEXTS]  # 2, 1, 3, 0
    assert enc["input_ids"].shape == (4, 3, 64)
    assert enc["attention_mask"].tolist() == [[1] * n + [0] * (3 - n) for n in blocks]
    for row, text, n in zip(enc["input_ids"], TEXTS, blocks):
        assert np.array_equal(row[:n].numpy(), codec.encode(text, block_chars=16))  # the codec's bytes
        assert not row[n:].any()  # padding blocks are zeros
    model = tokun.load_model("4x16")
    latents = model.encoder(enc["input_ids"])  # (4, 3, 256): the encoder takes them as they are
    assert torch.allclose(latents[0, :2], tokun.Tokenizer.load(prior=False).encode(TEXTS[0]), atol=1e-5)


def test_decode_and_batch_decode_are_exact(tok) -> None:
    text = FIXTURE.read_text(encoding="utf-8")
    ids = tok(text)["input_ids"]  # (blocks, 64) as nested lists
    assert tok.decode(ids) == text
    assert tok.decode(np.asarray(ids).reshape(-1)) == text  # the flat layout: blocks one after the other
    enc = tok(TEXTS, padding=True, return_tensors="np")
    assert tok.batch_decode(enc["input_ids"]) == TEXTS
    assert tok.decode(enc["input_ids"]) == TEXTS  # a 3-d array is a batch
    assert tok.batch_decode(tok(TEXTS)["input_ids"]) == TEXTS  # ragged, unpadded
    with pytest.raises(ValueError, match="byte values"):
        tok.decode([[300] * 64])


def test_data_collator_and_pad_add_zero_blocks_on_the_right(tok) -> None:
    texts = [*TEXTS, "ends in U+0000\x00\x00"]
    blocks = [-(-len(t) // 16) for t in texts]  # 2, 1, 3, 0, 1
    features = [tok(t) for t in texts]  # unpadded: (blocks, 64) lists each
    batch = DataCollatorWithPadding(tok)(features)
    assert batch["input_ids"].shape == (5, 3, 64) and batch["input_ids"].dtype == torch.int64
    assert batch["attention_mask"].tolist() == [[1] * n + [0] * (3 - n) for n in blocks]
    for row, text, n in zip(batch["input_ids"], texts, blocks):
        assert np.array_equal(row[:n].numpy(), codec.encode(text, block_chars=16)) and not row[n:].any()
    assert tok.batch_decode(batch["input_ids"], lengths=[len(t) for t in texts]) == texts  # exact, U+0000 too
    assert tok.batch_decode(batch["input_ids"])[-1] == "ends in U+0000"  # without lengths: documented, dropped
    multiple = DataCollatorWithPadding(tok, pad_to_multiple_of=4)(features)  # counted in blocks
    assert multiple["input_ids"].shape == (5, 4, 64) and multiple["attention_mask"][:, 3].sum() == 0
    padded = tok.pad(features, padding="max_length", max_length=5, return_tensors="np")
    assert padded["input_ids"].shape == (5, 5, 64) and padded["attention_mask"].sum(1).tolist() == blocks
    single = tok.pad(tok("x"), padding="max_length", max_length=3)  # one text's encoding
    assert np.shape(single["input_ids"]) == (3, 64) and single["attention_mask"] == [1, 0, 0]
    with pytest.raises(ValueError, match="right"):
        tok.pad(features, padding_side="left")


def test_decode_with_length_keeps_trailing_u0000(tok) -> None:
    ids = tok("a\x00\x00")["input_ids"]
    assert tok.decode(ids) == "a" and tok.decode(ids, length=3) == "a\x00\x00"
    assert tok.decode(ids, length=0) == ""
    with pytest.raises(ValueError, match="length 17"):
        tok.decode(ids, length=17)
    with pytest.raises(ValueError, match="lengths"):
        tok.batch_decode([ids], lengths=[1, 2])


def test_special_tokens_are_tokun_control_characters() -> None:
    tok = TokunTokenizer(prepend_bos=True, append_eos=True)
    assert (tok.bos_token, tok.eos_token, tok.sep_token, tok.pad_token) == ("\x02", "\x03", "\x1e", "\x00")
    assert {"\x1c", "\x1d", "\x1f"} <= set(tok.all_special_tokens)
    assert (tok.bos_token_id, tok.eos_token_id) == (2, 3) and len(tok) == 256  # nothing added past the bytes
    ids = tok("ab")["input_ids"]
    assert np.asarray(ids)[0, :16].tolist() == [0, 0, 0, 2, 0, 0, 0, 97, 0, 0, 0, 98, 0, 0, 0, 3]
    assert tok.decode(ids) == "\x02ab\x03" and tok.decode(ids, skip_special_tokens=True) == "ab"
    pair = tok("q", "a")["input_ids"]
    assert tok.decode(pair) == "\x02q\x1ea\x03"


def test_padding_and_truncation_count_whole_blocks() -> None:
    tok = TokunTokenizer(block_chars=4, append_eos=True)
    enc = tok(["abcdefghij", "x"], truncation=True, max_length=2, padding="max_length")
    assert [len(ids) for ids in enc["input_ids"]] == [2, 2] and enc["attention_mask"] == [[1, 1], [1, 0]]
    assert tok.batch_decode(enc["input_ids"]) == ["abcdefg\x03", "x\x03"]  # cut to 2 blocks, eos kept
    multiple = tok(["abcdefghij"], padding=True, pad_to_multiple_of=4)
    assert len(multiple["input_ids"][0]) == 4 and multiple["attention_mask"][0] == [1, 1, 1, 0]
    with pytest.raises(ValueError, match="right"):
        tok(["a", "bb"], padding=True, padding_side="left")


def test_save_and_auto_tokenizer_round_trip(tmp_path) -> None:
    tok = TokunTokenizer.for_model("4x4x8", prepend_bos=True)
    assert tok.block_chars == 32
    tok.save_pretrained(tmp_path)
    for loaded in (TokunTokenizer.from_pretrained(tmp_path), AutoTokenizer.from_pretrained(tmp_path)):
        assert type(loaded) is TokunTokenizer
        assert loaded.block_chars == 32 and loaded.prepend_bos and loaded.bos_token == "\x02"
        assert loaded(TEXTS[:3])["input_ids"] == tok(TEXTS[:3])["input_ids"]
