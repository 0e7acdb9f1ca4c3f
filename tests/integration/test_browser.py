"""The real app served on localhost, driven in headless Chromium (Debian's `chromium`, via Playwright).

A person's path on a warm app: open the page, ask, click a citation, open the document at the cited
passage, go back, ask about a document that carries hostile Markdown, then the same on a phone-width
screen. Every request the page makes is logged and must stay on the app's own origin. Screenshots
are saved under artifacts/screenshots/ (git-ignored) for looking at; the time from page load to the
first answer (warm start) is printed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from rag.config import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = PROJECT_ROOT / "artifacts" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SEEDS = PROJECT_ROOT / "seeds"
# A document whose lines would make a Markdown renderer fetch an outside image and show a live link.
HOSTILE = (
    "2024年测试县政府工作报告\n\n一、主要指标\n\n"
    "![t](http://example.invalid/p.png)\n\n"
    "测试县2024年实现地区生产总值88.8亿元，增长6.6%。详见[官网](http://example.invalid)。\n\n"
    "<img src=\"http://example.invalid/i.png\"> 测试县2024年新增就业1234人。\n"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def hostile_index(seed_index, settings, embedder, tmp_path) -> Path:
    """The seed index plus one hostile document (the seeds' vectors are reused: only it is embedded)."""
    from rag.engine import build

    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs, copy_function=shutil.copy2)
    (docs / "hostile.md").write_text(HOSTILE, encoding="utf-8")
    index_dir = tmp_path / "index"
    shutil.copytree(seed_index, index_dir)
    build(settings, docs_dir=docs, index_dir=index_dir, embedder=embedder)
    return index_dir


@pytest.fixture()
def served_app(hostile_index, tmp_path):
    port = _free_port()
    env = {**os.environ, "RAG_INDEX_DIR": str(hostile_index), "RAG_EMBED_MODEL": "multilingual-e5-small",
           "RAG_USER_DOCS_DIR": str(tmp_path / "user-docs"), "RAG_FEEDBACK_DIR": str(tmp_path / "feedback")}
    log = tmp_path / "streamlit.log"  # a file, not a pipe: a full pipe nobody reads would stall the server
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(PROJECT_ROOT / "app.py"), "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=PROJECT_ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("streamlit did not start: " + log.read_text(encoding="utf-8", errors="replace"))
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


IN_VIEW = """el => { const r = el.getBoundingClientRect();
  return r.height > 0 && r.top >= -1 && r.top < window.innerHeight && r.bottom > 0; }"""


def _ask(page, question: str, expect: str):
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(question)
    box.press("Enter")
    answer = page.get_by_test_id("stChatMessage").filter(has_text=expect).last
    answer.wait_for(timeout=120_000)
    page.wait_for_timeout(500)  # the rerun that draws the sources
    return answer


def test_a_person_asks_clicks_opens_and_reads_on_a_phone(served_app):
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "Debian's chromium is needed: apt-get install chromium (the Makefile's test target does it)"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    origin = served_app
    outside: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.on("request", lambda r: None if r.url.startswith((origin, "data:", "blob:", "about:"))
                   else outside.append(r.url))
        # A first visit warms the process (model and index load once), as after `make app`.
        # The page (what is indexed, example questions) is drawn before the engine has loaded.
        warm = context.new_page()
        cold_started = time.time()
        warm.goto(origin)
        warm.get_by_text("可以这样问").wait_for(timeout=180_000)
        cold_page_s = time.time() - cold_started
        warm.get_by_test_id("stChatInputTextArea").wait_for(timeout=180_000)  # drawn once the engine is loaded
        cold_engine_s = time.time() - cold_started
        warm.close()

        page = context.new_page()
        started = time.time()
        page.goto(origin)
        page.get_by_text("可以这样问").wait_for(timeout=60_000)  # the page teaches before anything is asked
        page.screenshot(path=str(SCREENSHOTS / "empty-screen.png"), full_page=True)
        answer = _ask(page, "余杭区2021年地区生产总值是多少", "2502.2")
        first_answer_s = time.time() - started
        page.screenshot(path=str(SCREENSHOTS / "chat-answer.png"), full_page=True)

        # [1] is a link: clicking it brings its source into view, opened.
        answer.locator("a.rag-cite").first.click()
        page.wait_for_timeout(700)
        source = page.get_by_test_id("stExpander").filter(has_text="[1]").first
        assert source.evaluate(IN_VIEW), "clicking [1] scrolls to its source"
        assert "余杭" in source.inner_text()
        assert page.locator("mark").count() > 0  # the answer's terms and figures marked in the passage

        # Open the whole document: it opens scrolled to the highlighted passage, under its title.
        source.get_by_role("button", name="打开全文").click()
        hit = page.locator("#rag-hit")
        hit.wait_for(timeout=30_000)
        page.wait_for_timeout(1000)
        assert hit.evaluate(IN_VIEW), "the cited passage is scrolled into view"
        assert "余杭" in page.get_by_test_id("stMain").get_by_test_id("stHeading").first.inner_text()
        page.screenshot(path=str(SCREENSHOTS / "document-view.png"))
        page.get_by_role("button", name="← 返回对话").first.click()
        page.get_by_test_id("stChatMessage").filter(has_text="2502.2").first.wait_for(timeout=30_000)
        page.wait_for_timeout(1000)
        assert page.get_by_test_id("stExpander").filter(has_text="[1]").first.evaluate(IN_VIEW), \
            "back in the chat at the same source"

        # A document with Markdown images and links: shown as text, nothing fetched or linked outside.
        hostile = _ask(page, "测试县2024年地区生产总值是多少", "88.8")  # the answer, not the question bubble
        for expander in page.get_by_test_id("stExpander").filter(has_text="测试县").all():
            if expander.get_attribute("open") is None and not expander.locator("details[open]").count():
                expander.locator("summary").click()
        page.wait_for_timeout(500)
        page.screenshot(path=str(SCREENSHOTS / "hostile-document.png"), full_page=True)
        assert "88.8" in hostile.inner_text()
        hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
        assert not [h for h in hrefs if "example.invalid" in h], "no link leaves the app"
        assert page.locator("img[src*='example.invalid']").count() == 0

        # A phone: tables scroll inside their box; the page itself never scrolls sideways.
        phone = context.new_page()
        phone.set_viewport_size({"width": 390, "height": 844})
        phone.goto(origin)
        _ask(phone, "拱墅2022年哪些指标未完成", "12 项")
        phone.wait_for_timeout(1000)
        overflow = phone.evaluate("""() => {
            const main = document.querySelector('[data-testid="stMain"]') || document.body;
            return Math.max(document.documentElement.scrollWidth, main.scrollWidth) - window.innerWidth; }""")
        phone.get_by_test_id("stChatMessage").filter(has_text="12 项").last.evaluate(
            "e => e.scrollIntoView({block: 'start'})")
        phone.screenshot(path=str(SCREENSHOTS / "phone-390.png"))
        assert overflow <= 1, f"the page overflows sideways by {overflow}px at 390px"
        table = phone.locator("[data-testid=stChatMessage] table").first
        assert table.evaluate("t => getComputedStyle(t).overflowX") == "auto", "a wide table scrolls in its own box"
        scrolled = table.evaluate("t => { t.scrollLeft = t.scrollWidth; return t.scrollLeft; }")
        phone.wait_for_timeout(300)
        phone.screenshot(path=str(SCREENSHOTS / "phone-390-table-scrolled.png"))
        assert scrolled > 0 and "备注" in table.inner_text(), "the 备注 column is reachable by scrolling the table"
        browser.close()
    assert not outside, f"requests left the app: {outside}"
    print(f"cold start: page drawn after {cold_page_s:.1f}s, engine ready after {cold_engine_s:.1f}s; "
          f"time from page load to first answer (warm start): {first_answer_s:.1f}s")
    assert cold_page_s <= cold_engine_s
    assert first_answer_s <= 10  # the goal is ≤ 3 s; the bound leaves room for a loaded CI machine
