"""Answers with numbered citations, built only from retrieved passages.

Without an LLM the answer is extractive. The sentences and table rows of the top passages are
candidates, scored on what the question asks for: how relevant their passage is (the retriever's
fused rank and its dense similarity, so a colloquial question still finds the passage that answers
it), how much of the question's topic they hold (words, report synonyms, character bigrams), and
whether they hold the kind of figure asked (an absolute value, a growth rate, a target; the asked
year; the asked place). Optionally the embedding model scores the few best candidates against the
question (`semantic`).

The answer leads with one direct line composed from the best sentence's own words and numbers —
「滨江区2021年地区生产总值2022.6亿元，增长11.3%。[1]」 — then the supporting sentences, and, when
the chosen sentence announces an enumeration, its items from the same section, each cited. When
no passage answers, it says 「未在文档中找到」 and shows the closest passages.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rag.answer.citations import Numbering
from rag.lexicon import lexicon
from rag.records import Answer, Chunk, Citation, Evidence, Hit, Query
from rag.zh import HAN, QUANTITY, SENTENCE, UNIT, YEAR, YEAR_MENTION, char_bigrams

NOT_FOUND = "未在文档中找到"
_SENTENCE = SENTENCE
_NUMBER = QUANTITY
_YEAR_MENTION = YEAR_MENTION
_FIGURE_UNIT = re.compile(rf"(?<![\d.])\d+(?:\.\d+)?\s*(?:{UNIT})")
_ABSOLUTE = re.compile(rf"(?<![\d.])\d+(?:\.\d+)?\s*(?!%|个百分点)(?:{UNIT})")
_PERCENT = re.compile(r"(?<![\d.])\d+(?:\.\d+)?\s*(?:%|个百分点)")
_CLAUSE = re.compile(r"[^，,；;、：:。！？]+[，,；;、：:。！？]?")
_GROWTH_WORD = re.compile(r"增长|增速|增幅|下降|提高|降低|回落|上涨|同比")
_SHARE_WORD = re.compile(r"占|比重|比例|强度")
_ASKS_HOW = re.compile(r"如何|怎么|怎样|措施|举措|安排|打算|做法|哪些工作|重点")
_THRESHOLD = re.compile(r"突破|超过|超|逾|近|约|接近")
_ACTUAL = re.compile(r"实际|实绩|实现了|完成了|全年完成|实际完成")

# Weights of the candidate score (see `score_candidate`); set on the seed eval's answerable and
# unanswerable questions together, so that the decline threshold below separates them.
W_TOPIC = 1.0
W_RANK = 0.5
W_DENSE = 2.0
W_SEMANTIC = 1.5
MIN_SCORE_OPEN = 0.3
MIN_SCORE = 0.74  # below this the best candidate does not answer: decline (seed eval: correct answers score ≥ 0.77)


@dataclass(frozen=True)
class Sentence:
    hit: Hit
    display: str
    score: float
    search: str = ""
    index: int = 0  # position among the hit's sentences


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


def _about_years(years: set[str], sentence: str, hit: Hit) -> bool:
    """Is this sentence about one of the asked years? The most specific evidence decides:
    years written in the sentence, else in its section heading, else the document's years."""
    headings = hit.chunk.breadcrumb  # the title speaks for the whole document: not here
    for text, pattern in ((sentence, _YEAR_MENTION), (" ".join(headings), YEAR)):
        written = set(pattern.findall(text))  # a heading may write 「2022国民经济…」 without 年
        if written:
            return bool(written & years)
    return any(int(y) in hit.chunk.years for y in years)


def _topic_coverage(query: Query, search: str, without: Sequence[str] = ()) -> float:
    """Share of the question's topic the sentence holds: a term (or its report synonym) counts 1, else the
    share of its character bigrams found (「腰包」 finds nothing, 「进出口总额」 finds 「出口总额」)."""
    topic = [t for t in query.topic if not any(t in w or w in t for w in without)]
    if not topic:
        return 0.0
    lex = lexicon()
    total = 0.0
    for term in topic:
        if term in search or any(x in search for x in lex.synonyms.get(term.lower(), ())):
            total += 1.0
            continue
        grams = char_bigrams(term)
        if grams:
            total += 0.6 * sum(1 for g in grams if g in search) / len(grams)
    return total / len(topic)


def _in_target_list(search: str, chunk: Chunk) -> bool:
    """A sentence after 「主要预期目标是：」 in its passage is one of the targets it opens."""
    intro = lexicon().target_intro.search(chunk.body)
    return intro is not None and chunk.body.find(search) >= intro.end()


def _measure_fit(query: Query, search: str, chunk: Chunk) -> float:
    """Does the sentence hold the kind of figure asked? Positive for a fit, negative for a known trap."""
    lex = lexicon()
    is_target = (bool(lex.target_sentence.search(search)) or any("目标" in h or "预期" in h for h in chunk.breadcrumb)
                 or _in_target_list(search, chunk))
    measure = query.measure
    fit = 0.0
    if measure == "target":
        fit += 0.3 if is_target else -0.2
    elif is_target and measure in ("value", "growth", ""):
        fit -= 0.5  # a target is not a result: 「预期目标…增长7%」 does not answer 「实际完成多少」
    if measure == "growth":
        fit += 0.3 if _GROWTH_WORD.search(search) and _PERCENT.search(search) else -0.3
    elif measure == "value":
        if _ABSOLUTE.search(search):
            fit += 0.2
        elif not _SHARE_WORD.search(query.text):
            fit -= 0.2
    if _SHARE_WORD.search(query.text) and measure in ("value", "") and not _SHARE_WORD.search(search):
        fit -= 0.3  # 「占GDP比重是多少」: a sentence with no share in it states another measure
    return fit


def _row_fit(query: Query, chunk: Chunk) -> float:
    """How much of a table row's name is what is asked: 「地区生产总值」 fits the row 地区生产总值 wholly and
    the row 研究与试验发展经费支出占地区生产总值比重 by a quarter (the issue's wrong-measure trap)."""
    if not chunk.is_table_row:
        return 0.0
    names = [re.sub(r"[(（][^)）]*[)）]|其中[:：]?", "", v) for _h, v in chunk.search_cells if re.search(f"[{HAN}]", v)]
    if not names:
        return 0.0
    lex = lexicon()
    terms = [t for t in query.topic] + [x for t in query.topic for x in lex.synonyms.get(t.lower(), ())]
    # the cell that names the row best (a task table names it in 内容及要求, not in its 项目 column)
    matched, name = max(((max((len(t) for t in terms if t and t in n), default=0), n) for n in names),
                        key=lambda pair: (pair[0], -len(pair[1])))
    if matched < 3:
        return -0.3  # the row is about something else: 「社会消费品零售总额」 shares only 「总额」 with 「进出口总额」
    return 0.8 * matched / max(1, len(name))


def _rank_score(hit: Hit) -> float:
    return 1.0 / (hit.rank ** 0.5)


def pick_sentences(query: Query, hits: list[Hit], *, max_hits: int = 6, max_sentences: int = 4,
                   semantic: Callable[[str, Sequence[str]], Sequence[float]] | None = None) -> list[Sentence]:
    """The sentences and rows that answer the question, best first; [] when none does."""
    if not query.topic:
        return []  # 「？？？」: nothing is asked about
    lex = lexicon()
    wants_number = bool(lex.asks_number.search(query.text)) or query.measure in ("value", "growth", "target")
    years = {str(y) for y in query.years}
    dense_top = max((h.scores.get("dense", 0.0) for h in hits[:max_hits]), default=0.0)
    sub_areas = _sub_areas(query)
    scored: list[Sentence] = []
    actual_asked = bool(_ACTUAL.search(query.text))
    asked_names = [a for r in query.regions for a in _aliases(r)]
    for hit in hits[:max_hits]:
        if query.regions and hit.chunk.region not in query.regions and (
                hit.chunk.region or not any(a in hit.chunk.body for a in asked_names)):
            continue  # another place's passage (a passage of no known place only when it names the asked one)
        if hit.chunk.kind == "table":
            continue  # a whole table: its rows are passages of their own, each answerable alone
        for index, (display, search) in enumerate(_sentences(hit)):
            if actual_asked and query.measure != "target" and (lexicon().target_sentence.search(search)
                                                                or _in_target_list(search, hit.chunk)):
                continue  # 「实际完成多少」: a target is never the answer
            if wants_number and not _NUMBER.search(search):
                continue
            if years and not _about_years(years, search, hit):
                continue
            if sub_areas and not any(a in search for a in sub_areas):
                continue  # 「未来科技城…」: only a sentence about that sub-area answers, never the district's figure
            coverage = _topic_coverage(query, search)
            if sub_areas and _topic_coverage(query, search, without=sub_areas) < 0.6:
                continue  # it names the sub-area but not what is asked about it
            dense = hit.scores.get("dense", dense_top) - dense_top  # ≤ 0: how far below the best passage
            score = (W_TOPIC * coverage + W_RANK * _rank_score(hit) + W_DENSE * dense
                     + _measure_fit(query, search, hit.chunk) + _row_fit(query, hit.chunk)
                     + (0.2 if years and any(y in search for y in years) else 0.0)
                     + (0.1 if _FIGURE_UNIT.search(search) else 0.0))
            scored.append(Sentence(hit, display, score, search, index))
    if not scored:
        return []
    scored.sort(key=lambda s: -s.score)
    if semantic is not None:
        head = scored[:6]
        similarities = semantic(query.text, [s.search for s in head])
        top = max(similarities)
        head = [Sentence(s.hit, s.display, s.score + W_SEMANTIC * (sim - top), s.search, s.index)
                for s, sim in zip(head, similarities)]
        scored = sorted(head, key=lambda s: -s.score) + scored[6:]
    best = scored[0]
    # A question about a place, a year or a figure is declined below MIN_SCORE (calibrated on the seed eval's
    # unanswerable questions, all of that shape); an open question (「…是谁」「…是哪一年」) only when nothing
    # in its passages relates to it at all.
    specific = wants_number or bool(query.regions or query.years)
    if best.score < (MIN_SCORE if specific else MIN_SCORE_OPEN):
        return []
    picked = [s for s in scored if s.score >= best.score - 0.35]
    unique: list[Sentence] = []
    for sentence in picked:
        if all(sentence.display not in other.display and other.display not in sentence.display for other in unique):
            unique.append(sentence)
        if len(unique) >= max_sentences:
            break
    return unique


def _sub_areas(query: Query) -> list[str]:
    """Sub-areas the question names (a street, a town, a new town) that are not an indexed region."""
    pattern = lexicon().answer.sub_area
    # A place no indexed document is about is answered only from a sentence that names it (a corpus whose
    # regions were read from text may still hold it); never a figure of the place the document is about.
    names = [p for p in query.unknown_places if len(p) >= 2]
    for match in pattern.finditer(query.text):
        name = match.group(0)
        if re.search(r"[年的和与及在是新增]|\d", name[:-2]):
            continue  # 「年新增城镇」: words of the question, not a name
        if not any(name in r or r in name for r in query.regions):
            names.append(name)
    return names


# --- the direct answer line -------------------------------------------------------------------------
@dataclass(frozen=True)
class Lead:
    """The direct answer line and the figure it states, verbatim from the cited passage."""

    text: str
    figure: str  # 「2022.6亿元」: number and unit as written, "" when the line states none
    value: float | None
    unit: str
    hit: Hit


_FIGURE_PARTS = re.compile(rf"(?<![\d.])([-−]?\d+(?:\.\d+)?)\s*({UNIT})?")


def _figure(query: Query, piece: str) -> tuple[str, float | None, str]:
    """The figure a lead piece states for the measure asked: the growth rate for growth, else the first
    figure with an absolute unit, else the first figure with any unit. A threshold (「突破2000亿元」) is
    passed over for the figure itself."""
    found = [m for m in _FIGURE_PARTS.finditer(piece) if piece[m.end():m.end() + 1] != "年"]
    if not found:
        return "", None, ""
    plain = [m for m in found if not _THRESHOLD.search(piece[max(0, m.start() - 4) : m.start()])] or found

    def pick() -> re.Match[str]:
        if query.measure == "growth":
            for m in plain:
                if m.group(2) in ("%", "个百分点") and _GROWTH_WORD.search(piece[: m.start()]):
                    return m
        for m in plain:
            if m.group(2) and m.group(2) not in ("%", "个百分点"):
                return m
        for m in plain:
            if m.group(2):
                return m
        return plain[0]
    m = pick()
    return m.group(0).strip(), float(m.group(1).replace("−", "-")), m.group(2) or ""


def _clauses(text: str) -> list[str]:
    return [m.group(0) for m in _CLAUSE.finditer(text) if m.group(0).strip()]


def _strip_fillers(clause: str) -> str:
    fillers = lexicon().answer.lead_fillers
    changed = True
    while changed:
        changed = False
        for word in fillers:
            if clause.startswith(word) and len(clause) > len(word) + 2:
                clause = clause[len(word):]
                changed = True
    return clause


_MEASURE_TERM = re.compile(r"增长|增速|增幅|目标|计划|预期|实际|完成|多少|比重|占比")


def _term_hits(query: Query, clause: str) -> int:
    """How many of the question's indicator words (not its measure words: 增长, 目标 …) the clause holds."""
    lex = lexicon()
    core = [t for t in query.topic if not _MEASURE_TERM.fullmatch(t)]
    return sum(1 for t in core if t in clause or any(x in clause for x in lex.synonyms.get(t.lower(), ())))


def lead_line(query: Query, sentence: Sentence) -> Lead | None:
    """The figure the question asks for, in the passage's own words: the clause holding the topic and a figure,
    with the growth clause that follows it; prefixed with the place and year when the clause does not name
    them. None when the sentence has no such clause (a table row, a sentence without a figure)."""
    chunk = sentence.hit.chunk
    if chunk.is_table_row:
        row = _row_line(query, chunk)
        if row is None:
            return None
        text, figure = row
        number = _FIGURE_PARTS.match(figure)
        value = float(number.group(1).replace("−", "-")) if number else None
        return Lead(text, figure if number else "", value, (number.group(2) or "") if number else "", sentence.hit)
    text = sentence.search if len(sentence.search) == len(sentence.display) else sentence.display
    display = sentence.display if len(sentence.search) == len(sentence.display) else text
    clauses = _clauses(text)
    if not clauses:
        return None
    offsets = []
    pos = 0
    for clause in clauses:
        start = text.index(clause, pos)
        offsets.append(start)
        pos = start + len(clause)
    want_growth = query.measure == "growth"
    best, best_score = -1, 0.0
    for i, clause in enumerate(clauses):
        if not _NUMBER.search(clause):
            continue
        score = _term_hits(query, clause) + (0.5 if i and _term_hits(query, clauses[i - 1]) else 0.0)
        if want_growth and _GROWTH_WORD.search(clause) and _PERCENT.search(clause):
            score += 1.0
        if query.measure == "value" and _ABSOLUTE.search(clause):
            score += 0.5
        if score > best_score:
            best, best_score = i, score
    if best < 0:
        return None
    start = best
    for back in (1, 2):  # 「地区生产总值2502.2亿元、增长7.5%」: the indicator sits in a clause before
        if _term_hits(query, clauses[best]) or best - back < 0:
            break
        if _term_hits(query, clauses[best - back]):
            start = best - back
            break
    end = best + 1
    growth = lexicon().answer.growth_clause
    while end < len(clauses) and end - best < 3 and growth.match(clauses[end]) and _NUMBER.search(clauses[end]):
        end += 1  # 「…突破2000亿元大关、达2022.6亿元，增长11.3%」
    lo, hi = offsets[start], offsets[end - 1] + len(clauses[end - 1])
    piece = _strip_fillers(display[lo:hi].strip()).rstrip("，,；;、：:。！？")
    if not piece:
        return None
    figure, value, unit = _figure(query, _strip_fillers(text[lo:hi].strip()))  # units are read in Simplified
    return Lead(_where(query, chunk, piece) + piece + "。", figure, value, unit, sentence.hit)


def _where(query: Query, chunk: Chunk, piece: str) -> str:
    """The place and year a lead line needs, unless the piece names them already."""
    place = chunk.region if chunk.region and not any(a in piece for a in _aliases(chunk.region)) else ""
    years_written = set(_YEAR_MENTION.findall(piece))
    year = ""
    if not years_written and len(query.years) == 1:
        year = f"{next(iter(query.years))}年"
    return place + year


def _aliases(region: str) -> list[str]:
    names = [region]
    for suffix in ("新区", "区", "县", "市"):
        if region.endswith(suffix) and len(region) - len(suffix) >= 2:
            names.append(region[: -len(suffix)])
            break
    return names


_PAREN_UNIT = re.compile(rf"[(（]((?:{UNIT}))[)）]\s*$")
_PAREN = re.compile(r"[(（][^)）]*[)）]")
_ROW_NUMBER = ("序号", "编号", "排序")  # a row's running number is no figure of it
_BARE_NUMBER = re.compile(r"^[-−+]?\d+(?:\.\d+)?$")


def _row_line(query: Query, chunk: Chunk) -> tuple[str, str] | None:
    """A table row as one line: the cell naming the row, then the cells that hold a figure, each bare number
    given the unit its row name or column header states (「实际利用外资(亿美元)」 -> 「9.1亿美元」)."""
    cells = [(h, v) for h, v in chunk.cells if v and v.strip() not in lexicon().empty_cells and len(v) <= 40]
    named = [i for i, (_h, v) in enumerate(cells) if re.search(f"[{HAN}]", v)]
    if not named or len(cells) < 2:
        return None
    name = cells[named[0]][1]
    row_unit = _PAREN_UNIT.search(name)
    shown = []
    figures: list[tuple[str, str]] = []  # (header, value with unit) of the bare figures, for the lead's figure
    for i, (header, value) in enumerate(cells):
        if i == named[0] or not re.search(r"\d", value) or _PAREN.sub("", header).strip() in _ROW_NUMBER:
            continue
        if query.measure in ("value", "growth") and re.search("目标|计划", header):
            continue  # a result is asked: the row's targets are not the answer (they stay in the quoted row)
        value = value.strip()
        head_unit = _PAREN_UNIT.search(header)
        unit = (row_unit or head_unit).group(1) if (row_unit or head_unit) else ""
        if _BARE_NUMBER.match(value) and unit:
            value += unit
            figures.append((header, value))
        shown.append(f"{_PAREN.sub('', header).strip()} {value}")
    if not shown:
        return None
    rest = "，".join(shown)
    growth = [v for h, v in figures if _GROWTH_WORD.search(h) or "增幅" in h]
    level = [v for h, v in figures if v not in growth and not re.search("目标|计划", h)]
    figure = (growth or level or [""])[0] if query.measure == "growth" else (level or [""])[0]
    return _where(query, chunk, name + rest) + f"{_PAREN.sub('', name).strip()}：{rest}。", figure


# --- lists: the items that follow a sentence announcing them -----------------------------------------
def announces_list(text: str) -> bool:
    return bool(lexicon().answer.list_intro.search(text.strip()))


def list_items(sentence: Sentence, chunks_after: Callable[[Chunk], list[Chunk]] | None,
               max_items: int = 12) -> list[tuple[Hit, str, str]]:
    """The enumeration a sentence announces: the rest of its passage when it is written 「一是…二是…」, the
    following list items of the same list, or the passages of the child headings below its heading."""
    chunk = sentence.hit.chunk
    items: list[tuple[Hit, str, str]] = []
    rest = _sentences(sentence.hit)[sentence.index + 1 :]
    for display, search in rest:
        items.append((sentence.hit, display, search))
    if chunks_after is not None:
        for nxt in chunks_after(chunk):
            if len(items) >= max_items:
                break
            items.append((Hit(0, 0.0, nxt), _first_sentence(nxt.display_text), _first_sentence(nxt.body)))
    return items[:max_items]


def _first_sentence(text: str) -> str:
    match = _SENTENCE.search(text)
    return (match.group(0) if match else text).strip()


# --- the answer --------------------------------------------------------------------------------------
def decline(query: Query, hits: list[Hit], why: str = "") -> Answer:
    closest = tuple(Citation(i + 1, h) for i, h in enumerate(hits[:3]))
    if query.unknown_places:
        names = "、".join(sorted(query.unknown_places))
        text = f"{NOT_FOUND}关于「{names}」的内容：已索引的文档不涉及该地区。{why}以下是最接近的段落，供参考。"
    elif hits:
        text = f"{NOT_FOUND}能直接回答该问题的内容。{why}以下是最接近的段落，供参考。"
    else:
        text = f"{NOT_FOUND}相关内容。{why}"
    return Answer(query.raw, text, closest, found=False, query=query, method="extractive")


def answer_question(query: Query, hits: list[Hit], *,
                    semantic: Callable[[str, Sequence[str]], Sequence[float]] | None = None,
                    chunks_after: Callable[[Chunk], list[Chunk]] | None = None, covered: str = "") -> Answer:
    """An extractive answer with [n] markers — the direct line first — or an honest 「未在文档中找到」.

    `covered` describes what the indexed documents cover, shown when a place is not covered."""
    return compose(query, hits, semantic=semantic, chunks_after=chunks_after, covered=covered)[0]


def compose(query: Query, hits: list[Hit], *,
            semantic: Callable[[str, Sequence[str]], Sequence[float]] | None = None,
            chunks_after: Callable[[Chunk], list[Chunk]] | None = None, covered: str = "",
            ) -> tuple[Answer, Lead | None]:
    """The extractive answer and its direct line (None when it has none)."""
    sentences = pick_sentences(query, hits, semantic=semantic)
    if not sentences:
        return decline(query, hits, covered if query.unknown_places else ""), None
    numbering = Numbering()
    lines: list[str] = []
    evidence: list[Evidence] = []
    best = sentences[0]
    wants_figure = query.measure in ("value", "growth", "target") or bool(lexicon().asks_number.search(query.text))
    lead = lead_line(query, best) if wants_figure else None
    if lead:
        n = numbering.cite(best.hit)
        lines.append(f"{lead.text}[{n}]")
        lines.append("")
        lines.append("依据：")
    for sentence in sentences:
        n = numbering.cite(sentence.hit)
        lines.append(f"- {sentence.display} [{n}]")
        evidence.append(Evidence(n, sentence.display, sentence.search))
    if announces_list(best.search) or query.measure == "list" or (not wants_figure and _ASKS_HOW.search(query.text)):
        shown = {s.display for s in sentences}
        for hit, display, search in list_items(best, chunks_after):
            if display in shown or len(display) < 2:
                continue
            shown.add(display)
            n = numbering.cite(hit)
            lines.append(f"  - {display} [{n}]")
            evidence.append(Evidence(n, display, search))
    answer = Answer(query.raw, "\n".join(lines), tuple(numbering.citations), found=True, evidence=tuple(evidence),
                    query=query, method="extractive")
    return answer, lead
