import numpy as np
import pytest

from tokun.decoding.tokenizer import Tokenizer
from tokun.inspection import embeddings, neighbours
from tokun.inspection.embeddings import Points

from ..conftest import FIXTURE
from .conftest import TEXTS


def test_nearest_orders_by_l2_distance() -> None:
    vectors = np.array([[0.0, 0], [3, 4], [1, 0], [0, -2]], np.float32)
    index, dist = neighbours.nearest(vectors, np.array([0.0, 0]), 3)
    assert index.tolist() == [0, 2, 3] and dist.tolist() == [0.0, 1.0, 2.0]
    assert neighbours.nearest(vectors, np.array([0.0, 0]), 10)[0].tolist() == [0, 2, 3, 1]


def test_a_table_leaves_the_probe_out() -> None:
    points = Points("characters", np.array([[0.0], [1], [3]], np.float32), ["a", "b", "c"], ["Latn"] * 3, ["en"] * 3)
    table = neighbours.table(points, "a", np.array([0.0]), count=2)
    assert [(n["text"], n["distance"]) for n in table["nearest"]] == [("b", 1.0), ("c", 3.0)]
    assert table["probe"] == "a" and table["kind"] == "characters"


def line(xs: list[float], scripts: list[str]) -> Points:
    return Points("characters", np.array(xs, np.float32)[:, None], ["x"] * len(xs), scripts, ["en"] * len(xs))


@pytest.mark.parametrize("chunk", [1, 2, 1024])
def test_script_agreement_on_known_cases(chunk) -> None:
    # two islands of one script each: every neighbour shares the script
    assert neighbours.script_agreement(line([0, 1, 2, 10, 11, 12], ["Latn"] * 3 + ["Cyrl"] * 3), 2, chunk=chunk) == 1
    # alternating scripts on a line: each point's nearest is of the other script
    assert neighbours.script_agreement(line([0, 1, 2, 3], ["Latn", "Cyrl"] * 2), 1, chunk=chunk) == 0
    # 0 and 1 are each other's nearest (same script); 10's nearest is 1 (another script): 2 of 3
    assert neighbours.script_agreement(line([0, 1, 10], ["Latn", "Latn", "Cyrl"]), 1, chunk=chunk) == 2 / 3
    # k larger than the other points: all of them; 0 sees 1 (same) and 10 (not), 1 likewise, 10 sees two others
    assert neighbours.script_agreement(line([0, 1, 10], ["Latn", "Latn", "Cyrl"]), 10, chunk=chunk) == 2 / 6
    assert neighbours.script_agreement(line([0], ["Latn"])) is None


def test_tables_on_a_tiny_model(tiny_tok) -> None:
    chars = embeddings.character_points(tiny_tok, TEXTS, per_block=1)
    tables = neighbours.character_tables(tiny_tok, chars, count=5)
    assert [t["probe"] for t in tables] == list(neighbours.CHAR_PROBES)
    for t in tables:
        d = [n["distance"] for n in t["nearest"]]
        assert len(d) == 5 and d == sorted(d) and t["probe"] not in [n["text"] for n in t["nearest"]]
    # the distances are those of the character vectors
    a = embeddings.character_vectors(tiny_tok, np.array([ord("a")], np.uint32))[0]
    first = tables[1]["nearest"][0]
    b = chars.vectors[chars.texts.index(first["text"])]
    assert abs(float(np.linalg.norm(a - b)) - first["distance"]) < 1e-4
    words = neighbours.word_tables(tiny_tok, embeddings.word_points(tiny_tok, TEXTS), ("fox", "мир"), count=3)
    assert [len(t["nearest"]) for t in words] == [3, 3] and words[1]["kind"] == "words"


def test_the_shipped_model_puts_digits_next_to_a_digit() -> None:
    tok = Tokenizer.load(prior=False)
    text = FIXTURE.read_text(encoding="utf-8") + "0123456789"
    chars = embeddings.character_points(tok, {"fixture": text}, per_block=4)
    (seven,) = neighbours.character_tables(tok, chars, ("7",), count=8)
    near = [n["text"] for n in seven["nearest"]]
    assert sum(c.isdigit() for c in near[:3]) >= 2, near  # measured on the corpora: 5, 0, ), !, 2, 9, -, (
