import json
import re

import numpy as np
import pytest

from tokun.inspection import maps
from tokun.inspection.embeddings import UNICODE, Points
from tokun.inspection.scripts import OTHER


def clusters(n: int = 40) -> Points:
    """Two well-separated clusters in 8 dimensions, Latin and Cyrillic."""
    rng = np.random.default_rng(0)
    vectors = np.concatenate([rng.normal(0, 0.1, (n, 8)), rng.normal(5, 0.1, (n, 8))]).astype(np.float32)
    texts = [chr(0x61 + i % 26) for i in range(n)] + [chr(0x430 + i % 32) for i in range(n)]
    return Points("characters", vectors, texts, ["Latn"] * n + ["Cyrl"] * n, ["en"] * n + ["ru"] * n)


@pytest.mark.parametrize("method", ["pca", "tsne", pytest.param("umap", marks=pytest.mark.slow)])  # UMAP: 1 min of JIT
def test_projections_keep_clusters_apart(method) -> None:
    points = clusters()
    xy = maps.project(points.vectors, method)
    assert xy.shape == (80, 2) and xy.dtype == np.float32 and np.isfinite(xy).all()
    a, b = xy[:40], xy[40:]
    gap = np.linalg.norm(a.mean(0) - b.mean(0))
    assert gap > 2 * max(a.std(0).max(), b.std(0).max())  # the two scripts are two islands


def test_tsne_progress_follows_its_iterations(monkeypatch, capsys) -> None:
    reached: list[int] = []

    class Recording(maps.IterationLines):
        def write(self, text: str) -> int:
            written = super().write(text)
            reached.append(self.bar.n)
            return written

    monkeypatch.setattr(maps, "IterationLines", Recording)
    xy = maps.project(clusters().vectors, "tsne", progress=True, desc="t-SNE of 80 characters")
    out, err = capsys.readouterr()
    assert xy.shape == (80, 2) and out == ""  # scikit-learn's lines do not reach stdout
    assert "t-SNE of 80 characters" in err and "/500" in err
    assert reached == sorted(reached) and 50 in reached and reached[-1] > 250  # every 50 iterations, both phases


def test_iteration_lines_move_the_bar() -> None:
    import io

    from tqdm import tqdm

    with tqdm(total=500, file=io.StringIO()) as bar:
        lines = maps.IterationLines(bar)
        lines.write("[t-SNE] Computing 91 nearest neighbors...\n")
        assert bar.n == 0
        lines.write("[t-SNE] Iteration 50: error = 1.0, gradient norm = 0.1 (50 iterations in 0.01s)\n")
        lines.write("[t-SNE] Iteration 300: error = 1.0, gradient norm = 0.1 (50 iterations in 0.01s)\n")
        assert bar.n == 300


def test_umap_shows_its_epochs(monkeypatch) -> None:
    umap = pytest.importorskip("umap")
    made: list[dict] = []

    class Fake:
        def __init__(self, **kwargs) -> None:
            made.append(kwargs)

        def fit_transform(self, x: np.ndarray) -> np.ndarray:
            return np.zeros((len(x), 2))

    monkeypatch.setattr(umap, "UMAP", Fake)
    maps.project(clusters().vectors, "umap", progress=True, desc="UMAP of 80 characters")
    maps.project(clusters().vectors, "umap")
    assert made[0]["tqdm_kwds"] == {"disable": False, "desc": "UMAP of 80 characters", "leave": False}
    assert made[1]["tqdm_kwds"]["disable"] is True


def test_an_unknown_projection_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown projection"):
        maps.project(np.zeros((20, 3)), "mds")


def test_legends_name_the_commonest_labels_and_grey_the_rest() -> None:
    n = 30 + 13 * 2
    scripts = ["Latn"] * 30 + [s for s in ["Grek", "Cyrl", "Arab", "Hebr", "Thai", "Deva", "Hani"] for _ in range(4)]
    scripts += ["Hang"] * (n - len(scripts))
    points = Points("characters", np.zeros((n, 2), np.float32), ["x"] * n, scripts, ["en"] * n)
    legend, codes = maps.colours(points, "script")
    assert legend[0][0] == "Latin" and len(legend) <= maps.LEGEND + 1
    assert [legend[c][0] for c in codes[:30]] == ["Latin"] * 30
    assert len({colour for _, colour in legend}) == len(legend)  # every label its own colour
    if legend[-1][0].startswith(OTHER):
        assert legend[-1][1] == maps.GREY


def test_the_language_legend_shows_as_many_scripts_as_it_can() -> None:
    languages = [f"lat{i}" for i in range(14) for _ in range(3)] + ["ru", "ru", "zh", "zh", UNICODE]
    scripts = ["Latn"] * 42 + ["Cyrl", "Cyrl", "Hani", "Hani", "Hani"]
    points = Points("blocks", np.zeros((len(scripts), 2), np.float32), ["x"] * len(scripts), scripts, languages)
    names = [name for name, _ in maps.colours(points, "language")[0]]
    assert {"ru", "zh", UNICODE} <= set(names) and names[-1] == f"{OTHER} (9)"  # though 14 Latin files are commoner
    assert len(names) == maps.LEGEND + 1


@pytest.mark.parametrize("groups", [3, 8, 9, 20])
def test_a_legend_names_the_largest_groups_and_hides_none_when_they_fit(groups) -> None:
    """At most LEGEND named groups, the largest (not the first alphabetically); the rest one muted group naming
    their number; no group behind "other" when they fit."""
    codes = ["Zanb", "Yiii", "Xsux", "Wara", "Vaii", "Ugar", "Thaa", "Tibt", "Syrc", "Sora", "Sinh", "Shaw"]
    codes += ["Runr", "Rjng", "Phnx", "Osma", "Ogam", "Mong", "Mand", "Limb"]
    sizes = {code: 2 + i for i, code in enumerate(codes[:groups])}  # the last alphabetically are the smallest
    scripts = [code for code, n in sizes.items() for _ in range(n)]
    points = Points("characters", np.zeros((len(scripts), 2), np.float32), ["x"] * len(scripts), scripts, scripts)
    for colouring in ("script", "language"):
        legend, index = maps.colours(points, colouring)
        named = [name for name, colour in legend if colour != maps.GREY]
        largest = sorted(sizes, key=sizes.get, reverse=True)[: maps.LEGEND]
        want = [maps.script_name(c) for c in largest] if colouring == "script" else largest
        assert named == want
        if groups <= maps.LEGEND:
            assert len(legend) == groups and maps.GREY not in {c for _, c in legend}
        else:
            assert legend[-1] == (f"{OTHER} ({groups - maps.LEGEND})", maps.GREY)
            assert sum(legend[i][1] == maps.GREY for i in index) == sum(sorted(sizes.values())[: groups - maps.LEGEND])


def test_the_png_and_the_page(tmp_path) -> None:
    points = clusters(20)
    coords = {"pca": maps.project(points.vectors, "pca")}
    png = maps.plot(points, coords)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    page = maps.page([(points, coords)], title="maps </script>")
    assert "http://" not in page and "https://" not in page  # no network
    data = json.loads(re.search(r"const DATA = (.*?);\n", page).group(1))
    (only,) = data["sets"]
    assert only["texts"] == points.texts and len(only["coords"]["pca"]) == 2 * len(points)
    assert "</script>" not in page.split("<script>")[1][:-20]  # the title cannot close the script early
