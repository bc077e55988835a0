"""Maps of points in two dimensions (PCA, UMAP, t-SNE), drawn as a PNG and as a self-contained interactive page.

    pca    the two leading principal components (scikit-learn), the vectors as they are
    umap   UMAP (umap-learn) of the 50 leading principal components, 15 neighbours
    tsne   t-SNE (scikit-learn) of the 50 leading principal components, perplexity 30, 500 iterations

With ``progress``, UMAP shows its own bar over its epochs and t-SNE a bar over its iterations (read from the lines
scikit-learn prints every 50 iterations); neither shows the nearest-neighbour search before.

Every map is coloured twice: by script (:mod:`tokun.inspection.scripts`) and by language file, each legend naming
the ``LEGEND`` largest groups (by points) and the rest as one muted grey group, ``other (23)``: 23 groups. The
interactive page needs no network: its data and its script are inline; hovering a point shows its text (control
and invisible characters as ``U+001F``), script and language.
"""

from __future__ import annotations

import contextlib
import html
import io
import json
import re
from typing import Any

import numpy as np

from . import METHODS
from .embeddings import UNICODE, Points
from .scripts import OTHER, legend_order, main_script, script_name, top_labels, visible

TITLES = {"pca": "PCA", "umap": "UMAP", "tsne": "t-SNE"}
COLOURINGS = ("script", "language")
LEGEND = 8  # groups a legend names, the largest; the rest are one "other" group
GREY = "#c8c8c8"
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf")
PRE_DIMS = 50  # principal components kept before UMAP and t-SNE
TSNE_ITER = 500
UMAP_EPOCHS = 200


class IterationLines(io.TextIOBase):
    """A stand-in for stdout while t-SNE runs: each ``[t-SNE] Iteration N`` line moves ``bar`` to N; the rest of
    what scikit-learn prints is dropped."""

    def __init__(self, bar: Any) -> None:
        self.bar = bar

    def write(self, text: str) -> int:
        for done in re.findall(r"Iteration (\d+)", text):
            self.bar.update(max(0, int(done) - self.bar.n))
        return len(text)


def project(vectors: np.ndarray, method: str, *, seed: int = 0, progress: bool = False, desc: str = "") -> np.ndarray:
    """``(N, D)`` vectors -> ``(N, 2)`` float32 coordinates by ``method`` (one of ``METHODS``); ``progress``: a bar
    (on stderr) over t-SNE's iterations or UMAP's epochs, named ``desc``."""
    if method not in METHODS:
        raise ValueError(f"unknown projection {method!r}; use one of {', '.join(METHODS)}")
    from sklearn.decomposition import PCA

    x = vectors.astype(np.float32)
    n = len(x)
    if method == "pca":
        return PCA(2, random_state=seed).fit_transform(x).astype(np.float32)
    reduced = PCA(min(PRE_DIMS, n, x.shape[1]), random_state=seed).fit_transform(x)  # (N, <=50)
    if method == "tsne":
        from sklearn.manifold import TSNE
        from tqdm import tqdm

        perplexity = min(30.0, (n - 1) / 3)
        tsne = TSNE(2, perplexity=perplexity, init="pca", max_iter=TSNE_ITER, random_state=seed, verbose=2 * progress)
        with tqdm(total=TSNE_ITER, desc=desc, unit="iter", disable=not progress, leave=False) as bar:
            with contextlib.redirect_stdout(IterationLines(bar)):
                return tsne.fit_transform(reduced).astype(np.float32)
    import umap

    bar = {"disable": not progress, "desc": desc, "leave": False}
    model = umap.UMAP(
        n_neighbors=min(15, n - 1), min_dist=0.1, random_state=seed, n_jobs=1, n_epochs=UMAP_EPOCHS, tqdm_kwds=bar
    )
    return model.fit_transform(reduced).astype(np.float32)


def projections(
    points: Points, methods: tuple[str, ...] = METHODS, *, seed: int = 0, progress: bool = False
) -> dict[str, np.ndarray]:
    """``{method: (N, 2) coordinates}`` of ``points``; ``progress``: a bar for each t-SNE and UMAP (PCA takes no time)."""
    return {
        method: project(
            points.vectors,
            method,
            seed=seed,
            progress=progress,
            desc=f"{TITLES[method]} of {len(points):,} {points.kind}",
        )
        for method in methods
    }


def colours(points: Points, colouring: str) -> tuple[list[tuple[str, str]], list[int]]:
    """The legend ``[(name, colour)]`` (largest first; last the muted ``other (N)`` of N groups, where there are more
    than ``LEGEND``) and each point's index in it."""
    every = points.scripts if colouring == "script" else points.languages
    if colouring == "script":
        labels = top_labels(every, LEGEND)
    else:
        labels = top_labels(every, LEGEND, groups=main_scripts(points))
    order = legend_order(labels)
    folded = len(set(every)) - (len(order) - (OTHER in order))
    named = [
        f"{OTHER} ({folded})" if label == OTHER else script_name(label) if colouring == "script" else label
        for label in order
    ]
    legend = [(name, GREY if label == OTHER else PALETTE[i]) for i, (label, name) in enumerate(zip(order, named))]
    where = {label: i for i, label in enumerate(order)}
    return legend, [where[label] for label in labels]


def main_scripts(points: Points) -> dict[str, str]:
    """``{language: its commonest script}`` (:func:`~tokun.inspection.scripts.main_script` of its points' scripts);
    the Unicode sample is a group of its own."""
    by_language: dict[str, list[str]] = {}
    for language, script in zip(points.languages, points.scripts):
        by_language.setdefault(language, []).append(script)
    return {language: language if language == UNICODE else main_script(s) for language, s in by_language.items()}


def plot(
    points: Points,
    coords: dict[str, np.ndarray],
    *,
    colourings: tuple[str, ...] = COLOURINGS,
    panel: float = 4.2,
    dpi: int = 80,
) -> bytes:
    """A PNG: one row per colouring, one column per map in ``coords``, the legend right of each row."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = list(coords)
    fig, axes = plt.subplots(
        len(colourings),
        len(methods),
        figsize=(panel * len(methods) + 2.6, panel * len(colourings)),
        squeeze=False,
    )
    size = max(2.0, min(12.0, 12000 / max(1, len(points))))  # marker area, pt^2
    for row, colouring in zip(axes, colourings):
        legend, codes = colours(points, colouring)
        code = np.array(codes)
        other = len(legend) - 1 if legend[-1][1] == GREY else -1
        muted = code == other
        palette = np.array([c for _, c in legend])
        for ax, method in zip(row, methods):
            xy = coords[method]
            for part, alpha in ((muted, 0.35), (~muted, 0.8)):  # "other" drawn first, under the rest, muted
                ax.scatter(xy[part, 0], xy[part, 1], s=size, c=palette[code[part]], linewidths=0, alpha=alpha)
            ax.set_title(f"{TITLES[method]} by {colouring}", fontsize=10)
            ax.set_xticks([])
            ax.set_yticks([])
        counts = np.bincount(code, minlength=len(legend))
        handles = [
            plt.Line2D([], [], marker="o", linestyle="", color=c, label=f"{name}: {counts[i]:,}")
            for i, (name, c) in enumerate(legend)
        ]
        row[-1].legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=8, frameon=False)
    fig.suptitle(f"{len(points):,} {points.kind}", fontsize=11)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    return buffer.getvalue()


def page(maps: list[tuple[Points, dict[str, np.ndarray]]], *, title: str = "tokun maps") -> str:
    """A self-contained HTML page (inline data and script, no network) to explore ``maps`` point by point."""
    sets: list[dict[str, Any]] = []
    for points, coords in maps:
        legends = {c: colours(points, c) for c in COLOURINGS}
        sets.append(
            {
                "name": points.kind,
                "texts": [visible(t) for t in points.texts],
                "script": points.scripts,
                "language": points.languages,
                "methods": [[m, TITLES[m]] for m in coords],
                "coords": {m: np.round(xy, 3).reshape(-1).tolist() for m, xy in coords.items()},
                "legend": {c: legend for c, (legend, _) in legends.items()},
                "other": {c: len(legend) - 1 if legend[-1][1] == GREY else -1 for c, (legend, _) in legends.items()},
                "codes": {c: codes for c, (_, codes) in legends.items()},
            }
        )
    data = json.dumps({"sets": sets}, ensure_ascii=True, separators=(",", ":")).replace("</", "<\\/")
    return PAGE.replace("__TITLE__", html.escape(title)).replace("__DATA__", data)


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>__TITLE__</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 1em; color: #222; }
#wrap { display: flex; gap: 1em; align-items: flex-start; }
canvas { border: 1px solid #ddd; cursor: crosshair; }
#legend { list-style: none; padding: 0; margin: 0; font-size: 13px; }
#legend span { display: inline-block; width: 0.8em; height: 0.8em; border-radius: 50%; margin-right: 0.4em; }
#legend li.other { color: #888; }
#tip { position: fixed; pointer-events: none; background: #fff; border: 1px solid #999; padding: 0.3em 0.5em;
       font-size: 13px; display: none; white-space: pre; }
#tip b { font-size: 20px; }
</style></head>
<body>
<h1>__TITLE__</h1>
<p>Hover a point to read it. <label>points <select id="set"></select></label>
<label>map <select id="method"></select></label>
<label>colour by <select id="colour"><option value="script">script</option>
<option value="language">language file</option></select></label></p>
<div id="wrap"><canvas id="map" width="900" height="680"></canvas><ul id="legend"></ul></div>
<div id="tip"></div>
<script>
"use strict";
const DATA = __DATA__;
const $ = (id) => document.getElementById(id);
let shown = null;
function fill(select, options) {
  select.replaceChildren(...options.map(([value, text]) => new Option(text, value)));
}
function draw() {
  const set = DATA.sets[+$("set").value];
  const method = $("method").value, colouring = $("colour").value;
  const xy = set.coords[method], codes = set.codes[colouring], legend = set.legend[colouring];
  const canvas = $("map"), ctx = canvas.getContext("2d");
  const n = codes.length, pad = 12;
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (let i = 0; i < n; i++) {
    x0 = Math.min(x0, xy[2 * i]); x1 = Math.max(x1, xy[2 * i]);
    y0 = Math.min(y0, xy[2 * i + 1]); y1 = Math.max(y1, xy[2 * i + 1]);
  }
  const sx = (canvas.width - 2 * pad) / ((x1 - x0) || 1), sy = (canvas.height - 2 * pad) / ((y1 - y0) || 1);
  const px = new Float32Array(n), py = new Float32Array(n);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const other = set.other[colouring];
  for (const pass of [true, false]) {  // "other" first, under the rest, muted
    ctx.globalAlpha = pass ? 0.4 : 1;
    for (let i = 0; i < n; i++) {
      if ((codes[i] === other) !== pass) continue;
      px[i] = pad + (xy[2 * i] - x0) * sx;
      py[i] = canvas.height - pad - (xy[2 * i + 1] - y0) * sy;
      ctx.fillStyle = legend[codes[i]][1];
      ctx.beginPath(); ctx.arc(px[i], py[i], 2.2, 0, 2 * Math.PI); ctx.fill();
    }
  }
  ctx.globalAlpha = 1;
  const counts = new Array(legend.length).fill(0);
  for (const c of codes) counts[c]++;
  $("legend").replaceChildren(...legend.map(([name, colour], i) => {
    const li = document.createElement("li"), dot = document.createElement("span");
    dot.style.background = colour;
    li.append(dot, `${name}: ${counts[i]}`);
    if (i === other) li.className = "other";
    return li;
  }));
  canvas.dataset.points = String(n);
  shown = { set, px, py };
}
function hover(event) {
  const tip = $("tip");
  if (!shown) return;
  const rect = $("map").getBoundingClientRect();
  const mx = event.clientX - rect.left, my = event.clientY - rect.top;
  let best = -1, bestD = 64;
  for (let i = 0; i < shown.px.length; i++) {
    const d = (shown.px[i] - mx) ** 2 + (shown.py[i] - my) ** 2;
    if (d < bestD) { best = i; bestD = d; }
  }
  if (best < 0) { tip.style.display = "none"; return; }
  const s = shown.set, b = document.createElement("b");
  b.textContent = s.texts[best];
  tip.replaceChildren(b, `\\n${s.script[best]} · ${s.language[best]}`);
  tip.style.left = `${event.clientX + 14}px`; tip.style.top = `${event.clientY + 14}px`;
  tip.style.display = "block";
}
fill($("set"), DATA.sets.map((s, i) => [String(i), `${s.name} (${s.texts.length})`]));
$("set").addEventListener("change", () => { fill($("method"), DATA.sets[+$("set").value].methods); draw(); });
$("method").addEventListener("change", draw);
$("colour").addEventListener("change", draw);
$("map").addEventListener("mousemove", hover);
$("map").addEventListener("mouseleave", () => { $("tip").style.display = "none"; });
fill($("method"), DATA.sets[0].methods);
draw();
</script>
</body></html>
"""
