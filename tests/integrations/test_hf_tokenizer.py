"""TokunTokenizer: flat ids with padding outside the bytes, transformers' collators, call-time options, loading."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from transformers import (
    AutoTokenizer,
    DataCollatorForLanguageModeling,
    DataCollatorForSeq2Seq,
    DataCollatorWithPadding,
)

import tokun
from tokun.core import codec
from tokun.core.errors import InputError, ModelError
from tokun.integrations.hf_tokenizer import PAD_ID, TokunTokenizer

from ..conftest import FIXTURE, ROOT

TEXTS = ["Hello, world! Bonjour, 世界 👋\x03", "x", "第三" * 20, ""]


@pytest.fixture(scope="module")
def tok() -> TokunTokenizer:
    return TokunTokenizer.for_model("4x16")


def multilingual(n: int = 6) -> list[str]:
    return [line for line in FIXTURE.read_text(encoding="utf-8").splitlines() if line][:n]


def test_input_ids_are_flat_blocks_with_padding_outside_the_bytes(tok) -> None:
    enc = tok(TEXTS, padding=True, return_tensors="pt")
    blocks = [-(-len(t) // 16) for t in TEXTS]  # 2, 1, 3, 0
    assert enc["input_ids"].shape == enc["attention_mask"].shape == (4, 3 * 64)
    for ids, mask, text, n in zip(enc["input_ids"], enc["attention_mask"], TEXTS, blocks):
        assert mask.tolist() == [1] * 4 * len(text) + [0] * (3 * 64 - 4 * len(text))  # 1 exactly on text bytes
        assert (ids[: 4 * len(text)] < 256).all() and (ids[4 * len(text) :] == PAD_ID).all()
        assert np.array_equal(tok.blocks(ids)[:n].numpy(), codec.encode(text, block_chars=16))  # the codec's rows
    assert tok.block_mask(enc["attention_mask"]).tolist() == [[1] * n + [0] * (3 - n) for n in blocks]
    model = tokun.load_model("4x16")
    latents = model.encoder(tok.blocks(enc["input_ids"]))  # (4, 3, 256): the encoder's input
    assert torch.allclose(latents[0, :2], tokun.Tokenizer.load(prior=False).encode(TEXTS[0]), atol=1e-5)


def test_vocab_size_and_tokenize_are_one_token_per_id(tok) -> None:
    assert tok.vocab_size == len(tok) == 257 and tok.pad_token_id == PAD_ID == 256
    assert tok.bos_token_id is None and tok.eos_token_id is None  # special tokens are characters: no single id
    tokens = tok.tokenize("hello")
    assert len(tokens) == 64 and tokens[:8] == ["\x00", "\x00", "\x00", "h", "\x00", "\x00", "\x00", "e"]
    assert tokens[20:] == ["<pad>"] * 44
    assert tok.convert_tokens_to_ids(tokens) == tok("hello")["input_ids"]
    assert tok.convert_tokens_to_string(tokens) == "hello"
    assert tok.text_blocks("a" * 20) == ["a" * 16, "aaaa"]


def test_decode_is_exact_without_lengths(tok) -> None:
    text = FIXTURE.read_text(encoding="utf-8")
    assert tok.decode(tok(text)["input_ids"]) == text
    texts = [*TEXTS, "ends in U+0000\x00\x00", "\x00"]
    enc = tok(texts, padding=True, return_tensors="np")
    assert tok.batch_decode(enc["input_ids"]) == texts  # padding is id 256: trailing U+0000 stays
    assert tok.batch_decode(tok(texts)["input_ids"]) == texts  # ragged, unpadded
    with pytest.raises(InputError, match="byte values 0-255"):
        tok.decode([300] * 64)


def test_collators_keep_every_real_byte_and_mask_every_pad(tok) -> None:
    """A multilingual batch through transformers' collators: no byte of text is taken for padding."""
    texts = multilingual()
    features = [tok(t) for t in texts]
    real = [4 * len(t) for t in texts]
    for collator in (
        DataCollatorForLanguageModeling(tok, mlm=False),
        DataCollatorForLanguageModeling(tok, mlm=False, pad_to_multiple_of=8),
    ):
        batch = collator(features)
        width = batch["input_ids"].shape[1]
        assert width % 64 == 0 and width == max(len(f["input_ids"]) for f in features)
        zeros = 0
        for ids, labels, mask, n in zip(batch["input_ids"], batch["labels"], batch["attention_mask"], real):
            assert torch.equal(labels[:n], ids[:n]) and (labels[n:] == -100).all()  # every real byte keeps its label
            assert mask[:n].all() and not mask[n:].any()
            zeros += int((ids[:n] == 0).sum())
        assert zeros > 0.5 * sum(real)  # byte 0 is most of the text: a pad id of 0 would have masked it
    batch = DataCollatorWithPadding(tok)(features)
    for ids, mask, n in zip(batch["input_ids"], batch["attention_mask"], real):
        assert mask[:n].all() and not mask[n:].any() and (ids[n:] == PAD_ID).all() and (ids[:n] < 256).all()
    pairs = [tok(t, text_target=t[::-1]) for t in texts]  # labels: the reversed text
    batch = DataCollatorForSeq2Seq(tok)(pairs)
    for ids, labels, mask, t in zip(batch["input_ids"], batch["labels"], batch["attention_mask"], texts):
        n = 4 * len(t)
        assert ids[:n].tolist() == codec.codepoints_to_bytes(codec.to_codepoints(t)).tolist()
        assert labels[:n].tolist() == codec.codepoints_to_bytes(codec.to_codepoints(t[::-1])).tolist()
        assert (labels[n:] == -100).all() and mask[:n].all() and not mask[n:].any()
    assert tok.batch_decode(batch["labels"]) == [t[::-1] for t in texts]  # -100 is dropped like padding


def test_pad_counts_whole_blocks(tok) -> None:
    features = [tok(t) for t in TEXTS]
    padded = tok.pad(features, padding="max_length", max_length=5 * 64, return_tensors="np")
    assert padded["input_ids"].shape == (4, 320) and (padded["attention_mask"].sum(1) == [4 * len(t) for t in TEXTS]).all()
    multiple = DataCollatorWithPadding(tok, pad_to_multiple_of=5)(features)
    assert multiple["input_ids"].shape[1] == 320  # a multiple of 5 and of 64 ids
    with pytest.raises(InputError, match="not a whole number of blocks"):
        tok.pad(features, padding="max_length", max_length=100)
    with pytest.raises(InputError, match="right only"):
        tok.pad(features, padding_side="left")


def test_three_dimensional_ids_are_a_one_line_error(tok) -> None:
    old = np.zeros((2, 3, 64), dtype=np.int64)  # (batch, blocks, bytes): the layout before
    collate = DataCollatorWithPadding(tok)
    for call in (tok.decode, tok.convert_ids_to_tokens, lambda ids: collate([{"input_ids": row} for row in ids.tolist()])):
        with pytest.raises(InputError) as err:
            call(old)
        assert "\n" not in str(err.value) and "flat" in str(err.value)


def test_call_time_options_are_honoured() -> None:
    tok = TokunTokenizer(block_chars=4)
    plain = tok("ab")["input_ids"]
    wrapped = tok("ab", prepend_bos=True, append_eos=True)
    assert tok.decode(plain) == "ab" and tok.decode(wrapped["input_ids"]) == "\x02ab\x03"
    assert tok.decode(wrapped["input_ids"], skip_special_tokens=True) == "ab"
    assert tok.decode(tok("ab", prepend_bos=True, add_special_tokens=False)["input_ids"]) == "ab"
    enc = tok("ab", prepend_bos=True, return_special_tokens_mask=True, return_offsets_mapping=True, return_length=True)
    assert enc["special_tokens_mask"] == [1] * 4 + [0] * 8 + [1] * 4  # the added U+0002 and the block's fill
    assert enc["offset_mapping"] == [(0, 0)] * 4 + [(0, 1)] * 4 + [(1, 2)] * 4 + [(0, 0)] * 4
    assert enc["length"] == 16
    assert TokunTokenizer(block_chars=4, append_eos=True)("ab", append_eos=False)["input_ids"] == plain
    pair = tok("q", "a", return_offsets_mapping=True)
    assert tok.decode(pair["input_ids"]) == "q\x1ea" and pair["offset_mapping"][:12] == [(0, 1)] * 4 + [(0, 0)] * 4 + [(0, 1)] * 4


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [("longest_first", "abcdefg\x1exyz\x03"), ("only_first", "abcde\x1exyzuv\x03"), ("only_second", "abcdefg\x1exyz\x03")],
)
def test_truncation_strategies_for_pairs(strategy, expected) -> None:
    tok = TokunTokenizer(block_chars=4, append_eos=True)
    first, second = {"longest_first": ("abcdefghij", "xyz"), "only_first": ("abcdefghij", "xyzuv")}.get(
        strategy, ("abcdefg", "xyzuvw")
    )
    enc = tok(first, second, truncation=strategy, max_length=48)  # 12 characters: 2 of them special
    assert len(enc["input_ids"]) == 48 and tok.decode(enc["input_ids"]) == expected
    with pytest.raises(InputError, match="max_length"):
        tok("abcdefghijkl", "xyz", truncation="only_second", max_length=16)


def test_unsupported_options_are_refused() -> None:
    tok = TokunTokenizer(block_chars=4)
    for option in ({"return_overflowing_tokens": True}, {"stride": 2}, {"return_token_type_ids": True}, {"foo": 1}):
        with pytest.raises(InputError):
            tok("x", **option)
    with pytest.raises(InputError, match="right only"):
        tok(["a", "bb"], padding=True, padding_side="left")


def test_bad_directories_are_one_line_errors(tmp_path) -> None:
    with pytest.raises(ModelError, match="no tokun tokenizer"):
        TokunTokenizer.from_pretrained(tmp_path)
    weights = tokun.core.checkpoint.resolve("4x16")
    with pytest.raises(ModelError, match=r"is a model directory, not a tokenizer: TokunTokenizer.for_model"):
        TokunTokenizer.from_pretrained(weights)


FRESH = """
import json, sys
from transformers import AutoTokenizer
tok = AutoTokenizer.from_pretrained(sys.argv[1], trust_remote_code=True)
enc = tok(["héllo wörld, 世界", "x"], padding=True)
print(json.dumps({"class": type(tok).__name__, "texts": tok.batch_decode(enc["input_ids"]), "bos": tok.prepend_bos,
                  "imported": "tokun.integrations.hf_tokenizer" in sys.modules}))
"""


def fresh(code: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": args[-1] + "-modules"}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT, env=env)


def test_auto_tokenizer_loads_in_a_fresh_process_with_trust_remote_code(tmp_path) -> None:
    folder = tmp_path / "tok"
    TokunTokenizer.for_model("4x4x8", prepend_bos=True).save_pretrained(folder)
    assert json.loads((folder / "tokenizer_config.json").read_text())["auto_map"]["AutoTokenizer"][0] == (
        "tokenization_tokun.TokunTokenizer"
    )
    out = fresh(FRESH, str(folder))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {
        "class": "TokunTokenizer",
        "texts": ["\x02héllo wörld, 世界", "\x02x"],
        "bos": True,
        "imported": True,
    }
    refused = fresh(FRESH.replace(", trust_remote_code=True", ""), str(folder))
    assert refused.returncode != 0 and "trust_remote_code=True" in refused.stderr.strip().splitlines()[-1]
    loaded = AutoTokenizer.from_pretrained(folder)  # in this process, where the class is registered
    assert type(loaded) is TokunTokenizer and loaded.block_chars == 32 and loaded.prepend_bos
