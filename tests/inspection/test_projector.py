import numpy as np
import pytest

from tokun.inspection import embeddings, projector

from .conftest import TEXTS


def test_tensorboard_reads_the_projector_files(tiny_tok, corpus, tmp_path) -> None:
    """The config parsed by TensorBoard's own protocol buffer, its paths resolved and its tensors read by TensorBoard's
    projector plugin, as `tensorboard --logdir` does."""
    pb2 = pytest.importorskip("tensorboard.plugins.projector.projector_config_pb2", reason="pip install tensorboard")
    plugin = pytest.importorskip("tensorboard.plugins.projector.projector_plugin")
    from google.protobuf import text_format

    chars = embeddings.character_points(tiny_tok, TEXTS, per_block=1)
    blocks = embeddings.block_points(tiny_tok, [corpus], most=30)
    config = projector.write(tmp_path / "projector", [chars, blocks])
    parsed = text_format.Parse(config.read_text(encoding="utf-8"), pb2.ProjectorConfig())
    assert [e.tensor_name for e in parsed.embeddings] == ["characters", "blocks"]
    for entry, points in zip(parsed.embeddings, (chars, blocks)):
        tensor_path = plugin._rel_to_abs_asset_path(entry.tensor_path, str(config))
        metadata_path = plugin._rel_to_abs_asset_path(entry.metadata_path, str(config))
        values = plugin._read_tensor_tsv_file(tensor_path)
        assert list(entry.tensor_shape) == list(values.shape) == list(points.vectors.shape)
        np.testing.assert_allclose(values, points.vectors, rtol=1e-4, atol=1e-4)
        metadata = open(metadata_path, encoding="utf-8").read().split("\n")
        assert metadata.pop() == ""  # the file ends with a line break
        header, rows = metadata[0].split("\t"), [m.split("\t") for m in metadata[1:]]
        assert header == list(projector.COLUMNS)
        assert len(rows) == len(points) and all(len(r) == len(header) for r in rows)  # one row per point
        assert all(r[0].strip() or r[2].strip() for r in rows)
        # row i of the metadata describes row i of the tensors
        assert [r[0] for r in rows] == [projector.visible(t) for t in points.texts]
        assert [r[2] for r in rows] == points.scripts and [r[3] for r in rows] == points.languages


def test_cells_never_hold_a_tab_or_a_line_break() -> None:
    assert projector.visible("a\tb\nc\\\x00é") == "a\\tb\\nc\\\\U+0000é"
    assert projector.visible("\u2028") == "U+2028"
