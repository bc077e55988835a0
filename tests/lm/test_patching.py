"""Patching schemes: lossless, bounded, deterministic and local, on random text and on every corpus file."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import FIXTURE, corpus_files
from tokun.core.errors import InputError
from tokun.lm.patching import boundary, fixed_patches, pad_patches, patch_stats, word_patches

# text mixing the characters the rule treats specially: spaces, punctuation, controls, marks, CJK, kana, Thai
MIXED = st.text(alphabet=st.sampled_from(list("ab1 ,.\n\t\u0301語本にをーカタไทย。་")) | st.characters(), max_size=60)


@given(st.text(), st.integers(1, 20))
def test_fixed_patches_are_lossless_chunks(text: str, size: int) -> None:
    patches = fixed_patches(text, size)
    assert "".join(patches) == text
    assert all(len(p) == size for p in patches[:-1])
    assert all(1 <= len(p) <= size for p in patches)


@settings(max_examples=300)
@given(st.text() | MIXED, st.integers(1, 16))
def test_word_patches_are_lossless_bounded_and_deterministic(text: str, most: int) -> None:
    patches = word_patches(text, most=most)
    assert "".join(patches) == text
    assert all(1 <= len(p) <= most for p in patches)
    assert word_patches(text, most=most) == patches


@settings(max_examples=300)
@given(st.text() | MIXED)
def test_word_patches_split_at_every_boundary_of_the_two_character_rule(text: str) -> None:
    """Where ``boundary(text[i-1], text[i])``, the patching is that of the two sides, concatenated."""
    patches = word_patches(text)
    for i in range(1, len(text)):
        if boundary(text[i - 1], text[i]):
            assert patches == word_patches(text[:i]) + word_patches(text[i:])


@given(st.text() | MIXED, st.text(min_size=1) | MIXED, st.sampled_from([" ", ", ", ".\n", "\n", "。"]))
def test_a_word_end_then_a_word_start_concatenates(a: str, b: str, end: str) -> None:
    """``a`` ending in spaces/punctuation, ``b`` starting with a non-break: patches of a + b = patches of a, of b."""
    b = "x" + b
    assert word_patches(a + end + b) == word_patches(a + end) + word_patches(b)


def test_word_patches_examples() -> None:
    assert word_patches("Hello, world!  Bye.") == ["Hello, ", "world!  ", "Bye."]
    assert word_patches("an extraordinarily long word") == ["an ", "extraordinarily ", "long ", "word"]
    assert word_patches("incomprehensibilities") == ["incomprehensibil", "ities"]
    assert word_patches("x = f(a, b)\n    return") == ["x ", "= ", "f(", "a, ", "b)\n    ", "return"]
    # CJK: script changes and punctuation; Japanese keeps hiragana on the han/katakana before it
    assert word_patches("2024年に東京へ行きました。") == ["2024", "年に", "東京へ", "行きました。"]
    assert word_patches("コンピューターを使う") == ["コンピューターを", "使う"]
    assert word_patches("すごーい") == ["すごーい"]
    assert word_patches("我爱北京天安门，你呢？") == ["我爱北京天安门，", "你呢？"]
    assert word_patches("人々") == ["人々"]
    # Thai: no spaces between words, so a run ends at a space, a script change or 16 characters
    assert word_patches("ภาษาไทยง่ายนิดเดียว abc") == ["ภาษาไทยง่ายนิดเ", "ดียว ", "abc"]
    assert word_patches("ไทยabc") == ["ไทย", "abc"]
    # a combining mark stays on its base; Tibetan syllables end at the tsheg
    assert word_patches("e\u0301te\u0301") == ["e\u0301te\u0301"]
    assert word_patches("བོད་ཡིག") == ["བོད་", "ཡིག"]
    assert word_patches("") == []


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(InputError):
        fixed_patches("abc", 0)
    with pytest.raises(InputError):
        word_patches("abc", most=0)


def test_pad_patches_rows_and_lengths() -> None:
    rows, lengths = pad_patches(["ab", "", "\x00c", "😀"], block_chars=3)
    assert rows.dtype == np.uint32 and rows.shape == (4, 3)
    assert rows.tolist() == [[97, 98, 0], [0, 0, 0], [0, 99, 0], [0x1F600, 0, 0]]
    assert lengths.tolist() == [2, 0, 2, 1]
    assert pad_patches([], block_chars=4)[0].shape == (0, 4)
    with pytest.raises(InputError, match="patch 1 has 4 characters"):
        pad_patches(["ab", "abcd"], block_chars=3)


def test_every_corpus_file_patches_losslessly(capsys: pytest.CaptureFixture[str]) -> None:
    texts = {path.stem: path.read_text(encoding="utf-8") for path in corpus_files()}
    patched = {text: word_patches(text) for text in texts.values()}
    for text, patches in patched.items():
        assert "".join(patches) == text
        assert max(len(p) for p in patches) <= 16
    stats = patch_stats(texts, patched.__getitem__)
    assert set(stats) == set(texts)
    for name, s in stats.items():
        assert s.chars == len(texts[name]) and s.longest <= 16
        assert 1.0 < s.chars_per_patch <= 16.0
        assert s.bytes_per_patch >= s.chars_per_patch
    assert capsys.readouterr() == ("", "")


def test_the_words_n_scheme_cuts_long_runs_at_n_characters() -> None:
    from tokun.lm.patch_model import patches_of

    text = FIXTURE.read_text(encoding="utf-8")
    short, full = patches_of(text, "words-8"), patches_of(text, "words")
    assert "".join(short) == text and max(map(len, short)) == 8 and max(map(len, full)) > 8
    assert len(short) > len(full)  # the long runs (unspaced scripts, long words) give more patches
    with pytest.raises(InputError, match="words-N"):
        patches_of(text, "words-17")
