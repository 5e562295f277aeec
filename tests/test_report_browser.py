"""The report in a real browser: layout facts measured with Playwright driving the system Chromium.

No browser is downloaded: Playwright (the Python package) drives the Debian
``chromium`` binary through ``executable_path``. Without Playwright or
Chromium these tests skip and say why; ``.ci/run`` installs Chromium.
Screenshots go to ``tests/artifacts/`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from graphlink.views.report import ReportOptions, write_report
from tests._report_worlds import XSS_ACCOUNT, world, world_session  # noqa: F401

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary on PATH (apt-get install chromium)")

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu",
                                                              "--disable-dev-shm-usage"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def fixture_run(tmp_path_factory, fixture_detected) -> Path:
    """Detect on the bundled fixture (realistic why texts and dozens of clusters): this module's copy of
    ``graphlink.detect(fixtures/events.parquet, fixtures/accounts.parquet).save(...)`` (conftest)."""
    return Path(shutil.copytree(fixture_detected, tmp_path_factory.mktemp("fixture") / "out"))


def _open(browser, path: Path, width: int = 1400, height: int = 900):
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    requests: list[str] = []
    page.on("request", lambda req: requests.append(req.url))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, errors, requests


def _rows(page, table: str) -> list[dict[str, float]]:
    return page.eval_on_selector_all(
        f"#{table} tbody tr",
        "rows => rows.map(r => { const b = r.getBoundingClientRect(); return {top: b.top, bottom: b.bottom, "
        "height: b.height}; })")


def test_ranked_table_first_screen_shows_ten_readable_rows(browser, fixture_run):
    report = write_report(fixture_run).path
    ARTIFACTS.mkdir(exist_ok=True)
    page, errors, requests = _open(browser, report)
    try:
        page.screenshot(path=str(ARTIFACTS / "report-first-screen.png"))
        clusters = pl.read_parquet(fixture_run / "clusters.parquet")
        rows = _rows(page, "clusters")
        assert len(rows) == min(clusters.height, 1000) and len(rows) >= 10
        # The report opens with the ranked campaigns (detect writes campaigns.parquet; those with a section: session
        # 41), then the ranked clusters: the first screen shows at least 10 ranked rows, clusters among them.
        first = _rows(page, "campaigns") if (fixture_run / "campaigns.parquet").exists() else []
        visible = [r for r in first + rows if r["top"] >= 0 and r["bottom"] <= 900]
        assert len(visible) >= 10, f"only {len(visible)} ranked rows on the first 1400x900 screen"
        assert [r for r in rows if r["top"] >= 0 and r["bottom"] <= 900], "no cluster row on the first screen"
        # Every row is one line of text: no wrapping inside cells.
        line = page.eval_on_selector("#clusters tbody td", "td => parseFloat(getComputedStyle(td).lineHeight)")
        assert max(r["height"] for r in rows) < 2 * line + 8
        # The why column is wide enough to read (the issue measured 46 px).
        why_width = page.eval_on_selector("#clusters tbody td.why", "td => td.getBoundingClientRect().width")
        assert why_width >= 500
        # The full reason is one hover away, and the table shows no horizontal scroll bar.
        top_why = clusters.sort(["score", "size"], descending=True)["why"][0]
        assert page.eval_on_selector("#clusters tbody td.why", "td => td.title") == top_why
        assert page.eval_on_selector(".scroll.tall", "d => d.scrollWidth <= d.clientWidth")
        assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors
        assert all(url.startswith(("file:", "data:")) for url in requests), requests
    finally:
        page.close()


def test_report_runs_its_scripts_under_the_csp_and_keeps_text_text(browser, world):
    report = write_report(world).path
    page, errors, requests = _open(browser, report, 1280, 2000)
    try:
        assert not errors, errors
        assert all(url.startswith(("file:", "data:")) for url in requests), requests
        # The sort script ran (it marks sortable tables) despite the strict CSP.
        assert "js" in page.eval_on_selector("#clusters", "t => t.className").split()
        # Injected markup is text: no element was created from it, and it reads back verbatim.
        assert page.locator("svg[onload], img[src=x]").count() == 0
        assert XSS_ACCOUNT in page.inner_text("body")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report-world-full.png"), full_page=True)
    finally:
        page.close()


def test_sorting_by_clicking_headers(browser, world):
    report = write_report(world, options=ReportOptions(plots=False)).path
    page, errors, _ = _open(browser, report)
    try:
        def first_column() -> list[int]:
            return [int(t) for t in page.eval_on_selector_all(
                "#clusters tbody tr", "rows => rows.map(r => r.cells[0].textContent.trim())")]

        clusters = pl.read_parquet(world / "clusters.parquet")
        size_header = page.locator("#clusters th", has_text=re.compile("^size$"))
        size_header.click()
        by_size = first_column()
        assert [clusters.filter(pl.col("cluster_id") == c)["size"][0] for c in by_size] == \
            sorted(clusters["size"].to_list(), reverse=True)
        size_header.click()
        assert [clusters.filter(pl.col("cluster_id") == c)["size"][0] for c in first_column()] == \
            sorted(clusters["size"].to_list())
        assert size_header.get_attribute("aria-sort") == "ascending"
        assert not errors, errors
    finally:
        page.close()


def _zoom_grows(page, zoom: float, timeout_ms: int = 2000) -> bool:
    """Poll (from Python: the page's CSP forbids string evaluation) until #net-1 zooms beyond ``zoom``."""
    for _ in range(timeout_ms // 100):
        if page.eval_on_selector("#net-1", "box => box.graphlinkCy.zoom()") > zoom:
            return True
        page.wait_for_timeout(100)
    return False


def test_interactive_network_renders_pans_zooms_and_hovers(browser, world):
    report = write_report(world).path
    page, errors, requests = _open(browser, report, 1400, 900)
    try:
        assert not errors, errors  # Cytoscape.js ran under the CSP (no injected <style>, no eval)
        assert all(url.startswith(("file:", "data:")) for url in requests), requests
        page.locator("#net-1").scroll_into_view_if_needed()
        # The canvas is drawn: it has a size and non-white pixels.
        painted = page.eval_on_selector("#net-1", """box => {
            let n = 0;
            for (const c of box.querySelectorAll("canvas")) {
                if (!c.width || !c.height) continue;
                const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
                for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
            }
            return n; }""")
        assert painted > 500
        nodes = page.eval_on_selector("#net-1", "box => box.graphlinkCy.nodes().length")
        members = pl.read_parquet(world / "accounts.parquet").filter(pl.col("cluster_id") == 1).height
        assert members < nodes <= 150
        # Hover the first account node: the tip names the account and the values it shares.
        x, y, account_tip = page.eval_on_selector("#net-1", """box => {
            const node = box.graphlinkCy.nodes("[kind = 'account']")[0];
            const r = box.getBoundingClientRect(), p = node.renderedPosition();
            return [r.left + p.x, r.top + p.y, node.data("tip")]; }""")
        page.mouse.move(x, y)
        page.wait_for_function("document.getElementById('tip-1').textContent.startsWith('account ')")
        tip = page.inner_text("#tip-1")
        assert tip == account_tip and "shares" in tip and "payment card " in tip  # kinds by name (fb00f53), no kind=value
        # Zoom with the wheel, pan by dragging the background.
        zoom = page.eval_on_selector("#net-1", "box => box.graphlinkCy.zoom()")
        for _ in range(3):
            # Cytoscape ignores the wheel for 250 ms after a page scroll (the page scrolls instead, which
            # moves the view): on a loaded machine wait it out, and measure the box again on a retry.
            page.locator("#net-1").scroll_into_view_if_needed()
            page.wait_for_timeout(400)
            box = page.locator("#net-1").bounding_box()
            page.mouse.move(box["x"] + 10, box["y"] + 10)
            page.mouse.wheel(0, -400)
            if _zoom_grows(page, zoom):
                break
        assert page.eval_on_selector("#net-1", "box => box.graphlinkCy.zoom()") > zoom
        pan = page.eval_on_selector("#net-1", "box => box.graphlinkCy.pan()")
        page.mouse.move(box["x"] + 8, box["y"] + 8)
        page.mouse.down()
        page.mouse.move(box["x"] + 120, box["y"] + 80, steps=8)
        page.mouse.up()
        assert page.eval_on_selector("#net-1", "box => box.graphlinkCy.pan()") != pan
        # For print, the static drawing replaces the interactive view.
        page.emulate_media(media="print")
        assert not page.is_visible("#net-1")
        assert page.locator("#cluster-1 figure.print-only").is_visible()
        ARTIFACTS.mkdir(exist_ok=True)
        page.emulate_media(media="screen")
        page.locator("#net-1").screenshot(path=str(ARTIFACTS / "report-network-cluster-1.png"))
    finally:
        page.close()
