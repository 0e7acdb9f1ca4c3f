"""Grounded answers from an OpenAI-compatible chat endpoint (Ollama, vLLM, llama.cpp, OpenAI …).

The model sees only the retrieved passages, numbered [1]..[n], and must cite them with [n]. Its
text is streamed token by token; the final `Answer` cites exactly the passages the text cites, so
a marker the model made up (e.g. [7] with three passages) never becomes a source. Any failure of
the endpoint — refused, timed out, HTTP error, garbled stream — is an `LLMError`, and
`answer_with_fallback` then shows the extractive answer with a visible notice instead.

Configure with `RAG_LLM_BASE_URL` (the URL that ends before `/chat/completions`, e.g.
`http://localhost:11434/v1` for Ollama), `RAG_LLM_MODEL` and optionally `RAG_LLM_API_KEY`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import replace

import httpx

from rag.answer.extractive import NOT_FOUND, answer_question
from rag.config import Settings
from rag.records import Answer, Citation, Hit, Query

# Seconds to connect, and to wait for each next piece of the stream. Not a limit on the whole
# answer: a long answer that keeps streaming is fine, a server that goes silent is not.
DEFAULT_TIMEOUT = 60.0
FALLBACK_NOTICE = "大模型服务不可用，已显示摘录式答案 (LLM unavailable: {reason})"

SYSTEM_PROMPT = (
    "你是政府文件问答助手。只能根据用户提供的编号段落回答问题，不得使用段落以外的知识或自行推测。\n"
    "要求：\n"
    "1. 每一句陈述后用 [n] 标注其依据的段落编号，n 必须是下面给出的段落编号，例如 [1] 或 [2][3]。\n"
    f"2. 如果这些段落不能回答问题，只回答「{NOT_FOUND}」，不要编造。\n"
    "3. 数字、百分比、金额和单位必须与段落原文完全一致，不得换算、四舍五入或改写。\n"
    "4. 使用中文回答，简洁准确。"
)

# [1]  [1, 2]  [1，2、3]  【1】 — models write citation markers in all these shapes.
_MARKER = re.compile(r"[\[【]\s*(\d+(?:\s*[,，、]\s*\d+)*)\s*[\]】]")


class LLMError(RuntimeError):
    """The LLM endpoint could not give an answer; the message says why, for the fallback notice."""


def build_messages(question: str, hits: list[Hit]) -> list[dict[str, str]]:
    """System rules plus one user message: the passages numbered by position, then the question."""
    passages = []
    for number, hit in enumerate(hits, start=1):
        chunk = hit.chunk
        passages.append(f"[{number}] {chunk.display_section}\n{chunk.display_text}")
    user = "段落：\n\n" + "\n\n".join(passages) + f"\n\n问题：{question}"
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def _headers(settings: Settings) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
    if settings.llm_api_key:
        headers["Authorization"] = f"Bearer {settings.llm_api_key}"
    return headers


def _delta(data: str) -> tuple[str, bool]:
    """(text, finished) from one `data:` payload of the stream."""
    try:
        event = json.loads(data)
        if "error" in event:  # some servers report failures inside a 200 stream
            raise LLMError(f"server error in stream: {str(event['error'])[:200]}")
        choice = event["choices"][0] if event["choices"] else {}
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise LLMError(f"malformed stream event: {data[:200]!r}") from exc
    content = (choice.get("delta") or {}).get("content") or ""
    return content, bool(choice.get("finish_reason"))


def stream_chat(settings: Settings, messages: list[dict[str, str]], *, timeout: float = DEFAULT_TIMEOUT) -> Iterator[str]:
    """POST a streaming chat completion and yield the content pieces as they arrive."""
    url = settings.llm_base_url.rstrip("/") + "/chat/completions"
    body = {"model": settings.llm_model, "messages": messages, "stream": True, "temperature": 0}
    try:
        with httpx.stream("POST", url, json=body, headers=_headers(settings), timeout=timeout) as response:
            if response.status_code >= 400:
                snippet = response.read().decode("utf-8", "replace").strip()[:200]
                raise LLMError(f"HTTP {response.status_code} from {url}: {snippet}")
            if response.headers.get("content-type", "").startswith("application/json"):
                # A server that ignores "stream": true answers with one JSON body: take it whole.
                response.read()
                try:
                    content = response.json()["choices"][0]["message"]["content"]
                except (ValueError, KeyError, TypeError, IndexError) as exc:
                    raise LLMError(f"malformed response: {response.text[:200]!r}") from exc
                if content:
                    yield content
                return
            finished = False
            for line in response.iter_lines():
                if not line.startswith("data:"):
                    continue  # blank separators, `event:` and `: keep-alive` comments
                data = line[len("data:"):].strip()
                if data == "[DONE]":
                    return
                content, done = _delta(data)
                finished = finished or done
                if content:
                    yield content
            if not finished:  # neither [DONE] nor a finish_reason: the stream was cut off
                raise LLMError("stream ended before the answer was complete")
    except httpx.TimeoutException as exc:
        raise LLMError(f"no response from {url} within {timeout:g} s") from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise LLMError(f"cannot reach {url}: {exc or type(exc).__name__}") from exc


def cite(question: str, text: str, hits: list[Hit]) -> Answer:
    """The final answer: markers that name no passage are removed, the rest become its citations."""
    cited: set[int] = set()

    def keep_valid(match: re.Match[str]) -> str:
        numbers = [int(n) for n in re.split(r"\s*[,，、]\s*", match.group(1))]
        valid = [n for n in dict.fromkeys(numbers) if 1 <= n <= len(hits)]
        cited.update(valid)
        return "".join(f"[{n}]" for n in valid)  # the plain [n] shape the app's highlighting expects

    text = _MARKER.sub(keep_valid, text).strip()
    citations = tuple(Citation(n, hits[n - 1]) for n in sorted(cited))
    if citations:
        return Answer(question, text, citations, found=True)
    if NOT_FOUND in text or not text:
        # Like the extractive answer: admit it, and show the closest passages for reference.
        closest = tuple(Citation(i + 1, h) for i, h in enumerate(hits[:3]))
        return Answer(question, text or NOT_FOUND, closest, found=False)
    return Answer(question, text, (), found=True)


class GroundedAnswer:
    """Iterate for the streamed text pieces; afterwards `.answer` holds the cited `Answer`.

    Iterable rather than a plain generator so it can go straight into `st.write_stream`.
    """

    def __init__(self, question: str, hits: list[Hit], settings: Settings, *, timeout: float = DEFAULT_TIMEOUT):
        self.question = question
        self.hits = hits
        self.settings = settings
        self.timeout = timeout
        self.answer: Answer | None = None

    def __iter__(self) -> Iterator[str]:
        pieces: list[str] = []
        for piece in stream_chat(self.settings, build_messages(self.question, self.hits), timeout=self.timeout):
            pieces.append(piece)
            yield piece
        if not "".join(pieces).strip():
            raise LLMError("the model returned an empty answer")
        self.answer = cite(self.question, "".join(pieces), self.hits)


def grounded_answer(question: str, hits: list[Hit], settings: Settings, *,
                    timeout: float = DEFAULT_TIMEOUT) -> GroundedAnswer:
    return GroundedAnswer(question, hits, settings, timeout=timeout)


def answer_with_fallback(query: Query, hits: list[Hit], settings: Settings, *,
                         on_token: Callable[[str], None] | None = None, timeout: float = DEFAULT_TIMEOUT) -> Answer:
    """The LLM's grounded answer, streaming pieces to `on_token`; the extractive one if it fails.

    A failure may come after some pieces were streamed: callers should show the returned answer
    in place of what they streamed, not after it.
    """
    if not hits or query.unknown_places:  # nothing to ground on, or another place: the model could only invent
        return answer_question(query, hits)
    stream = grounded_answer(query.raw, hits, settings, timeout=timeout)
    try:
        for piece in stream:
            if on_token:
                on_token(piece)
    except LLMError as exc:
        fallback = answer_question(query, hits)
        return replace(fallback, notice=FALLBACK_NOTICE.format(reason=exc))
    assert stream.answer is not None  # set once the stream completes without error
    return replace(stream.answer, query=query, method="llm")
