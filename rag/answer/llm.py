"""Grounded answers from an OpenAI-compatible chat endpoint (Ollama, vLLM, llama.cpp, OpenAI …).

The model sees only the retrieved passages, numbered [1]..[n], and must cite them with [n]. Its
text is streamed; the final `Answer` cites exactly the passages the text cites, so a marker the
model made up (e.g. [7] with three passages) never becomes a source, and an answer that cites no
given passage is not an answer ("not found", with the closest passages). Every number in the
answer must appear in the passages it cites (or in the question): a sentence with a number from
nowhere is dropped and the notice says so — a figure is what users copy, so a wrong one is worse
than a shorter answer.

The client is bounded in time and space whatever the server does (`LLMLimits`): a connect
deadline, an idle deadline (no bytes for that long), a total deadline, a cap on the bytes of the
body and of one stream line (a body without newlines cannot grow memory), and a cap on the answer's
characters. Pieces that arrive together are passed on together, at most every `emit_interval_s`,
so a caller that re-renders the text so far does bounded work. Any failure — refused, timed out,
too large, HTTP error, garbled stream — is an `LLMError`, and `answer_with_fallback` then shows the
extractive answer with a visible notice instead. The API key never appears in an error message.

Configure with `RAG_LLM_BASE_URL` (the URL that ends before `/chat/completions`, e.g.
`http://localhost:11434/v1` for Ollama), `RAG_LLM_MODEL` and optionally `RAG_LLM_API_KEY`.
"""

from __future__ import annotations

import json
import re
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from rag.answer.extractive import NOT_FOUND, answer_question
from rag.config import Settings
from rag.records import Answer, Citation, Hit, Query

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True)
class LLMLimits:
    """How long and how much the client waits for and accepts from the server.

    A local model on a CPU may think a while before its first token (idle_s), but no answer of a
    few sentences needs minutes or megabytes: past these bounds the extractive answer is shown.
    The total deadline is checked whenever bytes arrive, so the whole exchange ends within
    total_s + idle_s at worst (a server that sends nothing is cut by the idle deadline).
    """

    connect_s: float = 10.0
    idle_s: float = 60.0
    total_s: float = 180.0
    max_body_bytes: int = 2 << 20  # the whole streamed body (SSE framing is ~5x the text)
    max_line_bytes: int = 256 << 10  # one `data:` line, i.e. one event
    max_answer_chars: int = 12_000
    emit_interval_s: float = 0.05  # at most ~20 updates a second reach the caller


DEFAULT_LIMITS = LLMLimits()
DEFAULT_TIMEOUT = DEFAULT_LIMITS.idle_s  # kept for callers that pass one number
FALLBACK_NOTICE = "大模型服务不可用，已显示摘录式答案 (LLM unavailable: {reason})"
UNCITED_NOTICE = "大模型的回答没有引用所给段落，未予采用 (the LLM's answer cited no given passage, so it is not shown)"
DROPPED_NOTICE = ("已删去含有所引段落中没有的数字的句子：{numbers} "
                  "(dropped {count} sentence(s) with numbers not in the cited passages)")

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
_PLAIN_MARKERS = re.compile(r"^(?:\s*\[\d+\])+")  # markers at the start of a sentence belong to the one before
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;\n])")
_DIGITS = re.compile(r"\d+(?:\.\d+)?")
_THOUSANDS = re.compile(r"(?<=\d)[,，](?=\d{3}(?!\d))")
# "1. …", "2、…", "(3) …" at the start of a line number the answer's own list, not a figure to check.
_ENUMERATOR = re.compile(r"(?m)^\s*(?:[(（]\d{1,2}[)）]|\d{1,2}[.、．)）](?!\d))")


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
    # identity: a compressed body could expand past every size cap before we see it.
    headers = {"Content-Type": "application/json", "Accept": "text/event-stream", "Accept-Encoding": "identity"}
    if settings.llm_api_key:
        headers["Authorization"] = f"Bearer {settings.llm_api_key}"
    return headers


def safe_url(url: str) -> str:
    """The URL without user:password and without a query string (either may carry a key)."""
    try:
        parts = urlsplit(url)
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    except ValueError:
        return "<the configured LLM URL>"


def scrub(message: str, settings: Settings) -> str:
    """`message` with the API key and the URL's credentials removed, for notices and logs."""
    secrets = [settings.llm_api_key]
    try:
        parts = urlsplit(settings.llm_base_url)
        secrets += [parts.password or "", parts.username or "", parts.query]
    except ValueError:
        pass
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        message = message.replace(secret, "***")
    return re.sub(r"(?i)(bearer\s+)\S+", r"\1***", message)


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


class _Body:
    """The response body read under the limits: bytes counted, total deadline checked per read."""

    def __init__(self, response: httpx.Response, limits: LLMLimits, deadline: float) -> None:
        self.response = response
        self.limits = limits
        self.deadline = deadline
        self.received = 0

    def chunks(self) -> Iterator[bytes]:
        for chunk in self.response.iter_bytes():
            self.received += len(chunk)
            if self.received > self.limits.max_body_bytes:
                raise LLMError(f"response larger than {self.limits.max_body_bytes} bytes")
            if time.monotonic() > self.deadline:
                raise LLMError(f"no complete answer within {self.limits.total_s:g} s")
            yield chunk

    def head(self, size: int = 2048) -> str:
        """The first `size` bytes of the body (for an error message), without reading the rest."""
        out = bytearray()
        for chunk in self.chunks():
            out += chunk
            if len(out) >= size:
                break
        return out[:size].decode("utf-8", "replace").strip()

    def lines(self) -> Iterator[list[bytes]]:
        """The complete lines of each read, together; a line longer than the cap is an error.

        Only the new bytes are searched for a newline, so a long line costs linear time.
        """
        pending = bytearray()
        for chunk in self.chunks():
            start = len(pending)
            pending += chunk
            lines: list[bytes] = []
            cut = 0
            at = pending.find(b"\n", start)
            while at != -1:
                lines.append(bytes(pending[cut:at]).rstrip(b"\r"))
                cut = at + 1
                at = pending.find(b"\n", cut)
            del pending[:cut]
            if len(pending) > self.limits.max_line_bytes:
                raise LLMError(f"stream line longer than {self.limits.max_line_bytes} bytes")
            yield lines
        if pending:
            yield [bytes(pending)]


def _limits(timeout: float | None, limits: LLMLimits | None) -> LLMLimits:
    limits = limits or DEFAULT_LIMITS
    if timeout is not None:  # one number: how long to wait for a connection and for each next byte
        limits = replace(limits, connect_s=min(limits.connect_s, timeout), idle_s=timeout)
    return limits


def stream_chat(settings: Settings, messages: list[dict[str, str]], *, timeout: float | None = None,
                limits: LLMLimits | None = None) -> Iterator[str]:
    """POST a streaming chat completion and yield the content as it arrives, within `limits`.

    What arrives in one network read is yielded as one piece.
    """
    import httpx  # here, not at the top: only an LLM answer needs it, and every start-up would pay for it

    limits = _limits(timeout, limits)
    url = settings.llm_base_url.rstrip("/") + "/chat/completions"
    shown = safe_url(url)
    body = {"model": settings.llm_model, "messages": messages, "stream": True, "temperature": 0}
    deadline = time.monotonic() + limits.total_s
    wait = min(limits.idle_s, limits.total_s)  # a silent server must not outlast the total deadline
    http_timeout = httpx.Timeout(connect=min(limits.connect_s, limits.total_s), read=wait, write=wait,
                                 pool=limits.connect_s)
    chars = 0
    try:
        with httpx.stream("POST", url, json=body, headers=_headers(settings), timeout=http_timeout) as response:
            reader = _Body(response, limits, deadline)
            if response.status_code >= 400:
                raise LLMError(f"HTTP {response.status_code} from {shown}: {reader.head(200)}")
            if response.headers.get("content-type", "").startswith("application/json"):
                # A server that ignores "stream": true answers with one JSON body: take it whole (capped).
                raw = b"".join(reader.chunks())
                try:
                    content = json.loads(raw)["choices"][0]["message"]["content"]
                except (ValueError, KeyError, TypeError, IndexError) as exc:
                    raise LLMError(f"malformed response: {raw[:200].decode('utf-8', 'replace')!r}") from exc
                if not isinstance(content, str):
                    raise LLMError("malformed response: the message has no text")
                if len(content) > limits.max_answer_chars:
                    raise LLMError(f"answer longer than {limits.max_answer_chars} characters")
                if content:
                    yield content
                return
            finished = done_marker = False
            for lines in reader.lines():
                pieces: list[str] = []
                for raw_line in lines:
                    line = raw_line.decode("utf-8", "replace")
                    if not line.startswith("data:"):
                        continue  # blank separators, `event:` and `: keep-alive` comments
                    data = line[len("data:"):].strip()
                    if data == "[DONE]":
                        finished = done_marker = True
                        break
                    content, done = _delta(data)
                    finished = finished or done
                    if content:
                        pieces.append(content)
                if pieces:
                    text = "".join(pieces)
                    chars += len(text)
                    if chars > limits.max_answer_chars:
                        raise LLMError(f"answer longer than {limits.max_answer_chars} characters")
                    yield text
                if done_marker:
                    return
            if not finished:  # neither [DONE] nor a finish_reason: the stream was cut off
                raise LLMError("stream ended before the answer was complete")
    except LLMError as exc:  # an error body or a garbled event may quote the key back: never pass it on
        raise LLMError(scrub(str(exc), settings)) from None
    except httpx.TimeoutException:
        if time.monotonic() > deadline:
            raise LLMError(f"no complete answer within {limits.total_s:g} s") from None
        raise LLMError(f"no response from {shown} within {limits.idle_s:g} s") from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        # `from None`: httpx's own exception text may quote the full URL, credentials included.
        raise LLMError(scrub(f"cannot reach {shown}: {type(exc).__name__}: {exc}", settings)) from None


# --- citations and numbers ------------------------------------------------------------------------------
def _canonical(number: str) -> str:
    whole, _, frac = number.partition(".")
    whole = whole.lstrip("0") or "0"
    frac = frac.rstrip("0")
    return f"{whole}.{frac}" if frac else whole


def numbers_in(text: str) -> set[str]:
    """The digit numbers of `text`, canonical (full-width digits, 1,234 and 7.50 all folded)."""
    text = _THOUSANDS.sub("", unicodedata.normalize("NFKC", text))
    return {_canonical(n) for n in _DIGITS.findall(text)}


def _sentences(text: str) -> list[str]:
    """`text` in sentences, each keeping the markers written right after its full stop."""
    parts = [p for p in _SENTENCE_END.split(text) if p]
    out: list[str] = []
    for part in parts:
        lead = _PLAIN_MARKERS.match(part)
        if lead and out:
            out[-1] += lead.group(0)
            part = part[lead.end():]
        if part:
            out.append(part)
    return out


def _cited_numbers(text: str) -> set[int]:
    return {int(n) for n in re.findall(r"\[(\d+)\]", text)}


def cite(question: str, text: str, hits: list[Hit]) -> Answer:
    """The final answer: markers that name no passage are removed, the rest become its citations.

    An answer citing no given passage is "not found" with the closest passages; a sentence with a
    number that none of the cited passages (nor the question) contains is dropped, and said so.
    """
    def keep_valid(match: re.Match[str]) -> str:
        numbers = [int(n) for n in re.split(r"\s*[,，、]\s*", match.group(1))]
        valid = [n for n in dict.fromkeys(numbers) if 1 <= n <= len(hits)]
        return "".join(f"[{n}]" for n in valid)  # the plain [n] shape the app's highlighting expects

    text = _MARKER.sub(keep_valid, text).strip()
    closest = tuple(Citation(i + 1, h) for i, h in enumerate(hits[:3]))
    cited = _cited_numbers(text)
    if not cited:
        # Like the extractive answer: admit it, and show the closest passages for reference.
        notice = "" if (NOT_FOUND in text or not text) else UNCITED_NOTICE
        return Answer(question, NOT_FOUND, closest, found=False, notice=notice)

    sources = [hits[n - 1].chunk for n in sorted(cited)]
    known = numbers_in(question)
    for chunk in sources:  # what the model was shown: heading, title and text
        known |= numbers_in(f"{chunk.display_section}\n{chunk.display_text}\n{chunk.body}")
    kept: list[str] = []
    unsupported: list[str] = []
    for sentence in _sentences(text):
        claims = _ENUMERATOR.sub("", re.sub(r"\[\d+\]", "", sentence))
        missing = sorted(numbers_in(claims) - known)
        if missing:
            unsupported.extend(m for m in missing if m not in unsupported)
        else:
            kept.append(sentence)
    notice = ""
    if unsupported:
        notice = DROPPED_NOTICE.format(numbers="、".join(unsupported), count=len(_sentences(text)) - len(kept))
        text = "".join(kept).strip()
        cited = _cited_numbers(text)
        if not cited:
            return Answer(question, NOT_FOUND, closest, found=False, notice=notice)
    citations = tuple(Citation(n, hits[n - 1]) for n in sorted(cited))
    return Answer(question, text, citations, found=True, notice=notice)


class GroundedAnswer:
    """Iterate for the streamed text pieces; afterwards `.answer` holds the cited `Answer`.

    Iterable rather than a plain generator so it can go straight into `st.write_stream`. Pieces
    are joined once at the end (never re-joined per piece), and handed on at most every
    `limits.emit_interval_s`, so re-rendering what was streamed so far stays cheap.
    """

    def __init__(self, question: str, hits: list[Hit], settings: Settings, *, timeout: float | None = None,
                 limits: LLMLimits | None = None):
        self.question = question
        self.hits = hits
        self.settings = settings
        self.limits = _limits(timeout, limits)
        self.answer: Answer | None = None

    def __iter__(self) -> Iterator[str]:
        pieces: list[str] = []
        held: list[str] = []
        last_emit = 0.0
        for piece in stream_chat(self.settings, build_messages(self.question, self.hits), limits=self.limits):
            pieces.append(piece)
            held.append(piece)
            now = time.monotonic()
            if now - last_emit >= self.limits.emit_interval_s:
                last_emit = now
                yield "".join(held)
                held.clear()
        if held:
            yield "".join(held)
        text = "".join(pieces)
        if not text.strip():
            raise LLMError("the model returned an empty answer")
        self.answer = cite(self.question, text, self.hits)


def grounded_answer(question: str, hits: list[Hit], settings: Settings, *, timeout: float | None = None,
                    limits: LLMLimits | None = None) -> GroundedAnswer:
    return GroundedAnswer(question, hits, settings, timeout=timeout, limits=limits)


def answer_with_fallback(query: Query, hits: list[Hit], settings: Settings, *,
                         on_token: Callable[[str], None] | None = None, timeout: float | None = None,
                         limits: LLMLimits | None = None) -> Answer:
    """The LLM's grounded answer, streaming pieces to `on_token`; the extractive one if it fails.

    A failure may come after some pieces were streamed: callers should show the returned answer
    in place of what they streamed, not after it.
    """
    if not hits or query.unknown_places:  # nothing to ground on, or another place: the model could only invent
        return answer_question(query, hits)
    stream = grounded_answer(query.raw, hits, settings, timeout=timeout, limits=limits)
    try:
        for piece in stream:
            if on_token:
                on_token(piece)
    except LLMError as exc:
        fallback = answer_question(query, hits)
        return replace(fallback, notice=FALLBACK_NOTICE.format(reason=scrub(str(exc), settings)))
    assert stream.answer is not None  # set once the stream completes without error
    return replace(stream.answer, query=query, method="llm")
