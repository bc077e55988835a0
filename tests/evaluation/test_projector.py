import re

import numpy as np

from tokun.evaluation import embeddings, projector

from .conftest import TEXTS


def read_config(path) -> list[dict[str, list[str]]]:
    """The ``embeddings { key: value }`` entries of a projector_config.pbtxt (the fields TensorBoard reads)."""
    entries = []
    for body in re.findall(r"embeddings \{\n(.*?)\n\}", path.read_text(encoding="utf-8"), re.S):
        entry: dict[str, list[str]] = {}
        for key, value in re.findall(r"^\s*(\w+): (.+)$", body, re.M):
            entry.setdefault(key, []).append(value.strip('"'))
        entries.append(entry)
    return entries


def test_the_projector_files_are_aligned(tiny_tok, corpus, tmp_path) -> None:
    chars = embeddings.character_points(tiny_tok, TEXTS, per_block=1)
    blocks = embeddings.block_points(tiny_tok, [corpus], most=30)
    config = projector.write(tmp_path / "projector", [chars, blocks])
    entries = read_config(config)
    assert [e["tensor_name"] for e in entries] == [["characters"], ["blocks"]]
    assert entries[0]["tensor_path"] == ["tensors.tsv"] and entries[0]["metadata_path"] == ["metadata.tsv"]
    for entry, points in zip(entries, (chars, blocks)):
        tensors = (config.parent / entry["tensor_path"][0]).read_text(encoding="utf-8").splitlines()
        metadata = (config.parent / entry["metadata_path"][0]).read_text(encoding="utf-8").split("\n")
        assert metadata.pop() == ""  # the file ends with a line break
        header, rows = metadata[0].split("\t"), [m.split("\t") for m in metadata[1:]]
        assert header == list(projector.COLUMNS)
        assert len(tensors) == len(rows) == len(points) == int(entry["tensor_shape"][0])  # one row per point
        assert all(len(r) == len(header) for r in rows) and all(r[0].strip() or r[2].strip() for r in rows)
        values = np.array([[float(v) for v in t.split("\t")] for t in tensors])  # no header, only numbers
        assert values.shape == points.vectors.shape and values.shape[1] == int(entry["tensor_shape"][1])
        np.testing.assert_allclose(values, points.vectors, rtol=1e-4, atol=1e-4)
        # row i of the metadata describes row i of the tensors
        assert [r[0] for r in rows] == [projector.visible(t) for t in points.texts]
        assert [r[2] for r in rows] == points.scripts and [r[3] for r in rows] == points.languages


def test_cells_never_hold_a_tab_or_a_line_break() -> None:
    assert projector.visible("a\tb\nc\\\x00é") == "a\\tb\\nc\\\\U+0000é"
    assert projector.visible("\u2028") == "U+2028"
