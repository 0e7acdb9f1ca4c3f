"""Answers with numbered citations, built only from retrieved passages.

Without an LLM the answer is extractive: the sentences (or table rows) of the top passages that
contain what was asked — its key terms, and a number when a number is asked for — each followed
by its citation marker. When no passage answers, it says 「未在文档中找到」 and shows the closest
passages instead of inventing a sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.clean import normalize_query
from rag.query import parse_query
from rag.records import Answer, Citation, Hit
from rag.tokenize import tokenize

NOT_FOUND = "未在文档中找到"
# Words that say *what kind* of answer is wanted, not what it is about.
QUESTION_WORDS = frozenset("哪些 多少 几 什么 如何 怎样 怎么 是否 哪个 哪 谁 为 是 要 有 完成 情况 主要".split())
_ASKS_NUMBER = re.compile(r"多少|几|比重|增长|增速|总额|总值|收入|规模|率")
_SENTENCE = re.compile(r"[^。；！？\n]+[。；！？]?")
_NUMBER = re.compile(r"\d")


@dataclass(frozen=True)
class Sentence:
    hit: Hit
    display: str
    score: float


def key_terms(question: str) -> list[str]:
    seen: list[str] = []
    for token in tokenize(normalize_query(question)):
        if token not in QUESTION_WORDS and token not in seen and not token.isdigit():
            seen.append(token)
    return seen


def _sentences(hit: Hit) -> list[tuple[str, str]]:
    """(display, search) pairs of the sentences of a hit; a table row is one sentence."""
    chunk = hit.chunk
    search_body = chunk.search_text.split("\n", 1)[-1]
    if chunk.kind.startswith("table") or len(search_body) != len(chunk.display_text):
        return [(chunk.display_text, search_body)]
    pairs = []
    for match in _SENTENCE.finditer(chunk.display_text):
        display = match.group(0).strip()
        if len(display) >= 4:
            pairs.append((display, search_body[match.start() : match.end()].strip()))
    return pairs


def pick_sentences(question: str, hits: list[Hit], *, max_hits: int = 5, max_sentences: int = 4) -> list[Sentence]:
    terms = key_terms(question)
    if not terms:
        return []
    wants_number = bool(_ASKS_NUMBER.search(question))
    years = {str(y) for y in parse_query(question).years}
    picked: list[Sentence] = []
    for hit in hits[:max_hits]:
        context = hit.chunk.section + " " + hit.chunk.region
        for display, search in _sentences(hit):
            matched = [t for t in terms if t in search]
            in_context = [t for t in terms if t not in search and t in context]
            coverage = (len(matched) + 0.5 * len(in_context)) / len(terms)
            if not matched or coverage < 0.5:
                continue
            if wants_number and not _NUMBER.search(search):
                continue
            if years and not any(y in search or y in context or int(y) in hit.chunk.years for y in years):
                continue
            score = coverage + 0.2 / hit.rank + (0.3 if years and any(y in search for y in years) else 0.0)
            picked.append(Sentence(hit, display, score))
    picked.sort(key=lambda s: -s.score)
    if picked:  # keep only sentences nearly as good as the best: an answer, not a reading list
        picked = [s for s in picked if s.score >= 0.75 * picked[0].score]
    unique: list[Sentence] = []
    for sentence in picked:
        if all(sentence.display not in other.display and other.display not in sentence.display for other in unique):
            unique.append(sentence)
        if len(unique) >= max_sentences:
            break
    return unique


def answer_question(question: str, hits: list[Hit]) -> Answer:
    """An extractive answer with [n] markers, or an honest 「未在文档中找到」."""
    sentences = pick_sentences(question, hits)
    if not sentences:
        closest = tuple(Citation(i + 1, h) for i, h in enumerate(hits[:3]))
        text = f"{NOT_FOUND}能直接回答该问题的内容。以下是最接近的段落，供参考。" if hits else f"{NOT_FOUND}相关内容。"
        return Answer(question, text, closest, found=False)
    numbers: dict[str, int] = {}
    citations: list[Citation] = []
    lines = []
    for sentence in sentences:
        chunk_id = sentence.hit.chunk.chunk_id
        if chunk_id not in numbers:
            numbers[chunk_id] = len(numbers) + 1
            citations.append(Citation(numbers[chunk_id], sentence.hit))
        lines.append(f"- {sentence.display} [{numbers[chunk_id]}]")
    return Answer(question, "\n".join(lines), tuple(citations), found=True)
