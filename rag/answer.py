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
from rag.query import ABBREVIATIONS, ParsedQuery, parse_query, region_aliases
from rag.records import Answer, Citation, Hit
from rag.tokenize import tokenize

NOT_FOUND = "未在文档中找到"
# Words that say *what kind* of answer is wanted, not what it is about.
QUESTION_WORDS = frozenset(
    "哪些 多少 几 什么 如何 怎样 怎么 怎么样 是否 哪个 哪 谁 为 是 要 有 完成 情况 主要 分别 对比 比较 哪个 "
    "达到 实际 全年 今年 去年 上年 全区 年度 有何 打算 变化 高 低".split()
)
_ASKS_NUMBER = re.compile(r"多少|几|比重|增长|增速|总额|总值|收入|规模|率")
_SENTENCE = re.compile(r"[^。；！？\n]+[。；！？]?")
_NUMBER = re.compile(r"(?<![\d.])\d+(?:\.\d+)?(?![\d.])(?!年)")  # a quantity, not a year


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


_YEAR_MENTION = re.compile(r"(?<!\d)(?:19|20)\d\d(?=年)")
_TARGET = re.compile(r"预期目标|主要目标|目标为|目标是|建议今年|力争")
_ASKS_TARGET = re.compile(r"目标|计划|预期|打算|力争|要")


def _about_years(years: set[str], sentence: str, hit: Hit) -> bool:
    """Is this sentence about one of the asked years? The most specific evidence decides:
    years written in the sentence, else in its section heading, else the document's years."""
    headings = hit.chunk.section.split(" › ")[1:]  # the title speaks for the whole document: skip it
    for text in (sentence, " ".join(headings)):
        written = set(_YEAR_MENTION.findall(text))
        if written:
            return bool(written & years)
    return any(int(y) in hit.chunk.years for y in years)


def _is_place_or_year(term: str, query: ParsedQuery) -> bool:
    aliases = {a for r in query.regions for a in region_aliases(r)}
    return term in aliases or any(term in a or a in term for a in aliases) or term.isdigit()


def pick_sentences(question: str, hits: list[Hit], *, max_hits: int = 5, max_sentences: int = 4,
                   known_regions: frozenset[str] = frozenset()) -> list[Sentence]:
    query = parse_query(question, known_regions)
    terms = key_terms(question)
    # What the question is about, once place and time are set aside: it must be in the sentence
    # itself, while the place and year may come from the passage's document.
    topic = [t for t in terms if len(t) >= 2 and not _is_place_or_year(t, query)]
    if not topic:
        return []
    wants_number = bool(_ASKS_NUMBER.search(question))
    years = {str(y) for y in query.years}
    picked: list[Sentence] = []
    for hit in hits[:max_hits]:
        if query.regions and hit.chunk.region not in query.regions:
            continue
        for display, search in _sentences(hit):
            matched = [t for t in topic if t in search or any(x in search for x in ABBREVIATIONS.get(t, ()))]
            coverage = len(matched) / len(topic)
            if coverage < 0.5:
                continue
            if wants_number and not _NUMBER.search(search):
                continue
            if years and not _about_years(years, search, hit):
                continue
            if _TARGET.search(search) and not _ASKS_TARGET.search(question):
                continue  # a target is not a result: 「预期目标…增长7%」 does not answer 「实际完成多少」
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


def answer_question(question: str, hits: list[Hit], known_regions: frozenset[str] = frozenset()) -> Answer:
    """An extractive answer with [n] markers, or an honest 「未在文档中找到」."""
    unknown = parse_query(question, known_regions).unknown_places
    if unknown:
        closest = tuple(Citation(i + 1, h) for i, h in enumerate(hits[:3]))
        names = "、".join(sorted(unknown))
        return Answer(question, f"{NOT_FOUND}关于「{names}」的内容：已索引的文档不涉及该地区。以下是最接近的段落，供参考。",
                      closest, found=False)
    sentences = pick_sentences(question, hits, known_regions=known_regions)
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
