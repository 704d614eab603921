"""The page in a real browser: Debian's Chromium, headless, driven by Playwright.

Skipped, with the reason shown, where Chromium or Playwright is missing; in CI
(``CI=true``) a missing browser fails instead, so the browser tests cannot silently
stop running. ``.ci/run`` installs Chromium first. Set ``SDSEARCH_SCREENSHOTS=docs``
to keep the screenshots (the README shows them).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import CORPUS
from test_serve import LiveServer, build, serve_corpus

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # a real browser: not in the fast tier

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    for candidate in (os.environ.get("SDSEARCH_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def _missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}: CI must run the browser tests (.ci/run installs chromium first)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright is not installed (pip install -e '.[test]')")
    if chromium_path() is None:
        _missing("Chromium is missing (apt-get install chromium chromium-driver)")
    with sync_playwright() as p:
        yield p


class Browser:
    """A fresh Chromium profile (its own --user-data-dir) and pages in it."""

    def __init__(self, playwright: Any, width: int = 1100, height: int = 900, javascript: bool = True):
        self.profile = tempfile.mkdtemp(prefix="sdsearch-chromium-")
        self.context = playwright.chromium.launch_persistent_context(
            self.profile,
            executable_path=chromium_path(),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": width, "height": height},
            java_script_enabled=javascript,
            locale="nl-NL",
        )
        self.dialogs: list[str] = []
        self.errors: list[str] = []

    def page(self) -> Any:
        page = self.context.new_page()
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        return page

    def close(self) -> None:
        self.context.close()
        shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = tmp_path_factory.mktemp("browser")
    build(serve_corpus(base), base / "index")
    with LiveServer(base / "index") as url:
        yield url


@pytest.fixture
def browser(playwright: Any) -> Iterator[Browser]:
    b = Browser(playwright)
    yield b
    b.close()


def shot(page: Any, name: str, tmp_path: Path, full: bool = True) -> Path:
    folder = Path(os.environ["SDSEARCH_SCREENSHOTS"]) if os.environ.get("SDSEARCH_SCREENSHOTS") else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    page.screenshot(path=str(path), full_page=full)
    return path


def ask(page: Any, question: str) -> None:
    box = page.get_by_role("searchbox", name="Uw vraag")
    box.fill(question)
    with page.expect_navigation():
        box.press("Enter")


# -- the tests -------------------------------------------------------------------------------


def test_type_a_question_and_see_the_answer(site: str, browser: Browser, tmp_path: Path) -> None:
    page = browser.page()
    page.goto(site + "/")
    assert page.evaluate("document.activeElement.id") == "q"  # the question box has the focus
    ask(page, "hoeveel flexwoningen telt Mrija?")
    card = page.locator("section.antwoord")
    card.wait_for()
    assert "387" in page.locator("mark.feit").first.inner_text()
    assert "Zekerheid" in card.inner_text()
    assert card.get_by_role("link").first.inner_text().startswith("Vlaardingen")
    assert "q=hoeveel+flexwoningen+telt+Mrija%3F" in page.url  # the URL holds the question
    sources = page.locator("ol.treffers > li")
    assert sources.count() >= 1
    first = sources.first
    first.locator("summary").click()  # "Toon context"
    assert first.locator(".contexttekst mark.passage").is_visible()
    assert browser.dialogs == [] and browser.errors == []
    shot(page, "serve-small-answer.png", tmp_path)


def test_a_filter_narrows_the_sources_and_stays_in_the_url(site: str, browser: Browser) -> None:
    page = browser.page()
    page.goto(site + "/?q=beschermd+wonen")
    with page.expect_navigation():  # the script searches again when a filter changes
        page.get_by_role("combobox", name="Gemeente").select_option("Velsen")
    assert "gemeente=Velsen" in page.url
    titles = page.locator("ol.treffers h3").all_inner_texts()
    assert titles and all(t.startswith("Velsen") for t in titles)
    page.reload()
    assert page.get_by_role("combobox", name="Gemeente").input_value() == "Velsen"  # shared URL, same filters


def test_plain_search_works_without_javascript(site: str, playwright: Any) -> None:
    b = Browser(playwright, javascript=False)
    try:
        page = b.page()
        page.goto(site + "/")
        page.get_by_role("searchbox", name="Uw vraag").fill("beschermd wonen")
        page.get_by_role("combobox", name="Jaar").select_option("2022")
        with page.expect_navigation():
            page.get_by_role("button", name="Zoeken").click()
        assert "jaar=2022" in page.url
        assert page.locator("ol.treffers > li").count() >= 1
        page.locator("ol.treffers summary").first.click()  # <details> needs no script
        assert page.locator("ol.treffers .contexttekst").first.is_visible()
    finally:
        b.close()


def test_open_a_source_at_its_page_and_at_its_passage(site: str, browser: Browser, tmp_path: Path) -> None:
    page = browser.page()
    page.goto(site + "/?q=schuldhulpverlening+huishoudens")
    with page.expect_response(lambda r: "/bestand/" in r.url) as info:
        page.get_by_role("link", name="Open de PDF op pagina 2").first.click()
    response = info.value
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    assert page.url.endswith("/bestand/maassluis-jaarstukken-2021.pdf#page=2")
    page.wait_for_timeout(1500)  # let the viewer draw, for the screenshot
    shot(page, "serve-small-pdf.png", tmp_path, full=False)

    page.goto(site + "/?q=Skaeve+Huse+Broekeroog")
    with page.expect_navigation():
        page.get_by_role("link", name="Open in het rapport").first.click()
    assert "/bron/" in page.url and page.url.endswith("#passage")
    mark = page.locator("mark#passage")
    assert "Skaeve Huse" in mark.inner_text()
    box = mark.bounding_box()
    assert box is not None and 0 <= box["y"] < page.viewport_size["height"], box  # scrolled to the passage


def test_a_hostile_report_shows_as_text(site: str, browser: Browser, tmp_path: Path) -> None:
    page = browser.page()
    page.goto(site + "/?q=budget+beschermd+wonen+Schiedam&gemeente=Schiedam")
    body = page.locator("main").inner_text()
    assert "<script>alert('xss-titel')</script> Jaarverslag 2022" in body
    assert "<img src=x onerror=alert('xss-img')>" in body
    assert page.locator("main img, main script, main b").count() == 0
    page.locator("ol.treffers summary").first.click()
    page.get_by_role("link", name="Open in het rapport").first.click()
    page.wait_for_load_state()
    assert "<script>alert('xss-kop')</script>" in page.locator("main").inner_text()
    page.wait_for_timeout(300)
    assert browser.dialogs == [], browser.dialogs
    shot(page, "serve-small-hostile.png", tmp_path)


def test_usable_by_keyboard_with_names_on_every_control(site: str, browser: Browser) -> None:
    page = browser.page()
    page.goto(site + "/?q=beschermd+wonen")
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "q"
    order = []
    for _ in range(5):
        page.keyboard.press("Tab")
        order.append(page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()"))
    assert order[:4] == ["Zoeken", "gemeente", "jaar", "type"], order
    summary = page.locator("ol.treffers summary").first
    summary.focus()
    page.keyboard.press("Enter")
    assert page.locator("ol.treffers details").first.get_attribute("open") is not None
    unnamed = page.evaluate(
        """() => [...document.querySelectorAll('a, button, input:not([type=hidden]), select, summary')]
              .filter(el => {
                const name = (el.labels && el.labels.length ? [...el.labels].map(l => l.textContent).join(' ') : '')
                  || el.getAttribute('aria-label') || el.textContent || el.getAttribute('title') || '';
                return !name.trim();
              }).map(el => el.outerHTML.slice(0, 80))"""
    )
    assert unnamed == []


def test_readable_at_375_pixels(site: str, playwright: Any, tmp_path: Path) -> None:
    b = Browser(playwright, width=375, height=812)
    try:
        page = b.page()
        page.goto(site + "/?q=hoeveel+flexwoningen+telt+Mrija%3F")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        assert page.get_by_role("button", name="Zoeken").bounding_box()["width"] > 300  # full width, easy to tap
        font = page.evaluate("parseFloat(getComputedStyle(document.querySelector('.fragment')).fontSize)")
        assert font >= 15
        shot(page, "serve-small-mobile.png", tmp_path)
    finally:
        b.close()


@pytest.mark.slow
def test_screenshots_of_the_bundled_corpus(real_index: Path, playwright: Any, tmp_path: Path) -> None:
    """The README's pictures: the real corpus and the bundled model."""
    with LiveServer(real_index, encoder=_real_encoder()) as url:
        b = Browser(playwright, width=1000, height=900)
        try:
            page = b.page()
            page.goto(url + "/")
            ask(page, "hoeveel flexwoningen telt Mrija?")
            assert "387" in page.locator("mark.feit").first.inner_text()
            page.locator("ol.treffers summary").first.click()
            shot(page, "serve-page.png", tmp_path)
            page.goto(url + "/?q=wie+verzorgt+het+collectief+vervoer%3F&gemeente=Velsen")
            assert "RegioRijder" in page.locator("section.antwoord").inner_text()
            with page.expect_navigation():
                page.locator("section.antwoord a").first.click()
            assert page.locator("mark#passage").is_visible()
            shot(page, "serve-reading.png", tmp_path, full=False)
            assert b.dialogs == [] and b.errors == []
        finally:
            b.close()
        m = Browser(playwright, width=375, height=812)
        try:
            page = m.page()
            page.goto(url + "/?q=wat+gebeurt+er+met+beschermd+wonen%3F")
            assert page.evaluate("document.documentElement.scrollWidth") <= 375
            shot(page, "serve-mobile.png", tmp_path, full=False)
        finally:
            m.close()
    assert CORPUS.is_dir()


def _real_encoder() -> Any:
    from sdsearch.models import load_encoder

    return load_encoder()


def test_missing_chromium_skips_with_a_reason_but_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Chromium is missing"):
        _missing("Chromium is missing (apt-get install chromium chromium-driver)")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run the browser tests"):
        _missing("Chromium is missing (apt-get install chromium chromium-driver)")
