"""One static HTML page of what `tokun inspect` found: maps, neighbour tables, accuracy, noise curves, speed.

The page needs no network: its style and its charts (inline SVG) are in the file, and its images are PNGs beside
it (``maps/*.png``), linked by relative paths. Sections whose measurements were not given say how to get them.
Every file is written through :func:`write_file` (a temporary file renamed), so none is ever half-written.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from ..core.errors import InputError
from ..core.textio import atomic_output, read_text
from .scripts import visible

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; max-width: 1200px; margin: 1.5em auto; padding: 0 1em; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5em 1.5em 1em 0; font-size: 14px; }
th, td { border-bottom: 1px solid #eee; padding: 0.15em 0.6em; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.tables { display: flex; flex-wrap: wrap; align-items: flex-start; }
img { max-width: 100%; border: 1px solid #eee; }
code.t { background: #f4f4f4; padding: 0 0.25em; white-space: pre; }
.missing { color: #777; font-style: italic; }
"""


# The keys of the `tokun eval/noise/bench --json` objects that the report reads (nested; "*": every entry of an
# object); it reads the others (model, worst_offset, blocks, distance) only where they are.
METRICS = {"chars": None, "char_accuracy": None, "block_accuracy": None}
RATES = {"encode_chars_per_s": None, "decode_chars_per_s": None}
CURVE = {"k_star": None, "curve": None}
REQUIRED: dict[str, dict[str, Any]] = {
    "eval": {"files": {"*": METRICS}, "random": {"*": METRICS}},
    "noise": {"isotropic": CURVE, "structured": CURVE, "int8": {"char_accuracy": None}},
    "bench": {"chars": None, "threads": None, "device": None, "exact": None, "tokun": RATES, "tiktoken": RATES},
}


def read_figures(path: str, command: str) -> dict[str, Any]:
    """The JSON object that ``tokun COMMAND --json`` wrote to ``path``, checked for every key the report reads."""
    what = f"tokun {command} --json"
    try:
        data = json.loads(read_text(path, remedy=f"give the output of {what}"))
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: not JSON ({err.msg} at line {err.lineno}); give the output of {what}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: not a JSON object; give the output of {what}")
    if problem := missing(data, REQUIRED[command]):
        raise InputError(f"{path}: {problem}; give the output of {what}")
    return data


def missing(data: dict[str, Any], keys: dict[str, Any], at: str = "") -> str | None:
    """What ``data`` lacks of ``keys`` (a :data:`REQUIRED` entry), the first thing found: ``no key 'tokun.chars'``,
    ``'files' is not an object``; None when nothing."""
    for key, inner in keys.items():
        if key == "*":
            entries = list(data.items())
        elif key in data:
            entries = [(key, data[key])]
        else:
            return f"no key {at + key!r}"
        for name, value in entries:
            if inner is None:
                continue
            if not isinstance(value, dict):
                return f"{at + name!r} is not an object"
            if found := missing(value, inner, f"{at}{name}."):
                return found
    return None


def write_file(path: str | Path, data: str | bytes) -> None:
    """``data`` (text as UTF-8) to ``path`` through a temporary file renamed at the end."""
    with atomic_output(path) as fh:
        fh.write(data.encode("utf-8") if isinstance(data, str) else data)


def shown(text: str) -> str:
    """HTML of a character or block: control and invisible characters as ``U+001F``
    (:func:`~tokun.inspection.scripts.visible`)."""
    return f'<code class="t">{escape(visible(text))}</code>'


def html_table(head: list[str], rows: list[list[str]], numeric: set[int] = frozenset()) -> str:
    """A ``<table>``; cells are HTML already; ``numeric`` columns are right-aligned."""
    cells = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def scripts_section(scripts: dict[str, list[dict[str, Any]]], k: int) -> str:
    """Per kind of point, the rows of :func:`tokun.inspection.neighbours.script_rows`: a table per kind."""
    out = []
    for kind, rows in scripts.items():
        body = [
            [escape(r["script"]), f"{r['points']:,}", f"{r['agreement']:.0%}", f"{r['centroid_distance']:.2f}"]
            for r in rows
        ]
        head = ["script", "points", f"agreement@{k}", "mean L2 to centroid"]
        out.append(f"<div><p>{escape(kind)}</p>{html_table(head, body, {1, 2, 3})}</div>")
    intro = (
        f"<p>Per script, largest first: of its points' {k} nearest neighbours the share of the same script, and "
        "their mean distance to the script's centroid (small: a tight island).</p>"
    )
    return intro + f'<div class="tables">{"".join(out)}</div>' if out else ""


def neighbours_section(tables: list[dict[str, Any]]) -> str:
    """One table per probe: its nearest characters or words, with L2 distances."""
    out = []
    for t in tables:
        rows = [
            [str(i + 1), shown(n["text"]), f"{n['distance']:.2f}", escape(n["script"]), escape(n["language"])]
            for i, n in enumerate(t["nearest"])
        ]
        caption = f"<p>nearest {escape(t['kind'])} to {shown(t['probe'])}</p>"
        out.append(f"<div>{caption}{html_table(['#', t['kind'][:-1], 'L2', 'script', 'language'], rows, {0, 2})}</div>")
    return f'<div class="tables">{"".join(out)}</div>'


def accuracy_section(result: dict[str, Any]) -> str:
    """The ``tokun eval --json`` object as one table: a row per file (by language) and per random spec."""
    rows = [(Path(p).stem, m) for p, m in result.get("files", {}).items()]
    rows += [(f"random {s}", m) for s, m in result.get("random", {}).items()]
    body = [
        [
            escape(name),
            f"{m['chars']:,}",
            f"{m['char_accuracy']:.4%}",
            f"{m['block_accuracy']:.4%}",
            str(m.get("worst_offset", "")),
        ]
        for name, m in sorted(rows, key=lambda r: (r[1]["char_accuracy"], r[0]))
    ]
    worst = min((m["char_accuracy"] for _, m in rows), default=1.0)
    summary = f"<p>model {escape(str(result.get('model')))}: {len(rows)} sets, worst character accuracy {worst:.4%} (worst first)</p>"
    return summary + html_table(["set", "chars", "char accuracy", "block accuracy", "worst offset"], body, {1, 2, 3, 4})


def curves_svg(series: dict[str, list[list[float]]], *, xlabel: str, ylabel: str, width=560, height=300) -> str:
    """An inline SVG line chart of ``{name: [[x, y], ...]}``, y from its smallest value to 1."""
    colours = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728")
    xs = [x for pts in series.values() for x, _ in pts]
    ys = [y for pts in series.values() for _, y in pts]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(min(ys), 0.99), 1.0
    left, right, top, bottom = 60, 150, 15, 40
    w, h = width - left - right, height - top - bottom

    def at(x: float, y: float) -> str:
        return f"{left + (x - x0) / ((x1 - x0) or 1) * w:.1f},{top + (y1 - y) / ((y1 - y0) or 1) * h:.1f}"

    parts = [f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="none" stroke="#999"/>']
    for tick in (y0, (y0 + y1) / 2, y1):
        y = at(x0, tick).split(",")[1]
        parts.append(f'<text x="{left - 5}" y="{y}" text-anchor="end" font-size="11">{tick:.3g}</text>')
    last = -1e9
    for x in sorted(set(xs)):
        px = float(at(x, y0).split(",")[0])
        if px - last >= 28:  # no overlapping labels
            parts.append(f'<text x="{px:.1f}" y="{top + h + 14}" text-anchor="middle" font-size="11">{x:g}</text>')
            last = px
    for i, (name, pts) in enumerate(series.items()):
        colour = colours[i % len(colours)]
        line = " ".join(at(x, y) for x, y in pts)
        parts.append(f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts += [
            f'<circle cx="{at(x, y).split(",")[0]}" cy="{at(x, y).split(",")[1]}" r="3" fill="{colour}"/>'
            for x, y in pts
        ]
        parts.append(
            f'<text x="{left + w + 10}" y="{top + 15 + 18 * i}" fill="{colour}" font-size="12">{escape(name)}</text>'
        )
    parts.append(
        f'<text x="{left + w / 2}" y="{height - 5}" text-anchor="middle" font-size="12">{escape(xlabel)}</text>'
    )
    parts.append(
        f'<text x="14" y="{top + h / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 14 {top + h / 2})">{escape(ylabel)}</text>'
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">{"".join(parts)}</svg>'
    )


def noise_section(result: dict[str, Any]) -> str:
    """The ``tokun noise --json`` object: the two accuracy curves, k*, int8 and the distance correlation."""
    kinds = ("isotropic", "structured")
    chart = curves_svg(
        {f"{k} (k* {result[k]['k_star']:g})": result[k]["curve"] for k in kinds},
        xlabel="noise k (multiples of sigma)",
        ylabel="character accuracy",
    )
    facts = [
        f"{result.get('blocks', '?')} blocks",
        f"int8 latents: character accuracy {result['int8']['char_accuracy']:.4%}",
    ]
    if "distance" in result:
        facts.append(f"Spearman(latent L2, edit distance) {result['distance']['spearman_l2_vs_edit']:.3f}")
    return chart + "<p>" + "; ".join(escape(f) for f in facts) + "</p>"


BACKENDS = ("onnxruntime",)  # the keys of other backends in `tokun bench --json`, beside "tokun" (torch)


def speed_section(result: dict[str, Any]) -> str:
    """The ``tokun bench --json`` object: characters per second of each backend measured, beside tiktoken."""
    runs = [(f"tokun, torch ({result['device']})", result["tokun"], result["exact"])]
    runs += [(f"tokun, {b}", result[b], result[b].get("exact")) for b in BACKENDS if isinstance(result.get(b), dict)]
    runs.append(("tiktoken cl100k_base", result["tiktoken"], True))
    rows = [
        [escape(name), f"{r['encode_chars_per_s']:,.0f}", f"{r['decode_chars_per_s']:,.0f}", escape(str(exact))]
        for name, r, exact in runs
    ]
    threads = result["threads"]
    head = f"<p>{result['chars']:,} characters, {threads} thread{'' if threads == 1 else 's'}</p>"
    return head + html_table(["", "encode chars/s", "decode chars/s", "exact round trip"], rows, {1, 2})


def page(
    *,
    model: str,
    summary: str,
    maps: list[tuple[str, str]],
    neighbours: list[dict[str, Any]],
    scripts: dict[str, list[dict[str, Any]]] | None = None,
    agreement_k: int = 10,
    accuracy: dict[str, Any] | None = None,
    noise: dict[str, Any] | None = None,
    speed: dict[str, Any] | None = None,
) -> str:
    """The report's HTML. ``maps``: ``[(caption: a sentence of what the map shows, relative PNG path)]``; the other
    arguments are the JSON objects of :mod:`tokun.inspection.neighbours`, ``tokun eval``, ``tokun noise`` and
    ``tokun bench`` (None: not measured); ``scripts``: ``{kind: per-script rows}`` (``script_rows``)."""

    def section(title: str, body: str | None, how: str) -> str:
        return f"<h2>{escape(title)}</h2>" + (
            body if body is not None else f'<p class="missing">not measured: {escape(how)}</p>'
        )

    figures = "".join(
        f'<figure><img src="{escape(src)}" alt="{escape(src)}"><figcaption>{escape(cap)}</figcaption></figure>'
        for cap, src in maps
    )
    parts = [
        f"<h1>tokun {escape(model)}: inside the model</h1><p>{escape(summary)}</p>",
        section(
            "Maps",
            figures + '<p><a href="maps.html">explore the maps point by point</a> (interactive, offline); '
            "the TensorBoard projector export is in <code>projector/</code>.</p>",
            "",
        ),
        section("Scripts in latent space", scripts_section(scripts or {}, agreement_k), ""),
        section("Nearest neighbours (L2 in latent space)", neighbours_section(neighbours), ""),
        section(
            "Accuracy per language",
            None if accuracy is None else accuracy_section(accuracy),
            "--eval FILE (tokun eval --json) or --all",
        ),
        section(
            "Noise tolerance",
            None if noise is None else noise_section(noise),
            "--noise FILE (tokun noise --json) or --all",
        ),
        section("Speed", None if speed is None else speed_section(speed), "--bench FILE (tokun bench --json) or --all"),
    ]
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>tokun {escape(model)}: inspect</title>'
        f"<style>{STYLE}</style></head>\n<body>\n" + "\n".join(parts) + "\n</body></html>\n"
    )
