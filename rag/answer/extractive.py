"""Answers with numbered citations, built only from retrieved passages.

Without an LLM the answer is extractive: the sentences (or table rows) of the top passages that
contain what was asked — its key terms, and a number when a number is asked for — each followed
by its citation marker. When no passage answers, it says 「未在文档中找到」 and shows the closest
passages instead of inventing a sentence.
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.lexicon import lexicon
from rag.records import Answer, Citation, Evidence, Hit, Query
from rag.zh import QUANTITY, SENTENCE, YEAR_MENTION

NOT_FOUND = "未在文档中找到"
_SENTENCE = SENTENCE
_NUMBER = QUANTITY


@dataclass(frozen=True)
class Sentence:
    hit: Hit
    display: str
    score: float
    search: str = ""


def _sentences(hit: Hit) -> list[tuple[str, str]]:
    """(display, search) pairs of the sentences of a hit; a table row is one sentence."""
    chunk = hit.chunk
    search_body = chunk.body
    if chunk.kind.startswith("table") or len(search_body) != len(chunk.display_text):
        return [(chunk.display_text, search_body)]
    pairs = []
    for match in _SENTENCE.finditer(chunk.display_text):
        display = match.group(0).strip()
        if len(display) >= 4:
            pairs.append((display, search_body[match.start() : match.end()].strip()))
    return pairs


_YEAR_MENTION = YEAR_MENTION


def _about_years(years: set[str], sentence: str, hit: Hit) -> bool:
    """Is this sentence about one of the asked years? The most specific evidence decides:
    years written in the sentence, else in its section heading, else the document's years."""
    headings = hit.chunk.breadcrumb  # the title speaks for the whole document: not here
    for text in (sentence, " ".join(headings)):
        written = set(_YEAR_MENTION.findall(text))
        if written:
            return bool(written & years)
    return any(int(y) in hit.chunk.years for y in years)


def pick_sentences(query: Query, hits: list[Hit], *, max_hits: int = 5, max_sentences: int = 4) -> list[Sentence]:
    # What the question is about, once place and time are set aside: it must be in the sentence
    # itself, while the place and year may come from the passage's document.
    topic = list(query.topic)
    if not topic:
        return []
    lex = lexicon()
    wants_number = bool(lex.asks_number.search(query.text))
    years = {str(y) for y in query.years}
    picked: list[Sentence] = []
    for hit in hits[:max_hits]:
        if query.regions and hit.chunk.region not in query.regions:
            continue
        for display, search in _sentences(hit):
            matched = [t for t in topic if t in search or any(x in search for x in lex.synonyms.get(t, ()))]
            coverage = len(matched) / len(topic)
            if coverage < 0.5:
                continue
            if wants_number and not _NUMBER.search(search):
                continue
            if years and not _about_years(years, search, hit):
                continue
            if lex.target_sentence.search(search) and not lex.asks_target.search(query.text):
                continue  # a target is not a result: 「预期目标…增长7%」 does not answer 「实际完成多少」
            score = coverage + 0.2 / hit.rank + (0.3 if years and any(y in search for y in years) else 0.0)
            picked.append(Sentence(hit, display, score, search))
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


def answer_question(query: Query, hits: list[Hit]) -> Answer:
    """An extractive answer with [n] markers, or an honest 「未在文档中找到」."""
    if query.unknown_places:
        closest = tuple(Citation(i + 1, h) for i, h in enumerate(hits[:3]))
        names = "、".join(sorted(query.unknown_places))
        return Answer(query.raw, f"{NOT_FOUND}关于「{names}」的内容：已索引的文档不涉及该地区。以下是最接近的段落，供参考。",
                      closest, found=False, query=query, method="extractive")
    sentences = pick_sentences(query, hits)
    if not sentences:
        closest = tuple(Citation(i + 1, h) for i, h in enumerate(hits[:3]))
        text = f"{NOT_FOUND}能直接回答该问题的内容。以下是最接近的段落，供参考。" if hits else f"{NOT_FOUND}相关内容。"
        return Answer(query.raw, text, closest, found=False, query=query, method="extractive")
    numbers: dict[str, int] = {}
    citations: list[Citation] = []
    lines = []
    evidence = []
    for sentence in sentences:
        chunk_id = sentence.hit.chunk.chunk_id
        if chunk_id not in numbers:
            numbers[chunk_id] = len(numbers) + 1
            citations.append(Citation(numbers[chunk_id], sentence.hit))
        lines.append(f"- {sentence.display} [{numbers[chunk_id]}]")
        evidence.append(Evidence(numbers[chunk_id], sentence.display, sentence.search))
    return Answer(query.raw, "\n".join(lines), tuple(citations), found=True, evidence=tuple(evidence), query=query,
                  method="extractive")
