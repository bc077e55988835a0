"""`tokun inspect`: everything :mod:`tokun.inspection` can show of a model, written to one folder.

    OUT/index.html              the report (:mod:`tokun.inspection.report`), viewable offline
    OUT/maps/characters.png     character vectors: PCA, UMAP, t-SNE, by script and by language file
    OUT/maps/blocks.png         block latents, the same
    OUT/maps.html               the same maps, interactive (hover a point to read it)
    OUT/neighbours.json         {"tables": the neighbour tables, "script_agreement@10": {"characters", "blocks"},
                                 "random_agreement@10": the same for random vectors, "scripts": per-script rows}
    OUT/projector/              the TensorBoard projector export (:mod:`tokun.inspection.projector`)

At most ``max_points`` points of each kind are mapped (t-SNE and UMAP grow faster than linearly); the neighbour
tables, the script agreement (:func:`~tokun.inspection.neighbours.script_agreement`) and the projector export hold
every character point and the mapped blocks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..core.errors import InputError
from ..decoding.tokenizer import Tokenizer
from . import MAX_POINTS, maps, neighbours, projector, report
from .embeddings import Points, block_points, character_points, read_corpora, word_points

MIN_POINTS = 10


def inspect(
    tok: Tokenizer,
    paths: list[str],
    out: str | Path,
    *,
    max_points: int = MAX_POINTS,
    methods: tuple[str, ...] = maps.METHODS,
    per_block: int = 16,
    seed: int = 0,
    accuracy: dict[str, Any] | None = None,
    noise: dict[str, Any] | None = None,
    speed: dict[str, Any] | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Write the folder ``out`` for ``tok`` on the texts ``paths``; a summary (counts and the files written).
    ``accuracy``, ``noise``, ``speed``: the ``tokun eval``/``noise``/``bench`` JSON objects for the report."""
    if max_points < MIN_POINTS:
        raise InputError(f"--max-points must be at least {MIN_POINTS}, got {max_points}")
    unknown = sorted(set(methods) - set(maps.METHODS))
    if unknown:
        raise InputError(f"unknown map {unknown[0]!r}; use {', '.join(maps.METHODS)}")
    texts = read_corpora(paths)
    out = Path(out)
    try:
        (out / "maps").mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"cannot write {out}: {err.strerror}") from None

    chars = character_points(tok, texts, per_block=per_block, seed=seed)
    blocks = block_points(tok, paths, most=max_points, seed=seed)
    tables = neighbours.character_tables(tok, chars) + neighbours.word_tables(tok, word_points(tok, texts))
    k = neighbours.AGREEMENT_K
    agreement = {p.kind: neighbours.script_agreement(p) for p in (chars, blocks)}
    baseline = {p.kind: neighbours.random_agreement(p, seed=seed) for p in (chars, blocks)}
    per_script = {p.kind: neighbours.script_rows(p) for p in (chars, blocks)}
    found = {
        "tables": tables,
        f"script_agreement@{k}": agreement,
        f"random_agreement@{k}": baseline,
        "scripts": per_script,
    }
    report.write_file(out / "neighbours.json", json.dumps(found, indent=1, ensure_ascii=False))
    projector.write(out / "projector", [chars, blocks])

    mapped = []
    for points in (chars.sample(max_points, seed=seed), blocks):
        coords = maps.projections(points, methods, seed=seed, progress=progress)
        report.write_file(out / "maps" / f"{points.kind}.png", maps.plot(points, coords))
        mapped.append((points, coords))
    report.write_file(out / "maps.html", maps.page(mapped, title=f"tokun {tok.name}: maps"))

    summary = (
        f"{len(texts)} files; {len(chars):,} characters ({len(mapped[0][0]):,} mapped) and "
        f"{len(blocks):,} blocks of {tok.block_chars} characters; maps: " + ", ".join(maps.TITLES[m] for m in methods)
    )
    every = {chars.kind: chars, blocks.kind: blocks}
    captions = [(map_sentence(p, every[p.kind], agreement, baseline, k), f"maps/{p.kind}.png") for p, _ in mapped]
    html = report.page(
        model=tok.name,
        summary=summary,
        maps=captions,
        neighbours=tables,
        scripts=per_script,
        agreement_k=k,
        accuracy=accuracy,
        noise=noise,
        speed=speed,
    )
    report.write_file(out / "index.html", html)
    return {
        "model": tok.name,
        "characters": len(chars),
        "mapped_characters": len(mapped[0][0]),
        "blocks": len(blocks),
        "script_agreement": agreement,
        "random_agreement": baseline,
        "methods": list(methods),
        "report": str(out / "index.html"),
    }


WHAT = {
    "characters": "the encoder's vector of one character",
    "blocks": "the latent of one block of 16 characters of the corpora",
}


def map_sentence(
    mapped: Points, every: Points, agreement: dict[str, float | None], baseline: dict[str, float | None], k: int
) -> str:
    """One sentence under a map: what a point is, how it is coloured, and the measured figure beside its baseline."""
    what = WHAT.get(mapped.kind, mapped.kind)
    line = f"{len(mapped):,} of {len(every):,} {mapped.kind}, each point {what}; coloured by script (top row) and by "
    line += "language file (bottom row)."
    share, chance = agreement.get(every.kind), baseline.get(every.kind)
    if share is not None and chance is not None:
        line += (
            f" Of a point's {k} nearest neighbours (L2 in the model's space, among all {len(every):,}, not on the "
            f"map), {share:.0%} share its script; random vectors of the same shape with the same scripts: {chance:.0%}."
        )
    return line
