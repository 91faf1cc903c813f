"""The web page in a real browser: Debian's chromium driven by Playwright, against a real uvicorn
on loopback serving the seeds (real model) plus a subtitle file with audio and a `<script>` one.

One module-scoped server and browser (the suite's time budget is tight); each test gets a fresh
browser context whose every request is checked to stay on 127.0.0.1. With WEB_SCREENSHOTS=DIR
the answer and reader are also saved there, light and dark (docs/ holds the README's copies).
"""

from __future__ import annotations

import os
import shutil
import threading
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn

from qa.api.app import create_app
from qa.service import QAService
from qa.settings import Settings

if TYPE_CHECKING:
    from conftest import Built

CHROMIUM = shutil.which("chromium")
if CHROMIUM is None:
    pytest.skip("chromium is not installed (scripts/setup installs it)", allow_module_level=True)

from axe_playwright_python.sync_playwright import Axe  # noqa: E402
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright  # noqa: E402

pytestmark = pytest.mark.slow

KEY = "web-test-key"
SEED_QUESTION = "How many Optimus robots does Tesla plan to build next year?"
OFF_TOPIC = "What is the capital of France?"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]
SUBTITLES = """1
00:00:00,000 --> 00:00:02,000
Ada: Good morning, everyone, and welcome.

2
00:00:02,000 --> 00:00:04,000
Bob: The telescope opened its eyes last night.

3
00:00:04,000 --> 00:00:06,000
Ada: What did it see first?
"""
SCRIPT = "Host: Type this.\nGuest: I typed <script>window.pwned = 1</script> and it stayed text.\n"
UPLOAD = b"Interviewer: What do you grow?\nFarmer: Mostly barley and some rye.\nInterviewer: Why?\nFarmer: The soil is thin.\n"


@dataclass
class Site:
    url: str
    source: Path
    service: QAService


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def site(seeded: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    base = tmp_path_factory.mktemp("web-browser")
    source, index = base / "source", base / "index"
    shutil.copytree(seeded.source, source)
    shutil.copytree(seeded.index, index)  # its embedding cache: only the new files are embedded
    (source / "telescope.srt").write_text(SUBTITLES, encoding="utf-8")
    with wave.open(str(source / "telescope.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(b"\x80" * 8000 * 6)
    (source / "script.txt").write_text(SCRIPT, encoding="utf-8")
    settings = Settings(source_dir=source, index_dir=index, api_key=KEY)
    service = QAService(settings, embedder=seeded.service.embedder)
    service.update()
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(service=service), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, name="web-uvicorn", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield Site(url, source, service)
    server.should_exit = True
    thread.join(timeout=15)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.fixture
def context(browser: Browser, site: Site) -> Iterator[BrowserContext]:
    ctx = browser.new_context(base_url=site.url)
    seen: list[str] = []
    ctx.on("request", lambda r: seen.append(r.url))
    yield ctx
    ctx.close()
    outside = [u for u in seen if urlsplit(u).hostname != "127.0.0.1"]
    assert not outside, f"requests left 127.0.0.1: {outside}"


@pytest.fixture
def page(context: BrowserContext) -> Page:
    p = context.new_page()
    errors: list[str] = []
    p.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    p.on("pageerror", lambda e: errors.append(str(e)))
    p.errors = errors  # type: ignore[attr-defined]
    return p


def ask_url(question: str) -> str:
    return "/?" + httpx.QueryParams({"q": question}).__str__()


def marked(page: Page) -> str:
    """The reader's marks, joined as the quote is: the server says what joins each one."""
    return str(
        page.eval_on_selector_all(
            "mark", "ms => ms.map(m => m.dataset.join + m.textContent).join('')"
        )
    )


def no_overflow(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def shoot(page: Page, name: str) -> None:
    folder = os.environ.get("WEB_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / name), full_page=False)


def test_answer_opens_in_the_reader_with_the_exact_quote_marked(page: Page, site: Site) -> None:
    page.goto(ask_url(SEED_QUESTION))
    quotes = page.locator("article.quote")
    expect(quotes.first).to_be_visible()
    assert quotes.count() >= 1
    first = quotes.first
    expect(first.locator(".chip-cite")).to_contain_text("Musk")
    expect(first.locator(".chip-cite")).to_contain_text("line")
    expect(first.locator(".verified")).to_have_text("✓ verified verbatim")
    expect(page.locator("#announce")).to_contain_text("quote")
    texts = quotes.locator("blockquote").all_text_contents()
    shoot(page, "web-answer-light.png")

    first.get_by_role("link", name="Open in transcript").click()
    page.wait_for_url("**/transcripts/**")
    assert marked(page) == texts[0].strip()
    expect(page.locator(".turn.current mark").first).to_be_in_viewport()
    expect(page.get_by_role("link", name="Back to the answer (quote 1")).to_be_visible()
    start, end = (int(page.url.split(k + "=")[1].split("&")[0]) for k in ("start", "end"))
    doc_id = page.url.split("/transcripts/")[1].split("?")[0]
    assert site.service.document_text(doc_id)[start:end] == texts[0].strip()
    shoot(page, "web-reader-light.png")
    if quotes.count() > 1:
        page.get_by_role("link", name="Next quote →").click()
        assert marked(page) == texts[1].strip()

    page.goto(ask_url(SEED_QUESTION))  # the permalink, loaded again: the same answer
    assert page.locator("article.quote blockquote").all_text_contents() == texts
    assert page.errors == []  # type: ignore[attr-defined]


def test_keyboard_only_and_copy_to_clipboard(browser: Browser, site: Site) -> None:
    ctx = browser.new_context(base_url=site.url, permissions=["clipboard-read", "clipboard-write"])
    try:
        page = ctx.new_page()
        page.goto("/")
        page.keyboard.press("/")
        expect(page.locator("#q")).to_be_focused()
        page.keyboard.type(SEED_QUESTION)
        page.keyboard.press("Enter")
        expect(page.locator("article.quote").first).to_be_visible()
        page.keyboard.press("j")
        expect(page.locator("#quote-1")).to_be_focused()
        if page.locator("article.quote").count() > 1:
            page.keyboard.press("j")
            expect(page.locator("#quote-2")).to_be_focused()
            page.keyboard.press("k")
            expect(page.locator("#quote-1")).to_be_focused()
        page.keyboard.press("c")
        expect(page.locator("#announce")).to_have_text("Quote and citation copied")
        clip = page.evaluate("navigator.clipboard.readText()")
        quote = page.locator("#quote-1 blockquote").text_content() or ""
        cite = ", ".join(
            (page.locator("#quote-1 .chip-cite").text_content() or "").strip().split(" · ")
        )
        assert clip.startswith(f"“{quote.strip()}” — {cite}")
        assert "#quote-1" in clip
        page.locator("#quote-1 button.copy-md").click()
        md = page.evaluate("navigator.clipboard.readText()")
        assert md.startswith("> ") and "([source](" in md
        page.keyboard.press("?")
        expect(page.locator("#keys")).to_be_visible()
        page.keyboard.press("Escape")
        expect(page.locator("#keys")).to_be_hidden()
        page.locator("#quote-1").focus()
        page.keyboard.press("o")
        page.wait_for_url("**/transcripts/**")
        expect(page.locator("mark").first).to_be_visible()
    finally:
        ctx.close()


def test_upload_and_delete_need_the_key(page: Page, site: Site) -> None:
    page.goto("/transcripts")
    file_input = page.locator("#file")
    expect(file_input).to_be_disabled()
    page.get_by_label("API key").fill("wrong")
    page.evaluate(  # dropped on the drop zone: refused, the key is wrong (401)
        """text => {
            const data = new DataTransfer();
            data.items.add(new File([text], "farm.txt", {type: "text/plain"}));
            document.querySelector("#drop").dispatchEvent(
                new DragEvent("drop", {dataTransfer: data, bubbles: true, cancelable: true}));
        }""",
        UPLOAD.decode(),
    )
    expect(page.locator("#upload-result")).to_contain_text("Could not add farm.txt")
    expect(page.locator("#upload-result")).to_contain_text("Bearer")
    assert not (site.source / "farm.txt").exists()
    page.get_by_label("API key").fill(KEY)
    file_input.set_input_files({"name": "farm.txt", "mimeType": "text/plain", "buffer": UPLOAD})
    result = page.locator("#upload-result")
    expect(result).to_contain_text("Added farm.txt")
    expect(result).to_contain_text("speakers Interviewer, Farmer; 4 turns")
    row = page.locator('tr[data-doc="farm.txt"]')
    expect(row).to_be_visible()
    assert (site.source / "farm.txt").is_file()

    page.once("dialog", lambda d: d.accept())
    row.get_by_role("button", name="Delete farm.txt").click()
    expect(row).to_have_count(0)
    assert not (site.source / "farm.txt").exists()
    assert "farm.txt" not in {d.doc_id for d in site.service.documents()}


def test_unanswerable_says_not_found_and_lists_related(page: Page) -> None:
    page.goto(ask_url(OFF_TOPIC))
    expect(page.get_by_role("heading", name="Not found in these transcripts")).to_be_visible()
    expect(page.get_by_role("heading", name="Related passages")).to_be_visible()
    assert page.locator("article.quote").count() == 0
    assert page.locator(".related .passage").count() >= 1


def test_script_in_a_transcript_is_text(page: Page) -> None:
    page.goto("/transcripts/script.txt")
    expect(page.locator(".lines")).to_contain_text("<script>window.pwned = 1</script>")
    assert page.evaluate("window.pwned") is None
    page.goto("/transcripts/script.txt#L1-L2")  # a line range link selects its lines
    expect(page.locator(".line.selected")).to_have_count(2)
    page.locator("#L1 .lno").click()
    page.locator("#L2 .lno").click(modifiers=["Shift"])
    assert page.url.endswith("#L1-L2")


def test_player_plays_from_a_time_and_follows_the_turn(page: Page) -> None:
    page.goto("/transcripts/telescope.srt")
    player = page.locator("#player")
    expect(player).to_be_attached()
    page.locator('a.time[data-t="2.0"]').click()
    page.wait_for_function("document.querySelector('#player').currentTime >= 2")
    expect(page.locator(".turn.playing")).to_contain_text("The telescope opened")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_themes_and_a_phone_width_render_without_overflow(
    browser: Browser, site: Site, scheme: str
) -> None:
    ctx = browser.new_context(
        base_url=site.url, viewport={"width": 390, "height": 844}, color_scheme=scheme
    )
    try:
        page = ctx.new_page()
        page.goto(ask_url(SEED_QUESTION))
        expect(page.locator("article.quote").first).to_be_visible()
        assert no_overflow(page)
        bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert (bg == "rgb(15, 20, 25)") == (scheme == "dark"), bg
        href = page.locator("article.quote a.open").first.get_attribute("href") or ""
        page.emulate_media(media="print")  # the print style drops the controls, keeps the quotes
        expect(page.locator("article.quote .actions").first).to_be_hidden()
        expect(page.locator("article.quote blockquote").first).to_be_visible()
        page.emulate_media(media="screen")
        for path in (href, "/transcripts", "/transcripts/telescope.srt"):
            page.goto(path)
            assert no_overflow(page), path
    finally:
        ctx.close()


def test_screenshots_dark(browser: Browser, site: Site) -> None:
    """The dark screenshots for docs/ (only with WEB_SCREENSHOTS; otherwise a smoke check)."""
    ctx = browser.new_context(
        base_url=site.url, color_scheme="dark", viewport={"width": 1000, "height": 760}
    )
    try:
        page = ctx.new_page()
        page.goto(ask_url(SEED_QUESTION))
        shoot(page, "web-answer-dark.png")
        page.locator("article.quote a.open").first.click()
        page.wait_for_url("**/transcripts/**")
        shoot(page, "web-reader-dark.png")
        expect(page.locator("mark").first).to_be_visible()
    finally:
        ctx.close()


def serious(results: Any) -> list[str]:
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)"
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]


def test_accessibility_scan_finds_nothing_serious(browser: Browser, site: Site) -> None:
    axe = Axe()
    problems = []
    for scheme in ("light", "dark"):  # contrast is checked in both themes
        ctx = browser.new_context(base_url=site.url, color_scheme=scheme)
        try:
            page = ctx.new_page()
            page.goto(ask_url(SEED_QUESTION))
            problems += [f"{scheme} answer: {p}" for p in serious(axe.run(page))]
            page.locator("article.quote a.open").first.click()
            page.wait_for_url("**/transcripts/**")
            problems += [f"{scheme} reader: {p}" for p in serious(axe.run(page))]
            if scheme == "light":
                for path in ("/transcripts", "/transcripts/telescope.srt", ask_url(OFF_TOPIC)):
                    page.goto(path)
                    problems += [f"{path}: {p}" for p in serious(axe.run(page))]
        finally:
            ctx.close()
    assert problems == []


def test_answer_and_reader_work_without_javascript(browser: Browser, site: Site) -> None:
    ctx = browser.new_context(base_url=site.url, java_script_enabled=False)
    try:
        page = ctx.new_page()
        page.goto("/")
        page.get_by_label("Question", exact=True).fill(SEED_QUESTION)
        page.get_by_role("button", name="Ask").click()
        quote = page.locator("article.quote blockquote").first
        expect(quote).to_be_visible()
        expect(page.locator("button.copy").first).to_be_hidden()  # copying needs the script
        text = (quote.text_content() or "").strip()
        page.locator("article.quote a.open").first.click()
        assert marked(page) == text
    finally:
        ctx.close()
