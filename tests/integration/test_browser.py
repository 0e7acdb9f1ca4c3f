"""The real app served on localhost, driven in headless Chromium (Debian's `chromium`, via Playwright).

A person's path: open the page, type a question, see the answer and a cited passage. A screenshot
is saved under artifacts/screenshots/ (git-ignored) for looking at.
"""

from __future__ import annotations

import os
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def served_app(seed_index):
    port = _free_port()
    env = {**os.environ, "RAG_INDEX_DIR": str(seed_index), "RAG_EMBED_MODEL": "multilingual-e5-small"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(PROJECT_ROOT / "app.py"), "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
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
        pytest.fail("streamlit did not start: " + (proc.stdout.read() if proc.stdout else ""))
    yield url
    proc.terminate()
    proc.wait(timeout=20)


def test_ask_in_browser_and_see_cited_passage(served_app):
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "Debian's chromium is needed: apt-get install chromium (the Makefile's test target does it)"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        started = time.time()
        page.goto(served_app)
        box = page.get_by_test_id("stChatInputTextArea")
        box.wait_for(timeout=180_000)  # first load builds the engine: model + index
        box.fill("余杭区2021年地区生产总值是多少")
        box.press("Enter")
        answer = page.get_by_test_id("stChatMessage").filter(has_text="2502.2").first
        answer.wait_for(timeout=120_000)
        first_answer_s = time.time() - started
        expander = page.get_by_test_id("stExpander").filter(has_text="[1]").first
        expander.wait_for(timeout=30_000)
        assert "余杭" in expander.inner_text()
        assert page.locator("mark").count() > 0  # terms highlighted in the cited passage
        page.screenshot(path=str(SCREENSHOTS / "chat-answer.png"), full_page=True)
        browser.close()
    print(f"time to first answer after page load: {first_answer_s:.1f}s")
