import numpy as np
import pytest
import torch

from tokun.core import codec
from tokun.core.config import ModelConfig
from tokun.core.errors import InputError
from tokun.core.model import AutoEncoder
from tokun.decoding.tokenizer import Tokenizer
from tokun.inspection import embeddings

from .conftest import TEXTS


def test_a_character_vector_depends_on_its_character_alone(tiny_tok, tiny_cfg) -> None:
    cps = np.array([ord(c) for c in "ab中"], np.uint32)
    vectors = embeddings.character_vectors(tiny_tok, cps)
    assert vectors.shape == (3, tiny_cfg.block_widths()[1]) and vectors.dtype == np.float32
    again = embeddings.character_vectors(tiny_tok, cps[::-1].copy())
    np.testing.assert_allclose(again[::-1], vectors, rtol=1e-5, atol=1e-6)
    # the encoder's first level on a block holding the characters
    first = tiny_tok.model.encoder.levels(torch.from_numpy(codec.encode("ab中", block_chars=4)))[0]
    np.testing.assert_allclose(first[0, :3].detach().numpy(), vectors, rtol=1e-5, atol=1e-6)


def test_character_vectors_need_a_first_level_of_one_character() -> None:
    tok = Tokenizer(AutoEncoder(ModelConfig(token_dim=(8, 2), embed_dim=8, latent_dim=16)), name="8x2")
    with pytest.raises(InputError, match="token_dim"):
        embeddings.character_vectors(tok, np.array([97], np.uint32))


def test_character_points_label_each_character(tiny_tok) -> None:
    points = embeddings.character_points(tiny_tok, TEXTS, per_block=1)
    where = dict(zip(points.texts, zip(points.scripts, points.languages)))
    assert set("".join(TEXTS.values())) <= set(where)
    assert where["ж"] == ("Cyrl", "ru") and where["玻"] == ("Hani", "zh") and where["q"] == ("Latn", "en")
    assert where["。"][1] == "zh"  # commonest in zh (twice) though not only there
    extra = [t for t, (_, lang) in where.items() if lang == embeddings.UNICODE]
    assert len(extra) > 200 and not set(extra) & set("".join(TEXTS.values()))  # one per Unicode block of planes 0-3
    assert points.vectors.shape[0] == len(points) == len(set(points.texts))


def test_block_points_sample_each_file_evenly(tiny_tok, corpus) -> None:
    points = embeddings.block_points(tiny_tok, [corpus], most=9)
    assert points.languages == ["en"] * 3 + ["ru"] * 3 + ["zh"] * 3
    assert points.vectors.shape == (9, tiny_tok.latent_dim)
    assert all(0 < len(t) <= 4 and t in TEXTS[lang] for t, lang in zip(points.texts, points.languages))
    assert points.scripts[-1] in ("Hani", "Zyyy") and points.scripts[0] in ("Latn", "Zyyy")
    assert len(points.sample(4)) == 4 and points.sample(100) is points


def test_blocks_of_pads_each_text_alone(tiny_tok) -> None:
    rows = embeddings.blocks_of(tiny_tok, ["ab", "", "abcdef", "мир"])
    assert [codec.from_codepoints(r) for r in rows] == ["ab\0\0", "\0\0\0\0", "abcd", "мир\0"]


def test_word_points_are_the_commonest_words(tiny_tok) -> None:
    points = embeddings.word_points(tiny_tok, TEXTS, most=5)
    assert len(points) == 5 and "мир" not in points.texts  # rare words left out
    full = embeddings.word_points(tiny_tok, TEXTS)
    assert {"word", "fox", "мир"} <= set(full.texts) and full.languages[full.texts.index("мир")] == "ru"
    assert all(len(w) <= tiny_tok.block_chars for w in full.texts)


def test_read_corpora_refuses_no_text(tmp_path) -> None:
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(InputError, match="no text"):
        embeddings.read_corpora([tmp_path])


def test_read_corpora_names_no_option_inspect_lacks(tmp_path) -> None:
    (tmp_path / "latin1.txt").write_bytes("café".encode("latin-1"))
    with pytest.raises(InputError) as err:
        embeddings.read_corpora([tmp_path])
    assert "not valid UTF-8 at byte 3" in str(err.value) and "--errors" not in str(err.value)
    assert "UTF-8 text only" in str(err.value)
