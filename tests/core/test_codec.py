import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokun.core import codec
from tokun.core.errors import InputError

from ..conftest import FIXTURE

# Python strings without lone surrogates: the texts tokun accepts
texts = st.text(alphabet=st.characters(exclude_categories=["Cs"]))


@given(texts, st.sampled_from([1, 4, 16, 32]))
def test_roundtrip_exact(text: str, block_chars: int) -> None:
    rows = codec.encode(text, block_chars=block_chars)
    assert rows.dtype == np.uint8
    assert rows.shape == (-(-len(text) // block_chars), 4 * block_chars)
    assert codec.decode(rows, length=len(text)) == text


@given(texts)
def test_bytes_are_utf32_be(text: str) -> None:
    rows = codec.encode(text, block_chars=16)
    assert rows.reshape(-1)[: 4 * len(text)].tobytes() == text.encode("utf-32-be")
    assert not rows.reshape(-1)[4 * len(text) :].any()  # padding is U+0000


def test_nul_characters_roundtrip_with_length() -> None:
    for text in ["abc\x00", "\x00", "a\x00b", "\x00" * 17]:
        assert codec.decode(codec.encode(text), length=len(text)) == text


def test_without_length_trailing_padding_is_dropped() -> None:
    assert codec.decode(codec.encode("hé\x00llo")) == "hé\x00llo"
    assert codec.decode(codec.encode("abc\x00\x00")) == "abc"


def test_empty_text() -> None:
    rows = codec.encode("")
    assert rows.shape == (0, 64)
    assert codec.decode(rows, length=0) == ""


def test_invalid_codepoints_become_replacement() -> None:
    rows = np.zeros((1, 16), dtype=np.uint8)
    rows[0, 0:4] = [0x00, 0x11, 0x00, 0x00]  # 0x110000: beyond Unicode
    rows[0, 4:8] = [0x00, 0x00, 0xD8, 0x00]  # a surrogate
    rows[0, 8:12] = [0xFF, 0xFF, 0xFF, 0xFF]
    rows[0, 12:16] = [0x00, 0x00, 0x00, 0x41]
    assert codec.decode(rows, length=4) == "\ufffd\ufffd\ufffdA"


def test_lone_surrogate_names_position() -> None:
    with pytest.raises(InputError, match=r"U\+D83D at character 3"):
        codec.encode("abc\ud83dxyz")


def test_length_out_of_range() -> None:
    with pytest.raises(InputError, match="out of range"):
        codec.decode(codec.encode("abc", block_chars=4), length=5)


def test_bad_utf8_names_byte_offset() -> None:
    with pytest.raises(InputError, match="byte 3"):
        codec.decode_utf8(b"abc\xff")
    assert codec.decode_utf8(b"abc\xff", errors="replace") == "abc\ufffd"


def test_fixture_roundtrips() -> None:
    text = FIXTURE.read_text(encoding="utf-8")
    assert codec.decode(codec.encode(text), length=len(text)) == text
