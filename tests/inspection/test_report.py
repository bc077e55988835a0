"""The HTML report: its sections, and a check in a real browser (headless Chromium) that it renders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tokun.inspection import report
from tokun.inspection.inspect import inspect

from .conftest import BENCH, EVAL, NOISE


@pytest.fixture
def built(tiny_tok, corpus, tmp_path) -> Path:
    """A report folder of the tiny model on the three-language corpus, PCA maps, every section measured."""
    out = tmp_path / "report"
    inspect(tiny_tok, [str(corpus)], out, max_points=60, methods=("pca",), accuracy=EVAL, noise=NOISE, speed=BENCH)
    return out


def test_the_report_holds_every_section(built) -> None:
    page = (built / "index.html").read_text(encoding="utf-8")
    sections = ("Maps", "Scripts in latent space", "Nearest neighbours", "Accuracy per language", "Noise", "Speed")
    for expected in sections:
        assert f"<h2>{expected}" in page
    assert 'src="maps/characters.png"' in page and 'src="maps/blocks.png"' in page
    assert page.count("<table>") == 2 + 4 + 5 + 2  # scripts of characters and blocks, 4 character probes, 5 words,
    # accuracy, speed
    assert "50.0000%" in page and "<svg" in page and "2,000,000" in page and "not measured" not in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in page
    for name in ("maps/characters.png", "maps/blocks.png", "maps.html", "neighbours.json", "projector/tensors.tsv"):
        assert (built / name).is_file()


def test_invisible_characters_are_named_and_every_backend_measured_is_shown() -> None:
    table = {"probe": "A", "kind": "characters", "nearest": [{"text": "\x1f", "distance": 1.0, "script": "Zyyy",
                                                              "language": "en"}, {"text": " ", "distance": 2.0,
                                                              "script": "Zyyy", "language": "en"}]}
    onnx = {"encode_chars_per_s": 5e5, "decode_chars_per_s": 1e5, "exact": True}
    speed = {**BENCH, "threads": 1, "onnxruntime": onnx}
    page = report.page(model="m", summary="", maps=[], neighbours=[table], speed=speed)
    assert "U+001F" in page and "U+0020" in page and "\x1f" not in page
    assert "1,000 characters, 1 thread</p>" in page
    assert "<td>tokun, onnxruntime</td><td class=\"n\">500,000</td><td class=\"n\">100,000</td>" in page
    two = report.page(model="m", summary="", maps=[], neighbours=[], speed=BENCH)  # threads 2, torch alone
    assert "2 threads</p>" in two and "onnxruntime" not in two


def test_a_section_not_measured_says_how_to_measure_it() -> None:
    page = report.page(model="m", summary="", maps=[], neighbours=[])
    assert page.count('class="missing"') == 3 and "--eval FILE" in page and "--all" in page


def chromium() -> str | None:
    """The system's Chromium (playwright's own browser download is not used)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def legend_is_drawn(page, path: Path) -> bool:
    """Whether a screenshot of the legend, inside the viewport, shows the colour of each of its dots."""
    from PIL import Image

    legend = page.locator("#legend")
    box = legend.bounding_box()
    viewport = page.viewport_size
    assert box and box["width"] > 0 and box["x"] + box["width"] <= viewport["width"], box
    legend.screenshot(path=str(path))
    seen = {colour[:3] for _, colour in Image.open(path).convert("RGB").getcolors(1 << 20)}
    dots = page.eval_on_selector_all("#legend span", "s => s.map(e => getComputedStyle(e).backgroundColor)")
    wanted = {tuple(int(v) for v in d[4:-1].split(",")) for d in dots}  # "rgb(31, 119, 180)"
    return len(dots) == page.locator("#legend li").count() and wanted <= seen


@pytest.mark.slow
def test_the_report_renders_in_a_real_browser(built, tmp_path) -> None:
    browser_path = chromium()
    if browser_path is None:
        pytest.skip("no Chromium installed (apt-get install chromium): the report's browser check needs one")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the browser check needs playwright")
    errors: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: errors.append(f"network: {r.url}") if not r.url.startswith("file:") else None)
        page.goto((built / "index.html").as_uri())
        page.wait_for_load_state("load")
        widths = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")
        assert len(widths) == 2 and all(w > 0 for w in widths)  # every image decoded
        assert page.locator("table").count() == 13 and page.locator("svg polyline").count() == 2
        assert page.locator("figcaption").first.inner_text().count("share its script") == 1
        shot = page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        assert len(shot) > 10_000
        page.goto((built / "maps.html").as_uri())
        page.wait_for_load_state("load")
        assert int(page.get_attribute("canvas", "data-points")) > 0  # the interactive map drew its points
        page.select_option("#set", "1")  # the blocks, coloured by language: 3 files, none hidden behind "other"
        page.select_option("#colour", "language")
        names = page.locator("#legend li").all_inner_texts()
        assert sorted(n.split(":")[0] for n in names) == ["en", "ru", "zh"]
        assert legend_is_drawn(page, tmp_path / "legend.png")
        page.select_option("#set", "0")  # the characters by script: more than 8 scripts, the rest one muted group
        page.select_option("#colour", "script")
        names = page.locator("#legend li").all_inner_texts()
        assert len(names) == 9 and names[-1].startswith("other (") and page.locator("#legend li.other").count() == 1
        assert legend_is_drawn(page, tmp_path / "legend-scripts.png")
        box = page.locator("canvas").bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        browser.close()
    assert errors == []
