"""The web page end to end: the real server in a subprocess, Debian's Chromium driven by
Playwright (scripts/install_browser.sh installs it; never `playwright install`)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from ..conftest import SHARED
from .test_app import running_server

CHROMIUM = Path("/usr/bin/chromium")
LINE = SHARED / "data" / "hooker" / "lines" / "JDH_2_16_144_001__r1l10.jpg"
PAGE = SHARED / "data" / "hooker" / "test_pages" / "JDH_2_16_145_001.jpg"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DOCS_SHOT = os.environ.get("INKREADER_DOCS_SCREENSHOT")  # set once to refresh docs/web.png


@pytest.fixture(scope="module")
def browser_page():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("no /usr/bin/chromium: run scripts/install_browser.sh first")
        pytest.skip("no /usr/bin/chromium (scripts/install_browser.sh installs it)")
    from playwright.sync_api import sync_playwright

    with running_server() as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900},
                                      accept_downloads=True)
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
        page = context.new_page()
        page.goto(url + "/")
        yield page
        browser.close()


def _upload(page, path: Path, expect: str) -> dict:
    page.set_input_files("#file", str(path))
    page.wait_for_function(
        "(want) => document.getElementById('status').textContent.includes(want)",
        arg=expect, timeout=60_000)
    assert "error" not in (page.get_attribute("#status", "class") or "")
    return json.loads(page.text_content("#json"))


def test_line_upload_shows_text_box_and_json(browser_page):
    page = browser_page
    result = _upload(page, LINE, "1 line read")
    assert result["image"] == LINE.name and result["size"][0] > 0
    assert page.locator("#overlay polygon.line-box").count() == 1
    assert page.locator("#lines li").count() == 1
    assert page.text_content("#lines li") == result["text"]


def test_page_upload_draws_one_box_per_line(browser_page, tmp_path):
    page = browser_page
    result = _upload(page, PAGE, "lines read")
    n = len(result["lines"])
    assert n >= 10  # the letter has 18 written lines
    assert page.locator("#overlay polygon.line-box").count() == n
    assert page.locator("#lines li").count() == n
    shown = [page.text_content(f"#lines li:nth-child({k + 1})") for k in range(n)]
    assert shown == [ln["text"] for ln in result["lines"]]
    page.screenshot(path=str(tmp_path / "web.png"), full_page=True)
    assert (tmp_path / "web.png").stat().st_size > 10_000
    if DOCS_SHOT:
        shutil.copy(tmp_path / "web.png", DOCS_SHOT)


def test_threshold_highlights_low_confidence_characters(browser_page):
    page = browser_page
    chars = page.locator("#lines span").count()
    assert chars > 0
    page.fill("#threshold", "1")  # every confidence is below 1
    page.dispatch_event("#threshold", "input")
    assert page.locator("#lines span.low").count() == chars
    page.fill("#threshold", "0")
    page.dispatch_event("#threshold", "input")
    assert page.locator("#lines span.low").count() == 0
    assert page.text_content("#threshold-value") == "0.00"


def test_copy_and_download(browser_page, tmp_path):
    page = browser_page
    shown = json.loads(page.text_content("#json"))
    with page.expect_download() as info:
        page.click("#download-json")
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    assert saved.name == PAGE.stem + ".json"
    assert json.loads(saved.read_text(encoding="utf-8")) == shown
    with page.expect_download() as info:
        page.click("#download-text")
    info.value.save_as(tmp_path / "page.txt")
    text = (tmp_path / "page.txt").read_text(encoding="utf-8")
    assert text == "\n".join(ln["text"] for ln in shown["lines"]) + "\n"
    page.click("#copy-text")
    page.wait_for_function("document.getElementById('status').textContent.includes('copied')")
    assert page.evaluate("navigator.clipboard.readText()") == text


def test_bad_upload_shows_the_servers_error(browser_page, tmp_path):
    page = browser_page
    bad = tmp_path / "notes.png"
    bad.write_bytes(b"this is not a picture")
    page.check("input[value=page]")
    page.set_input_files("#file", str(bad))
    page.wait_for_function("document.getElementById('status').classList.contains('error')")
    status = page.text_content("#status")
    assert "notes.png: not an image" in status and status.count("notes.png") == 1
