"""The answer evaluation runs on LLM answers too: a local OpenAI-compatible stub stands in for the endpoint."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rag.answer.llm import answer_with_fallback
from rag.config import PROJECT_ROOT, Settings
from rag.evaluation.metrics import Question, evaluate_answers
from rag.ingest.clean import clean_display_text
from rag.records import Chunk, Hit
from rag.search.query import parse_query
from rag.zh import to_search_text

SEED = PROJECT_ROOT / "seeds" / "002_f7e74dfd952d8b46.txt"


def _hits() -> list[Hit]:
    """Two real lines of 002 (余杭, Traditional): the GDP figures first."""
    lines = [line.strip() for line in clean_display_text(SEED.read_text(encoding="utf-8")).splitlines()]
    gdp = next(line for line in lines if "2502.2" in line)
    other = next(line for line in lines if len(line) > 40 and line != gdp)
    return [Hit(rank, 1.0 / rank, Chunk(f"002#{rank}", "002", "text", 0, len(text), text, to_search_text(text),
                                        region="余杭区", years=(2021, 2022)))
            for rank, text in enumerate([gdp, other], start=1)]


@pytest.fixture
def stub(monkeypatch):
    """An OpenAI-compatible streaming endpoint that answers with the text it is given."""
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    reply: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            event = {"choices": [{"index": 0, "delta": {"content": reply[0]}, "finish_reason": None}]}
            self.wfile.write(f"data: {json.dumps(event, ensure_ascii=False)}\n\ndata: [DONE]\n\n".encode())

        def log_message(self, *args) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    settings = Settings(llm_base_url=f"http://127.0.0.1:{httpd.server_address[1]}/v1", llm_model="stub")
    yield settings, reply
    httpd.shutdown()
    httpd.server_close()


def test_llm_answers_are_judged_like_extractive_ones(stub) -> None:
    settings, reply = stub
    question = Question("num-001", "余杭区2021年地区生产总值是多少", "number", ("002",), ("2502.2亿元",), ("2502.2亿元",))
    hits = _hits()

    def ask(text: str):
        return answer_with_fallback(parse_query(text, ["余杭区"]), hits, settings)

    reply[:] = ["余杭区2021年地区生产总值为2502.2亿元，增长7.5%。[1]"]
    good = evaluate_answers([question], ask)
    assert good["accuracy"] == 1.0 and good["unsupported_numbers"] == 0
    reply[:] = ["余杭区2021年地区生产总值为2502.2亿元。[2]"]  # cites a passage without the figure
    assert evaluate_answers([question], ask)["accuracy"] == 0.0
