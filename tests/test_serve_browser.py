"""fmagenre serve's page in a real headless Chromium (Debian's, driven by Playwright): a real
FMA clip uploaded, and what the page then shows read back from it.

The screenshot goes to the test's tmp folder, or to $FMAGENRE_SCREENSHOT when set
(`FMAGENRE_SCREENSHOT=docs/images/serve.png pytest tests/test_serve_browser.py` refreshes
the one in the docs).
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest
from serve_server import CLASSES, running_server

from fmagenre.models.musicnn.tags import MSD_TAGS

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("no chromium on this machine (Debian: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # never a browser download: the system's chromium, sandboxed unless we are root
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def server(serve_run):
    models, reports = serve_run
    with running_server(models, reports) as running:
        yield running


def _page(browser, url: str):
    page = browser.new_page(viewport={"width": 1000, "height": 900}, device_scale_factor=1)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("requestfailed", lambda request: errors.append(request.url))
    page.goto(url)
    return page, errors


def save_small_png(png: bytes, path: Path) -> None:
    """The screenshot in 128 colours: a page of flat colours loses nothing visible, and the
    committed copy stays small."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        image.convert("RGB").quantize(colors=128).save(path, optimize=True)


def _natural_width(page, selector: str) -> int:
    page.wait_for_function(f"() => document.querySelector({selector!r})?.complete", timeout=30_000)
    return page.eval_on_selector(selector, "img => img.naturalWidth")


def test_a_real_clip_dropped_on_the_page_shows_its_genre_tags_and_spectrogram(
    browser, server, real_clips, tmp_path
):
    clip = real_clips[0]
    page, errors = _page(browser, server.url)
    option = page.locator("#model option").first
    option.wait_for(state="attached")
    assert "validation macro-F1 0.917" in option.inner_text()
    assert "test macro-F1 0.833" in option.inner_text()
    page.set_input_files("#files", str(clip))
    card = page.locator(".file").first
    card.locator(".genres .bar").first.wait_for(timeout=120_000)
    assert card.locator("h3").inner_text() == clip.name
    top = card.locator(".genres .bar.top")
    genre, probability = top.locator(".label").inner_text(), top.locator(".value").inner_text()
    assert genre in CLASSES and probability.endswith("%")
    assert 0 < float(probability[:-1]) <= 100
    assert card.locator(".genres .bar").count() == len(CLASSES)  # every genre's bar
    tags = card.locator(".tags .bar .label").all_inner_texts()
    assert len(tags) == 5 and set(tags) <= set(MSD_TAGS)
    assert "heard 3.0 s" in card.locator(".status").inner_text()
    assert "synthetic demo dataset" in card.locator(".note").first.inner_text()
    assert _natural_width(page, ".file .spectrogram img") > 0
    assert _natural_width(page, "#figure") > 0
    shot = Path(os.environ.get("FMAGENRE_SCREENSHOT") or tmp_path / "serve.png")
    save_small_png(page.screenshot(full_page=True), shot)
    assert errors == []


def test_a_bad_file_shows_its_one_line_and_the_page_goes_on(browser, server, tmp_path):
    bad = tmp_path / "notes.mp3"
    bad.write_text("not audio at all\n" * 20)
    page, _ = _page(browser, server.url)
    page.set_input_files("#files", str(bad))
    status = page.locator(".file .status.error")
    status.wait_for(timeout=120_000)
    assert status.inner_text().startswith("notes.mp3: not a readable audio file")


def test_with_no_trained_model_the_page_says_make_demo_and_tags_still_work(
    browser, bare_server, real_clips
):
    page, errors = _page(browser, bare_server.url)
    message = page.locator("#no-model")
    message.wait_for()
    assert "make demo" in message.inner_text()
    page.set_input_files("#files", str(real_clips[1]))
    card = page.locator(".file").first
    card.locator(".tags .bar").first.wait_for(timeout=120_000)
    assert "make demo" in card.locator(".genres .message").inner_text()
    assert set(card.locator(".tags .bar .label").all_inner_texts()) <= set(MSD_TAGS)
    assert page.locator("#run").is_hidden()  # no run, no chart
    assert errors == []
