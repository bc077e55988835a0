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
    for expected in ("Maps", "Nearest neighbours", "Accuracy per language", "Noise tolerance", "Speed"):
        assert f"<h2>{expected}" in page
    assert 'src="maps/characters.png"' in page and 'src="maps/blocks.png"' in page
    assert page.count("<table>") == 4 + 5 + 2  # 4 character probes, 5 words, accuracy, speed
    assert "50.0000%" in page and "<svg" in page and "2,000,000" in page and "not measured" not in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in page
    for name in ("maps/characters.png", "maps/blocks.png", "maps.html", "neighbours.json", "projector/tensors.tsv"):
        assert (built / name).is_file()


def test_a_section_not_measured_says_how_to_measure_it() -> None:
    page = report.page(model="m", summary="", maps=[], neighbours=[])
    assert page.count('class="missing"') == 3 and "--eval FILE" in page and "--all" in page


def chromium() -> str | None:
    """The system's Chromium (playwright's own browser download is not used)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


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
        assert page.locator("table").count() == 11 and page.locator("svg polyline").count() == 2
        shot = page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        assert len(shot) > 10_000
        page.goto((built / "maps.html").as_uri())
        page.wait_for_load_state("load")
        assert int(page.get_attribute("canvas", "data-points")) > 0  # the interactive map drew its points
        page.select_option("#set", "1")  # the blocks, coloured by language
        page.select_option("#colour", "language")
        assert page.locator("#legend li").count() >= 3
        box = page.locator("canvas").bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        browser.close()
    assert errors == []
