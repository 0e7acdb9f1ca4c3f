"""The LLM answer path against a real HTTP server on 127.0.0.1 speaking the chat-completions stream.

No model is loaded: the hits are built from lines of a real seed document.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rag.answer.extractive import NOT_FOUND, answer_question
from rag.answer.llm import LLMError, LLMLimits, answer_with_fallback, build_messages, cite, stream_chat
from rag.config import PROJECT_ROOT, Settings
from rag.ingest.clean import clean_display_text
from rag.records import Chunk, Hit
from rag.search.query import parse_query
from rag.zh import to_search_text

SEED = PROJECT_ROOT / "seeds" / "002_f7e74dfd952d8b46.txt"
TITLE = "2022年余杭区政府工作报告"
QUESTION = "余杭2021年地区生产总值是多少"


def seed_hits() -> list[Hit]:
    return list(_seed_hits())


@cache  # cleaning the seed loads OpenCC: once per session is enough
def _seed_hits() -> tuple[Hit, ...]:
    """Three passages: real lines of the seed, the first with the GDP figure."""
    lines = [line.strip() for line in clean_display_text(SEED.read_text(encoding="utf-8")).splitlines()]
    gdp = next(line for line in lines if "2502.2" in line)
    others = [line for line in lines if len(line) > 40 and line != gdp][:2]
    hits = []
    for rank, text in enumerate([gdp, *others], start=1):
        chunk = Chunk(chunk_id=f"c{rank}", doc_id="002", kind="text", start=0, end=len(text), display_text=text,
                      body=to_search_text(text), breadcrumb=("2021年主要工作和成效",),
                      display_breadcrumb=("2021年主要工作和成效",), title=TITLE, region="余杭", years=(2022,))
        hits.append(Hit(rank=rank, score=1.0 / rank, chunk=chunk))
    return tuple(hits)


def assert_fallback(answer, reason: str) -> None:
    """The extractive answer from the same passages, with the notice naming why."""
    extractive = answer_question(parse_query(QUESTION), seed_hits())
    assert (answer.text, answer.citations, answer.found) == (extractive.text, extractive.citations, extractive.found)
    assert answer.notice.startswith("大模型服务不可用，已显示摘录式答案 (LLM unavailable: ") and reason in answer.notice


@dataclass
class Exchange:
    """What the fake server answers, and what it saw."""

    respond: Callable[[BaseHTTPRequestHandler], None]
    requests: list[dict] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)  # frees a hanging handler at teardown


def sse(handler: BaseHTTPRequestHandler, pieces: list[str], *, done: bool = True) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream")
    handler.end_headers()
    handler.wfile.write(b": keep-alive\n\n")
    for piece in pieces:
        event = {"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
        handler.wfile.write(f"data: {json.dumps(event, ensure_ascii=False)}\n\n".encode())
        handler.wfile.flush()
    if done:
        handler.wfile.write(b"data: [DONE]\n\n")


@pytest.fixture
def server() -> Iterator[Callable[[Callable[[BaseHTTPRequestHandler], None]], tuple[Settings, Exchange]]]:
    started: list[tuple[ThreadingHTTPServer, Exchange]] = []

    def start(respond: Callable[[BaseHTTPRequestHandler], None]) -> tuple[Settings, Exchange]:
        exchange = Exchange(respond)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # the body ends when the connection closes, as in a stream

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                exchange.requests.append({"path": self.path, "headers": dict(self.headers), "body": json.loads(body)})
                exchange.respond(self)

            def log_message(self, *args) -> None:  # keep pytest output clean
                pass

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        httpd.daemon_threads = True
        httpd.block_on_close = False
        # A short poll keeps shutdown() at teardown quick.
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        started.append((httpd, exchange))
        url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
        return Settings(llm_base_url=url, llm_model="qwen2.5:7b", llm_api_key="sk-test"), exchange

    yield start
    for httpd, exchange in started:
        exchange.release.set()
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch) -> None:
    # A proxy from the environment must not carry requests meant for 127.0.0.1.
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def test_messages_number_the_passages_and_state_the_rules() -> None:
    hits = seed_hits()
    system, user = build_messages(QUESTION, hits)
    assert system["role"] == "system" and user["role"] == "user"
    for rule in ("只能根据", "[n]", NOT_FOUND, "完全一致"):
        assert rule in system["content"]
    content = user["content"]
    assert f"[1] {TITLE} › 2021年主要工作和成效\n{hits[0].chunk.display_text}" in content
    assert content.index("[1] ") < content.index("[2] ") < content.index("[3] ")
    assert content.rstrip().endswith(QUESTION)


def test_grounded_answer_streams_and_cites(server) -> None:
    pieces = ["余杭区2021年", "实现地区生产总值", "2502.2亿元", "、增长7.5% [1]。", "此外……[3]"]
    settings, exchange = server(lambda h: sse(h, pieces))
    hits = seed_hits()
    tokens: list[str] = []
    answer = answer_with_fallback(parse_query(QUESTION), hits, settings, on_token=tokens.append, timeout=5)

    # What arrives together is handed on together: the same text, in at most as many pieces.
    assert "".join(tokens) == "".join(pieces) and 1 <= len(tokens) <= len(pieces)
    assert answer.text == "".join(pieces).strip()
    assert [(c.number, c.hit.chunk.chunk_id) for c in answer.citations] == [(1, "c1"), (3, "c3")]
    assert answer.found and not answer.notice

    (request,) = exchange.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == "Bearer sk-test"
    body = request["body"]
    assert body["model"] == "qwen2.5:7b" and body["stream"] is True and body["temperature"] == 0
    user = body["messages"][-1]["content"]
    assert all(h.chunk.display_text in user for h in hits) and QUESTION in user


def test_marker_to_a_missing_passage_is_dropped(server) -> None:
    settings, _ = server(lambda h: sse(h, ["生产总值2502.2亿元 [1][7]，", "增长7.5%【2，7】。"]))
    answer = answer_with_fallback(parse_query(QUESTION), seed_hits(), settings, timeout=5)
    assert [c.number for c in answer.citations] == [1, 2]
    assert "[7]" not in answer.text and answer.text == "生产总值2502.2亿元 [1]，增长7.5%[2]。"


def test_not_found_answer_shows_closest_passages(server) -> None:
    settings, _ = server(lambda h: sse(h, [NOT_FOUND]))
    answer = answer_with_fallback(parse_query("余杭2021年的降雨量是多少"), seed_hits(), settings, timeout=5)
    assert not answer.found and answer.text == NOT_FOUND
    assert [c.number for c in answer.citations] == [1, 2, 3]


def test_uncited_answer_is_not_found_with_closest_passages() -> None:
    answer = cite("问题", "余杭区实现地区生产总值2502.2亿元。", seed_hits())
    assert not answer.found and answer.text == NOT_FOUND
    assert [c.number for c in answer.citations] == [1, 2, 3] and "cited no given passage" in answer.notice


def test_http_error_falls_back_with_notice(server) -> None:
    def fail(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(500)
        handler.send_header("Content-Type", "application/json")
        handler.end_headers()
        handler.wfile.write(b'{"error": "model not loaded"}')

    settings, _ = server(fail)
    with pytest.raises(LLMError, match=r"HTTP 500 .*model not loaded"):
        list(stream_chat(settings, [{"role": "user", "content": "x"}], timeout=5))
    answer = answer_with_fallback(parse_query(QUESTION), seed_hits(), settings, timeout=5)
    assert_fallback(answer, "HTTP 500")


def test_server_silent_past_timeout_falls_back(server) -> None:
    settings, exchange = server(lambda h: exchange.release.wait(5))
    answer = answer_with_fallback(parse_query(QUESTION), seed_hits(), settings, timeout=0.3)
    assert_fallback(answer, "no response")


def test_stream_stalling_midway_falls_back_after_partial_tokens(server) -> None:
    def stall(handler: BaseHTTPRequestHandler) -> None:
        sse(handler, ["余杭区"], done=False)
        exchange.release.wait(5)

    settings, exchange = server(stall)
    tokens: list[str] = []
    answer = answer_with_fallback(parse_query(QUESTION), seed_hits(), settings, on_token=tokens.append,
                                  timeout=0.3)
    assert tokens == ["余杭区"]
    assert_fallback(answer, "no response")


def test_refused_connection_falls_back() -> None:
    with socket.socket() as probe:  # a port that was just free: nothing listens there now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = Settings(llm_base_url=f"http://127.0.0.1:{port}/v1", llm_model="m")
    answer = answer_with_fallback(parse_query(QUESTION), seed_hits(), settings, timeout=2)
    assert_fallback(answer, "cannot reach")


@pytest.mark.parametrize(("events", "reason"), [
    ([b"data: {not json}\n\n"], "malformed stream event"),
    ([b'data: {"choices": [{"delta": {"content": "\xe4\xbd\x99"}, "finish_reason": null}]}\n\n'], "stream ended"),
    ([b'data: {"error": {"message": "out of memory"}}\n\n'], "out of memory"),
])
def test_malformed_stream_falls_back(server, events: list[bytes], reason: str) -> None:
    def garble(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.end_headers()
        for event in events:
            handler.wfile.write(event)

    settings, _ = server(garble)
    with pytest.raises(LLMError):
        list(stream_chat(settings, [{"role": "user", "content": "x"}], timeout=5))
    answer = answer_with_fallback(parse_query(QUESTION), seed_hits(), settings, timeout=5)
    assert_fallback(answer, reason)


def test_no_hits_does_not_call_the_model(server) -> None:
    settings, exchange = server(lambda h: sse(h, ["编造的答案 [1]"]))
    answer = answer_with_fallback(parse_query(QUESTION), [], settings, timeout=5)
    assert not answer.found and exchange.requests == []


def test_server_ignoring_stream_flag_still_answers(server) -> None:
    def whole(handler: BaseHTTPRequestHandler) -> None:
        body = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "生产总值2502.2亿元 [1]"}}]}
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.end_headers()
        handler.wfile.write(json.dumps(body, ensure_ascii=False).encode())

    settings, _ = server(whole)
    answer = answer_with_fallback(parse_query(QUESTION), seed_hits(), settings, timeout=5)
    assert answer.text == "生产总值2502.2亿元 [1]" and [c.number for c in answer.citations] == [1] and not answer.notice


# --- bounded in time and size, whatever the server does ------------------------------------------------
# Small limits so each hostile server is cut off in about a second; every test asserts the wall time.
TIGHT = LLMLimits(connect_s=1.0, idle_s=0.5, total_s=1.5, max_body_bytes=256 << 10, max_line_bytes=32 << 10)


def event(text: str) -> bytes:
    payload = {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()


def keep_writing(handler: BaseHTTPRequestHandler, release: threading.Event, chunk: bytes, pause: float) -> None:
    """A 200 event stream that writes `chunk` every `pause` s until the client goes or the test ends."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream")
    handler.end_headers()
    while not release.is_set():
        try:
            handler.wfile.write(chunk)
            handler.wfile.flush()
        except OSError:  # the client gave up: that is the point
            return
        if pause:
            time.sleep(pause)


def timed_fallback(settings: Settings, **kwargs) -> tuple[object, float]:
    started = time.perf_counter()
    answer = answer_with_fallback(parse_query(QUESTION), seed_hits(), settings, **kwargs)
    return answer, time.perf_counter() - started


def test_endless_stream_is_cut_by_the_size_or_time_cap(server) -> None:
    settings, exchange = server(lambda h: keep_writing(h, exchange.release, event("余杭区") * 50, 0))
    answer, wall = timed_fallback(settings, limits=TIGHT)
    assert_fallback(answer, "larger than")  # 256 KiB arrive long before 1.5 s
    assert wall < 3.0


def test_endless_short_answer_stream_is_cut_by_the_answer_cap(server) -> None:
    limits = LLMLimits(connect_s=1.0, idle_s=0.5, total_s=5, max_answer_chars=2000)
    settings, exchange = server(lambda h: keep_writing(h, exchange.release, event("余杭区增长"), 0.001))
    answer, wall = timed_fallback(settings, limits=limits)
    assert_fallback(answer, "answer longer than 2000 characters")
    assert wall < 4.0


def test_dripping_stream_is_cut_by_the_total_deadline(server) -> None:
    # One small event every 0.1 s: never idle long enough for the idle deadline, never ends.
    settings, exchange = server(lambda h: keep_writing(h, exchange.release, event("余"), 0.1))
    tokens: list[str] = []
    answer, wall = timed_fallback(settings, limits=TIGHT, on_token=tokens.append)
    assert_fallback(answer, "no complete answer within 1.5 s")
    assert 1.4 < wall < 1.5 + TIGHT.idle_s + 1.0
    assert tokens and len(tokens) <= wall / TIGHT.emit_interval_s + 2  # updates reach the caller at a bounded rate


def test_body_without_newlines_is_refused_not_buffered(server) -> None:
    # `data: xxxx…` forever, no newline: memory would grow with every byte if lines were buffered whole.
    def endless_line(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.end_headers()
        handler.wfile.write(b"data: ")
        keep_writing_raw(handler, exchange.release, b"x" * 8192)

    settings, exchange = server(endless_line)
    answer, wall = timed_fallback(settings, limits=TIGHT)
    assert_fallback(answer, "stream line longer than 32768 bytes")
    assert wall < 3.0


def keep_writing_raw(handler: BaseHTTPRequestHandler, release: threading.Event, chunk: bytes) -> None:
    while not release.is_set():
        try:
            handler.wfile.write(chunk)
            handler.wfile.flush()
        except OSError:
            return


def test_json_body_without_end_is_capped(server) -> None:
    def endless_json(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.end_headers()
        keep_writing_raw(handler, exchange.release, b'{"choices": [' * 1000)

    settings, exchange = server(endless_json)
    answer, wall = timed_fallback(settings, limits=TIGHT)
    assert_fallback(answer, "larger than")
    assert wall < 3.0


def test_hang_before_headers_is_cut_by_the_idle_deadline(server) -> None:
    settings, exchange = server(lambda h: exchange.release.wait(10))
    answer, wall = timed_fallback(settings, limits=TIGHT)
    assert_fallback(answer, "no response")
    assert wall < TIGHT.idle_s + 1.0


def test_http_500_is_bounded_even_with_an_endless_error_body(server) -> None:
    def fail(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(500)
        handler.send_header("Content-Type", "text/plain")
        handler.end_headers()
        handler.wfile.write(b"internal error ")
        keep_writing_raw(handler, exchange.release, b"e" * 4096)

    settings, exchange = server(fail)
    answer, wall = timed_fallback(settings, limits=TIGHT)
    assert_fallback(answer, "HTTP 500")
    assert len(answer.notice) < 400 and wall < 3.0


def test_answer_citing_only_a_missing_passage_is_not_found(server) -> None:
    settings, _ = server(lambda h: sse(h, ["余杭区2021年实现地区生产总值2502.2亿元 [99]。"]))
    answer, wall = timed_fallback(settings, limits=TIGHT)
    assert not answer.found and answer.text == NOT_FOUND and answer.method == "llm"
    assert [c.number for c in answer.citations] == [1, 2, 3]  # the closest passages, for reference
    assert "cited no given passage" in answer.notice and wall < 3.0


def test_answer_with_no_citation_is_not_found(server) -> None:
    settings, _ = server(lambda h: sse(h, ["余杭区2021年实现地区生产总值2502.2亿元。"]))
    answer, _ = timed_fallback(settings, limits=TIGHT)
    assert not answer.found and answer.text == NOT_FOUND and [c.number for c in answer.citations] == [1, 2, 3]
    assert "cited no given passage" in answer.notice


def test_sentence_with_a_number_not_in_the_cited_passages_is_dropped(server) -> None:
    # 2600 is in no passage; 2502.2 and 7.5% are in passage 1, 67 in passage 3, 2021 in the question.
    text = "余杭区2021年实现地区生产总值2502.2亿元、增长7.5% [1]。财政总收入2600亿元[1]。整体搬遷67家单位[3]。"
    settings, _ = server(lambda h: sse(h, [text]))
    answer, _ = timed_fallback(settings, limits=TIGHT)
    assert answer.found and answer.method == "llm"
    assert answer.text == "余杭区2021年实现地区生产总值2502.2亿元、增长7.5% [1]。整体搬遷67家单位[3]。"
    assert [c.number for c in answer.citations] == [1, 3]
    assert "2600" in answer.notice and "dropped 1 sentence" in answer.notice


def test_number_cited_from_the_wrong_passage_only_is_dropped() -> None:
    # 2502.2 is in passage 1, but this answer cites only passage 2: nothing supports the figure.
    answer = cite(QUESTION, "地区生产总值2502.2亿元[2]。", seed_hits())
    assert not answer.found and answer.text == NOT_FOUND and "2502.2" in answer.notice


def test_numbers_are_compared_as_numbers() -> None:
    # Full-width digits, thousands separators and trailing zeros do not make a figure "new".
    answer = cite(QUESTION, "地区生产总值２,502.20亿元，增长7.50%。[1]", seed_hits())
    assert answer.found and not answer.notice and [c.number for c in answer.citations] == [1]


def test_credentials_never_appear_in_the_notice(server) -> None:
    def echo_key(handler: BaseHTTPRequestHandler) -> None:  # servers do quote a bad key back
        handler.send_response(401)
        handler.send_header("Content-Type", "application/json")
        handler.end_headers()
        handler.wfile.write(f'{{"error": "invalid key {handler.headers["Authorization"]}"}}'.encode())

    settings, _ = server(echo_key)
    settings = Settings(llm_base_url=settings.llm_base_url.replace("http://", "http://alice:hunter22@"),
                        llm_model="m", llm_api_key="sk-secret-123456")
    answer, _ = timed_fallback(settings, limits=TIGHT)
    assert_fallback(answer, "HTTP 401")
    assert "sk-secret-123456" not in answer.notice and "hunter22" not in answer.notice
    with pytest.raises(LLMError) as raised:  # the error itself, as a caller or a log would see it
        list(stream_chat(settings, [{"role": "user", "content": "x"}], limits=TIGHT))
    assert "HTTP 401" in str(raised.value) and "sk-secret-123456" not in str(raised.value)
    assert "sk-secret-123456" not in repr(settings)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    refused = Settings(llm_base_url=f"http://bob:pw-9876543@127.0.0.1:{port}/v1?key=sk-query-key", llm_model="m",
                       llm_api_key="sk-secret-123456")
    answer = answer_with_fallback(parse_query(QUESTION), seed_hits(), refused, limits=TIGHT)
    assert_fallback(answer, "cannot reach")
    assert not any(s in answer.notice for s in ("pw-9876543", "sk-query-key", "sk-secret-123456"))


def test_list_numbering_is_not_taken_for_a_figure() -> None:
    text = "1. 地区生产总值2502.2亿元[1]。\n2、财政总收入745.31亿元[1]。\n(3) 完成67家单位整体搬遷[3]。"
    answer = cite(QUESTION, text, seed_hits())
    assert answer.found and not answer.notice and answer.text == text
