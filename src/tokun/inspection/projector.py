"""An export for TensorBoard's embedding projector (``tensorboard --logdir DIR/projector``, tab "Projector").

The formats TensorBoard's projector reads:

    tensors.tsv              one row per point, its values separated by tabs; no header
    metadata.tsv             one row per point, in the tensors' order; with more than one column, a first row of
                             column names (a single column has none). Tabs and line breaks would split cells, so
                             the texts have them written as ``\\t``, ``\\n`` and other control characters as ``U+XXXX``
    projector_config.pbtxt   one ``embeddings { tensor_name tensor_path metadata_path tensor_shape }`` entry per
                             tensor (protocol buffer text format), paths relative to the config's folder

The first set of points is written as ``tensors.tsv`` and ``metadata.tsv``, later ones as ``<kind>-tensors.tsv``
and ``<kind>-metadata.tsv``.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import numpy as np

from .embeddings import Points
from .report import write_file

COLUMNS = ("text", "codepoints", "script", "language")
ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r", "\\": "\\\\"}


def visible(text: str) -> str:
    """``text`` with nothing that would break a TSV cell: tab, line breaks and control characters written out."""
    out = []
    for char in text:
        if char in ESCAPES:
            out.append(ESCAPES[char])
        elif unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            out.append(f"U+{ord(char):04X}")
        else:
            out.append(char)
    return "".join(out)


def tensors_tsv(vectors: np.ndarray) -> str:
    """``(N, D)`` vectors as N lines of D tab-separated numbers."""
    return "".join("\t".join(f"{v:.5g}" for v in row) + "\n" for row in vectors.tolist())


def metadata_tsv(points: Points) -> str:
    """A header row (``COLUMNS``), then one row per point."""
    rows = ["\t".join(COLUMNS)]
    for text, script, language in zip(points.texts, points.scripts, points.languages):
        codepoints = " ".join(f"U+{ord(c):04X}" for c in text[:4]) + (" …" if len(text) > 4 else "")
        rows.append("\t".join((visible(text), codepoints, script, visible(language))))
    return "\n".join(rows) + "\n"


def write(folder: str | Path, sets: list[Points]) -> Path:
    """The projector's files for ``sets`` in ``folder`` (created); the path of ``projector_config.pbtxt``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for i, points in enumerate(sets):
        prefix = "" if i == 0 else f"{points.kind}-"
        write_file(folder / f"{prefix}tensors.tsv", tensors_tsv(points.vectors))
        write_file(folder / f"{prefix}metadata.tsv", metadata_tsv(points))
        entries.append(
            "embeddings {\n"
            f"  tensor_name: {json.dumps(points.kind)}\n"
            f'  tensor_path: "{prefix}tensors.tsv"\n'
            f'  metadata_path: "{prefix}metadata.tsv"\n'
            f"  tensor_shape: {len(points)}\n"
            f"  tensor_shape: {points.vectors.shape[1]}\n"
            "}\n"
        )
    config = folder / "projector_config.pbtxt"
    write_file(config, "".join(entries))
    return config
