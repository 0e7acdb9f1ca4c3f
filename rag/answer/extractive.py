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
from dataclasses import dataclass, replace
from functools import lru_cache

from rag.answer.citations import Numbering
from rag.lexicon import lexicon
from rag.records import Answer, Chunk, Citation, Evidence, Hit, Query
from rag.search.query import region_aliases
from rag.zh import HAN, QUANTITY, SENTENCE, UNIT, YEAR, YEAR_MENTION, char_bigrams, pos_words

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
# Words of a question that say which measure of an indicator is asked, not which indicator.
# A term is one when it ends with one (控制目标, 完成情况): 实际利用外资 names an indicator.
_MEASURE_WORD = re.compile(r".{0,3}(?:增长|增速|增幅|增长率|目标|计划|预期|实际|完成|情况|更高|更低|更多|更少|最高|最低|对比|变化|安排)")
# What kind of thing an open question asks for: a person (「…是谁作的」) or a time (「…于何年开工」).
_ASKS_PERSON = re.compile(r"谁|何人|哪位|哪一位")
_ASKS_TIME = re.compile(r"哪一?年|何年|何时|什么时候|什么时间|几月|哪一天|哪天")
_TIME_WRITTEN = re.compile(r"\d{1,4}年|\d{1,2}月|[一二三四五六七八九十]+世纪|\d+世纪|年代|[元明清]朝|民国")
CLOZE_FIT = 0.3  # per phrase a sentence holds that fills the question's blank (「未来什么地」 -> 未来城市样板地), up to 3
SPECIFIC_HEAD = 4  # characters of an indicator name specific enough that a sentence without it is about another
GAPPED_TERM = 0.9  # share of a topic term found split by a few characters (引进…人才)
ANSWER_TYPE_FIT = 0.3  # a sentence holding the kind of thing asked (a person's name, a time) gains this, one without loses it
_ACTUAL = re.compile(r"实际|实绩|实现了|完成了|全年完成|实际完成")
# An amount asked in other words than the lexicon's 「多少」: 「经济盘子有多大」「占多大比例」.
_ASKS_MEASURES = re.compile(r"如何|怎么|怎样|措施|举措|做法|(?:什么|哪些)(?:打算|安排|工作)")
_ENUMERATION_COUNT = re.compile(r"哪几|几(?:个)?方面|几块|几大|几项")
_ASKS_AMOUNT = re.compile(r"多大|多高|多快|多长|多远|多重|几成|占比|比例|数量|数目")
# A passage that says the figure asked is not out yet: 「二季度数据未出」「2024年数据预计于2025年11月左右发布」.
_NOT_OUT = re.compile(r"数据(?:尚)?未出|尚未(?:公布|发布|出数|统计)|暂未(?:公布|发布|出数)|暂无数据|预计于.{0,12}(?:发布|公布)")
_PERIOD = re.compile(r"[一二三四1-4]季度|上半年|下半年|前三季度|\d{1,2}-\d{1,2}月|\d{1,2}月(?:底|末|份)?")

# Weights of the candidate score (see `score_candidate`); set on the seed eval's answerable and
# unanswerable questions together, so that the decline threshold below separates them.
W_TOPIC = 1.0
W_RANK = 0.5
W_DENSE = 2.0
W_SEMANTIC = 2.5
SEMANTIC_CENTRE: float | None = None  # e5-small cosine of a question with a sentence that answers it sits around here
SEMANTIC_HEAD = 6  # candidates embedded per question (~2-4 ms each on a CPU, cached): the ask latency budget
SEMANTIC_CHARS = 64  # characters of a candidate embedded
# A figure sentence holding under this share of the question's topic answers only if its meaning is this close
# (seed + corpus evals: leads that stated another figure sat at cosine <= 0.878, right ones mostly >= 0.888)
MIN_COVERAGE_ALONE = 0.45
MIN_SEMANTIC_ALONE = 0.88
SEMANTIC_RESCUE = 12  # candidates a vetoed best's replacement is sought among
RESCUE_MARGIN = 0.01  # how much closer than MIN_SEMANTIC_ALONE in meaning that replacement must be
SEMANTIC_MARGIN = 0.5  # lexical lead of the best candidate over the next above which meaning is not consulted
MIN_SCORE_OPEN = 0.3
MIN_SCORE_PLACE = 0.6  # a question about a place or a year that asks for no figure (「…聚焦什么产业」)
PICK_BAND = 0.35  # supporting sentences shown: those scoring within this of the best
PICK_BAND_OPEN = 0.8  # the same for an open question (「…是谁」「…在哪里」), where the words of the answer are unknown
OPEN_SENTENCES = 6  # sentences shown for an open question
MIN_SCORE = 0.65  # below this the best candidate does not answer: decline (seed, corpus and held-out evals: 0.55–0.65 keep
# every unanswerable question declined; 0.74 declined colloquial questions whose best candidate was right)


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
    share = sum(_term_share(term, search) for term in topic) / len(topic)
    if query.report_words and not without:
        # 「商场超市一年卖了多少货」: what the everyday words stand for (社会消费品零售总额) is the topic too — the
        # words around them (商场, 超市) are how a person says it, not what a report writes
        reported = sum(max(_term_share(w, search) for w in group) for group in query.report_words)
        share = max(share, reported / len(query.report_words))
    return share


def _term_share(term: str, search: str) -> float:
    """1 when the sentence holds the term or a report synonym of it, else 0.6 × the share of its bigrams."""
    if term in search or any(x in search for x in lexicon().related(term)):
        return 1.0
    if len(term) >= 4 and re.search(f"{re.escape(term[:2])}[{HAN}]{{1,3}}{re.escape(term[2:])}", search):
        return GAPPED_TERM  # 「引进人才」 in 「新引进各类人才」: a compound with a modifier inside it
    grams = char_bigrams(term)
    return 0.6 * sum(1 for g in grams if g in search) / len(grams) if grams else 0.0


def _holds_head(query: Query, search: str, named_only: bool = False) -> bool:
    """Does the sentence name the indicator asked — the longest topic term that is not a word of the measure
    (增长, 目标, 更高), the later on a tie (Chinese noun phrases are head-final: 城镇|登记|失业率) — as
    written, by a report synonym, or by one of its character bigrams? `named_only`: judge only a question that
    names its indicator by a compound of 4 characters or more (平均工资, 出生人口); a short word (负担, 到手)
    says too little to judge a sentence by."""
    names = [t for t in query.topic if not _MEASURE_WORD.fullmatch(t)]
    if not names:
        return True
    head = max(reversed(names), key=len)
    if named_only and len(head) < SPECIFIC_HEAD:
        return True
    if _term_share(head, search) > 0:  # 「粮食产量」 in 「粮食生产…总产达到557亿斤」
        return True
    # 「商场超市一年卖了多少货」: the indicator its everyday words stand for (社会消费品零售总额)
    return any(_term_share(w, search) > 0 for group in query.report_words for w in group)


_RATE_NAME = re.compile(r"(?:率|比重|比例|占比|强度)$")


_COUNTED = re.compile(rf"\d\s*[十百千万亿]*(?![年月日号时])[{HAN}]")  # a figure counted in words: 「25万辆」「6148件」
_ASKS_AT = re.compile(r"(?:是|有|为|达|达到)?(?:多少|几)")


def _indicator_run(query: Query) -> list[str]:
    """The indicator the question names by its own words ([] for a reworded question: `_indicator_words`)."""
    return list(_indicator_words(query.text)) if not query.reworded else []


@lru_cache(maxsize=1024)
def _indicator_words(text: str) -> tuple[str, ...]:
    """The indicator a figure question names, as its last two nouns (a verb may modify them: 出生) before its
    asking word or its end, past trailing verbs and measure words: 「出生|人口|是多少」, 「森林|覆盖率|是多少」,
    「常住人口|城镇化率|目标」, 「细颗粒物|浓度|降到多少」; () for one word. Tagged once per question: every
    candidate sentence is checked against it."""
    asked = _ASKS_AT.search(text)
    words = [(text[a:b], tag) for a, b, tag in pos_words(text[: asked.start() if asked else len(text)])]
    run: list[tuple[str, str]] = []
    before = ""  # the tag of the word before the run
    for word, tag in reversed(words):
        measure = _MEASURE_WORD.fullmatch(word) or word in lexicon().question_words
        if not run and (measure or tag.startswith("v") or tag in ("x", "uj", "ul")):
            continue  # 「…浓度降到多少」「…城镇化率目标」: the trailing verb or measure word is not the indicator
        if not tag.startswith(("n", "v")) or tag.startswith("ns") or measure or len(run) == 2 or "报告" in word \
                or len(word) < 2 or (not run and not tag.startswith("n")):
            before = tag
            break  # (「国务院报告安排多少…」: the report named is not the indicator; the head is a noun of 2+)
        run.insert(0, (word, tag))
    if len(run) != 2:
        return ()
    # a verb modifies the head only right after the place and year (「辽宁2025年出生人口」): elsewhere it is the
    # question's own verb (「…对5000Hz以下的声音进行频率分析」)
    if run[0][1].startswith("v") and not (before.startswith(("m", "ns")) or len(words) == 2):
        return ()
    return tuple(word for word, _tag in run)


def fits_indicator(query: Query, search: str, table_row: bool = False, context: str = "") -> bool:
    """Can the sentence state the figure of the indicator asked? Not when
    - it lacks the indicator's first word, which says what is counted (Chinese names are modifier + head:
      「茅台酒产量」 is not answered by 「新能源汽车产量」, 「出生人口」 not by 「常住人口」; 「粮食产量」 is by
      「粮食…总产」);
    - the question counts in a unit the sentence never counts in (「多少吨」 -> no 「…吨」);
    - a rate is asked (覆盖率, 比重) and the sentence states no percentage, or a count is asked and the sentence names
      the indicator only inside a rate's name (「常住人口」 in 「常住人口城镇化率」) with no other figure for it.
    (`table_row`: a row's units are in its headers, not beside its figures; `context`: the passage the sentence
    is in, which may name the indicator once for several sentences: 「…全年增长4.8%、总量达5.3万亿元」.)"""
    run = _indicator_run(query)
    if run and _term_share(run[0], context or search) == 0:
        return False
    unit = _asked_unit(query.text)
    if unit and unit != "个" and not table_row and _COUNTED.search(search) and not re.search(
            rf"\d\s*(?:[十百千万亿]+)?{re.escape(unit)}", search):
        return False  # (a sentence counting nothing in words — 「2,790,060」, 「三天三夜」 — is not judged by unit)
    name = "".join(run) if run else (max(reversed(query.topic), key=len) if query.topic else "")
    if name and _RATE_NAME.search(name) and query.measure != "growth" and not any(
            not _GROWTH_WORD.search(search[max(0, m.start() - 6) : m.start()]) for m in _PERCENT.finditer(search)):
        return False  # 「森林覆盖率」: a level in %, not 「林草产业产值年均增长超10%」
    if name and not _RATE_NAME.search(name) and query.measure != "growth" and name in search:
        spots = [m.end() for m in re.finditer(re.escape(name), search)]
        if all(re.match(f"[{HAN}]{{0,4}}(?:率|比重|占比)", search[i:]) for i in spots) and not _ABSOLUTE.search(search):
            return False
    return True


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
        # a task table's requirement (「内容及要求: …4万人以上」) is a target too, though not a result's trap: a
        # task row also answers who leads it or how far it got
        task = chunk.is_table_row and any(lex.target_column.search(h) for h, _v in chunk.search_cells)
        fit += 0.3 if is_target or task else -0.2
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
    if query.years and measure in ("value", "growth") and lex.multi_year.search(search) and not lex.multi_year.search(
            query.text):
        fit -= 0.2  # 「2025年地区生产总值」: 「全年实现…5696亿元」, not the five years' 「年均增长5.7%」
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


def wants_number(query: Query) -> bool:
    """Does the question ask for a figure? 「…打算/安排」 with 目标 asks for measures, not a number, unless it
    says 「多少」."""
    text = _ENUMERATION_COUNT.sub("", query.reworded or query.text)  # 「哪几方面」 asks for a list, not a number
    if lexicon().asks_number.search(text) or _ASKS_AMOUNT.search(text) or query.measure in ("value", "growth"):
        return True
    return query.measure == "target" and not _ASKS_MEASURES.search(text) and not asks_enumeration(query.text)


def _rank_score(hit: Hit) -> float:
    return 1.0 / (hit.rank ** 0.5)


def candidates(query: Query, hits: list[Hit], *, max_hits: int = 8) -> list[Sentence]:
    """Every sentence and row of the top hits that may answer the question, lexically scored, best first."""
    if not query.topic:
        return []  # 「？？？」: nothing is asked about
    number_asked = wants_number(query)
    years = {str(y) for y in query.years}
    dense_top = max((h.scores.get("dense", 0.0) for h in hits[:max_hits]), default=0.0)
    sub_areas = _sub_areas(query)
    scored: list[Sentence] = []
    actual_asked = bool(_ACTUAL.search(query.text))
    asked_names = [a for r in query.regions for a in region_aliases(r)]
    asked_type = None if number_asked else _answer_type(query.text)
    blank = None if number_asked else cloze(query.text)
    quoted = quoted_names(query.text)
    for hit in hits[:max_hits]:
        if query.regions and hit.chunk.region not in query.regions and (
                (hit.chunk.region and hit.sure_metadata) or not any(a in hit.chunk.body for a in asked_names)):
            continue  # another place's passage; one whose place was only guessed from its text answers when it names
            # the asked place (a manifest or the document's title is trusted; a mention-count guess is not)
        if hit.chunk.kind == "table":
            continue  # a whole table: its rows are passages of their own, each answerable alone
        for index, (display, search) in enumerate(_sentences(hit)):
            if actual_asked and query.measure != "target" and not hit.chunk.is_table_row and (
                    lexicon().target_sentence.search(search) or _in_target_list(search, hit.chunk)):
                continue  # 「实际完成多少」: a target is never the answer
            if number_asked and not _NUMBER.search(search):
                continue
            quotes = bool(quoted) and names_quoted(quoted, search)
            if years and not quotes and not _about_years(years, search, hit):
                continue  # (a name the question quotes identifies what is asked, whatever year it is filed under)
            if sub_areas and not any(a in search for a in sub_areas):
                continue  # 「未来科技城…」: only a sentence about that sub-area answers, never the district's figure
            coverage = _topic_coverage(query, search)
            if sub_areas and _topic_coverage(query, search, without=sub_areas) < 0.6:
                continue  # it names the sub-area but not what is asked about it
            dense = hit.scores.get("dense", dense_top) - dense_top  # ≤ 0: how far below the best passage
            score = (W_TOPIC * coverage + W_RANK * _rank_score(hit) + W_DENSE * dense
                     + _measure_fit(query, search, hit.chunk) + _row_fit(query, hit.chunk)
                     + (0.2 if years and any(y in search for y in years) else 0.0)
                     + (0.1 if _FIGURE_UNIT.search(search) else 0.0)
                     + (0.0 if asked_type is None else ANSWER_TYPE_FIT if asked_type(search) else -ANSWER_TYPE_FIT)
                     + _cloze_fit(blank, search) + (QUOTED_FIT if quotes else 0.0))
            if hit.chunk.is_table_row and query.measure == "value" and not _SHARE_WORD.search(query.text):
                row = _row_line(query, hit.chunk)
                if row is None or not row[1] or row[1].endswith(("%", "个百分点")):
                    score -= 0.8  # 「…是多少」: a row whose absolute cell is empty (「—」) states only a rate
            scored.append(Sentence(hit, display, score, search, index))
    scored.sort(key=lambda s: -s.score)
    return scored


# A name in quotes (“三大工程”, 「始终把……作为」): short, no clause inside — a quoted sentence (DRCD's
# 「城中人自相食，百姓十死其八…」) is context, and a book title 《…》 is a subject, not the thing asked for.
_QUOTED = re.compile(r"[“\"「『]([^”\"」』，,。；;]{2,10})[”\"」』]")
QUOTED_FIT = 0.5  # a sentence holding a name the question quotes (「“四大攻坚突破”指什么」)


def quoted_names(text: str) -> list[str]:
    """The names a question quotes: 「“三大工程”建设指哪三项」 -> [三大工程]."""
    return [m.group(1) for m in _QUOTED.finditer(text)]


def names_quoted(names: Sequence[str], text: str) -> bool:
    """Does the text hold one of the quoted names? A name with an ellipsis is a frame: 「始终把……作为」 holds
    「始终把忠诚作为为政之魂」."""
    for name in names:
        parts = [p for p in re.split(r"…+|\.{3,}", name) if p]
        if parts and re.search("[^。；;]{0,12}?".join(map(re.escape, parts)), text):
            return True
    return False


def cloze(text: str) -> re.Pattern[str] | None:
    """The phrases that would fill a fill-in question's blank: 「未来什么地」 -> 未来…地, 「聚焦什么产业」 -> 聚焦…产业
    (the two characters before the blank, up to two after it, a few words of one sentence between)."""
    blank = lexicon().cloze_blank.search(text)
    if blank is None:
        return None
    before = re.search(f"[{HAN}]{{2}}$", text[: blank.start()])
    after = re.match(f"[{HAN}]{{1,2}}", text[blank.end():])
    if before is None or after is None:
        return None
    right = after.group(0).rstrip("呢吗的了啊")
    if not right or lexicon().question_word_pattern.fullmatch(before.group(0)):
        return None
    return re.compile(f"{re.escape(before.group(0))}[^。；;！？]{{1,32}}?{re.escape(right)}")


def _cloze_fit(pattern: re.Pattern[str] | None, search: str) -> float:
    return 0.0 if pattern is None else CLOZE_FIT * min(3, len(pattern.findall(search)))


def _answer_type(text: str) -> Callable[[str], bool] | None:
    """A test for the kind of thing an open question asks for, or None: a person's name as jieba's tagger
    reads it (nr), or a written time. Only for 「谁」「何时」 questions: the tagger is not loaded otherwise."""
    if _ASKS_PERSON.search(text):
        return _names_a_person
    if _ASKS_TIME.search(text):
        return lambda sentence: bool(_TIME_WRITTEN.search(sentence))
    return None


def _names_a_person(sentence: str) -> bool:
    """A person's name as jieba's tagger reads it: a word tagged nr (李白), or a surname tagged nr followed
    by a rare given name it does not know (王|牮)."""
    words = pos_words(sentence)
    for i, (start, end, flag) in enumerate(words):
        if flag != "nr":
            continue
        if end - start >= 2:
            return True
        if i + 1 < len(words) and words[i + 1][2] in ("g", "nr", "nrfg", "x") and re.fullmatch(
                f"[{HAN}]{{1,2}}", sentence[words[i + 1][0]:words[i + 1][1]]):
            return True
    return False


def pick_sentences(query: Query, hits: list[Hit], *, max_hits: int = 8, max_sentences: int = 4,
                   semantic: Callable[[str, Sequence[str]], Sequence[float]] | None = None,
                   veto: bool = True) -> list[Sentence]:
    """The sentences and rows that answer the question, best first; [] when none does. `veto`: a figure
    sentence far from the question in words and in meaning is declined (off for a part of a question, whose
    text is a rewritten fragment)."""
    scored = candidates(query, hits, max_hits=max_hits)
    if not scored:
        return []
    number_asked = wants_number(query)
    evidence = scored[0].score  # how well the best candidate answers in the question's own terms: decides declining
    if semantic is not None and len(scored) > 1 and scored[0].score - scored[1].score < SEMANTIC_MARGIN:
        # the few lexically best candidates re-ordered on meaning when the words leave it open: 「地里打了多少粮」
        # finds 「粮食总产量…」 (a sentence's first words carry its indicator: only those are embedded)
        head = scored[:SEMANTIC_HEAD]
        similarities = semantic(query.text, [s.search[:SEMANTIC_CHARS] for s in head])
        centre = max(similarities) if SEMANTIC_CENTRE is None else SEMANTIC_CENTRE
        head = [Sentence(s.hit, s.display, s.score + W_SEMANTIC * (sim - centre), s.search, s.index)
                for s, sim in zip(head, similarities)]
        scored = sorted(head, key=lambda s: -s.score) + scored[SEMANTIC_HEAD:]
    best = scored[0]
    # A question about a place, a year or a figure is declined below MIN_SCORE (calibrated on the seed eval's
    # unanswerable questions, all of that shape); an open question (「…是谁」「…是哪一年」) only when nothing
    # in its passages relates to it at all.
    specific = number_asked or bool(query.regions or query.years)
    if evidence < (MIN_SCORE if number_asked else MIN_SCORE_PLACE if specific else MIN_SCORE_OPEN):
        return []
    if not veto and number_asked and not _holds_head(query, best.search):
        return []  # a part of a question (「…和城镇登记失业率分别是多少」) answered only by a sentence on its own indicator
    def fits(sentence: Sentence) -> bool:
        return fits_indicator(query, sentence.search, sentence.hit.chunk.is_table_row, sentence.hit.chunk.body)

    if number_asked and not fits(best):
        # another indicator's figure (「茅台酒产量」 -> 「新能源汽车产量突破25万辆」): the best candidate that can state
        # the one asked, else decline
        fitting = [(i, s) for i, s in enumerate(scored) if i and fits(s)]
        near = [s for i, s in fitting if i < SEMANTIC_RESCUE and s.score >= evidence - PICK_BAND]
        if not near:
            return []
        best = near[0]
        scored = [best] + [s for _i, s in fitting if s is not best]
    if (veto and number_asked and semantic is not None and not query.parts and query.measure != "target"
            and _topic_coverage(query, best.search) < MIN_COVERAGE_ALONE
            and (not _holds_head(query, best.search, named_only=True)
                 or semantic(query.text, [best.search[:SEMANTIC_CHARS]])[0] < MIN_SEMANTIC_ALONE)):
        # neither the words nor the meaning of the best answer the question (「常住人口多少」 -> 「…体育村升级工程
        # 21个」), or it holds few of its words and not the indicator (「城镇非私营单位平均工资」 -> 「城镇新增就业
        # 124.9万人」): a candidate further down close in meaning and naming the indicator leads instead
        # (「地里打了多少粮」 -> 「粮食总产量…」), else decline rather than state a figure that misleads
        rest = [s for s in scored[1 : 1 + SEMANTIC_RESCUE] if _holds_head(query, s.search)]
        if not rest:
            return []
        similarities = semantic(query.text, [s.search[:SEMANTIC_CHARS] for s in rest])
        top = max(range(len(rest)), key=lambda i: similarities[i])
        if similarities[top] < MIN_SEMANTIC_ALONE + RESCUE_MARGIN:
            return []
        best = Sentence(rest[top].hit, rest[top].display, best.score, rest[top].search, rest[top].index)
        scored = [best] + [s for i, s in enumerate(rest) if i != top]
    band = PICK_BAND if specific else PICK_BAND_OPEN
    picked = [s for s in scored if s.score >= best.score - band]
    if number_asked and query.measure in ("target", "value") and not _GROWTH_WORD.search(query.text) \
            and not _SHARE_WORD.search(query.text):
        other = _other_measure(query, best, scored[1:SEMANTIC_RESCUE])
        if other is not None and other not in picked:
            picked.insert(1, other)
    unique: list[Sentence] = []
    for sentence in picked:
        if all(sentence.display not in other.display and other.display not in sentence.display for other in unique):
            unique.append(sentence)
        if len(unique) >= max_sentences:
            break
    return unique


def _other_measure(query: Query, best: Sentence, rest: Sequence[Sentence]) -> Sentence | None:
    """「固定资产投资目标是多少」, the measure unsaid: when the best sentence states the indicator as a rate
    (「增长7%」) and another of the same document states it as a level (「900亿元以上」), or the other way
    round, that one too — the user gets both, each cited."""
    lead = lead_line(query, best)
    if lead is None or not lead.unit:
        return None
    rate = lead.unit in ("%", "个百分点")
    core = [t for t in query.topic if not _MEASURE_TERM.fullmatch(t)]
    for sentence in rest:
        if sentence.hit.chunk.doc_id != best.hit.chunk.doc_id or not core or any(
                _term_share(t, sentence.search) < GAPPED_TERM for t in core):
            continue  # another document, or not the whole indicator
        other = lead_line(query, sentence)
        if other is not None and other.unit and (other.unit in ("%", "个百分点")) != rate:
            return sentence
    return None


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
    return sum(1 for t in core if t in clause or any(x in clause for x in lex.synonyms.get(t.lower(), ()))
               or _term_share(t, clause) >= GAPPED_TERM)


_ASKED_UNIT = re.compile(rf"(?:多少|几)\s*({UNIT}|亿斤|万斤|公斤|斤|千克|公尺|米|岁|天|小时|[对件辆台座所户套张条项名位架艘头只])")


def _asked_unit(text: str) -> str:
    """The unit a question counts in: 「多少斤」 -> 斤, 「多少亿元」 -> 亿元; "" when it names none (「第几位」 asks
    for a rank, 「20几所高校」 is a number the question states)."""
    match = _ASKED_UNIT.search(text)
    if match is None or re.search(r"(?:第|\d)\s*$", text[: match.start()]):
        return ""
    return match.group(1)


def lead_line(query: Query, sentence: Sentence) -> Lead | None:
    """The figure the question asks for, in the passage's own words: the clause holding the topic and a figure,
    with the growth clause that follows it; prefixed with the place and year when the clause does not name
    them. None when the sentence has no such clause (a table row, a sentence without a figure)."""
    chunk = sentence.hit.chunk
    if chunk.is_table_row:
        row = _row_line(query, chunk)
        if row is None:
            # a task table's row states its figure inside a sentence of its content cell (「内容及要求: …新引进
            # 各类人才4万人以上。」): the clause of that cell, as for running text
            cells = [(d, s) for (_h, d), (_h2, s) in zip(chunk.cells, chunk.search_cells)
                     if _NUMBER.search(s) and re.search(f"[{HAN}]", s) and len(s) > 40]
            if not cells:
                return None
            display, search = max(cells, key=lambda pair: len(pair[1]))
            return _clause_lead(query, sentence.hit, search if len(search) == len(display) else display, display)
        text, figure = row
        number = _FIGURE_PARTS.match(figure)
        value = float(number.group(1).replace("−", "-")) if number else None
        return Lead(text, figure if number else "", value, (number.group(2) or "") if number else "", sentence.hit)
    text = sentence.search if len(sentence.search) == len(sentence.display) else sentence.display
    display = sentence.display if len(sentence.search) == len(sentence.display) else text
    return _clause_lead(query, sentence.hit, text, display)


def _clause_lead(query: Query, hit: Hit, text: str, display: str) -> Lead | None:
    """The lead from one sentence: `text` is read (Simplified where it aligns), `display` is quoted."""
    chunk = hit.chunk
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
    unit = _asked_unit(query.text)
    best, best_score = -1, 0.0
    for i, clause in enumerate(clauses):
        if not _NUMBER.search(clause):
            continue
        score = _term_hits(query, clause) + (0.5 if i and _term_hits(query, clauses[i - 1]) else 0.0)
        if unit and re.search(rf"(?<![\d.])\d+(?:\.\d+)?{re.escape(unit)}", clause):
            score += 0.8  # 「一亩能打多少斤」: the figure counted in the unit asked (「1050斤」, not 「42.2亿斤」)
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
    return Lead(_where(query, chunk, piece, sure=hit.sure_metadata) + piece + "。", figure, value, unit, hit)


def _where(query: Query, chunk: Chunk, piece: str, sure: bool = True) -> str:
    """The place and year a lead line needs, unless the piece names them already. The place only when it is
    sure (a manifest, the document's title) or asked: a place guessed from mentions is not the sentence's."""
    region = chunk.region
    known = region and (sure or region in query.regions)
    place = region if known and not any(a in piece for a in region_aliases(region)) else ""
    years_written = set(_YEAR_MENTION.findall(piece))
    year = ""
    if not years_written and len(query.years) == 1:
        year = f"{next(iter(query.years))}年"
    return place + year


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
        # the row's unit (「实际利用外资(亿美元)」) is more specific than a column's (「绝对值(亿元)」), except for a
        # column of rates (「增幅(%)」: 14.2 is a percentage whatever the row counts in)
        rate_column = head_unit is not None and head_unit.group(1) in ("%", "个百分点")
        chosen = head_unit if rate_column else (row_unit or head_unit)
        unit = chosen.group(1) if chosen else ""
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
_ENUMERATION = re.compile(r"哪些|哪几|有什么|包括|列举|分别是什么|是什么|各自")


def asks_enumeration(text: str) -> bool:
    return bool(_ENUMERATION.search(text))


def announces_list(text: str) -> bool:
    return bool(lexicon().answer.list_intro.search(text.strip()))


def list_items(sentence: Sentence, chunks_after: Callable[[Chunk], list[Chunk]] | None,
               max_items: int = 12, whole: bool = False,
               section_rest: Callable[[Chunk], list[Chunk]] | None = None) -> list[tuple[Hit, str, str]]:
    """The enumeration a sentence announces: the rest of its passage when it is written 「一是…二是…」, the
    following list items of the same list, or the passages of the child headings below its heading.
    `whole`: the passage's sentences before it too (a measure paragraph: 「5.持续优化营商环境。实施…」), and the
    passages that continue its section (`section_rest`) when it has no child headings."""
    chunk = sentence.hit.chunk
    items: list[tuple[Hit, str, str]] = []
    sentences = _sentences(sentence.hit)
    rest = [p for i, p in enumerate(sentences) if i != sentence.index] if whole else sentences[sentence.index + 1 :]
    for display, search in rest:
        items.append((sentence.hit, display, search))
    children = chunks_after(chunk) if chunks_after is not None else []
    for nxt in children:
        if len(items) >= max_items:
            break
        items.append((Hit(0, 0.0, nxt), *_item_text(chunk, nxt)))
    if not children and section_rest is not None:
        for nxt in section_rest(chunk):  # the section goes on in the next passages: their sentences continue it
            items.extend((Hit(0, 0.0, nxt), d, s) for d, s in _sentences(Hit(0, 0.0, nxt)))
    return items[:max_items]


_ITEM_NUMBER = re.compile(r"^\d+[.、．]\s*")


def _item_text(announcing: Chunk, item: Chunk) -> tuple[str, str]:
    """An item as shown: the child heading it sits under (「(一)立足长治久安,建设更高水平平安西藏」, its leading
    「1.」 dropped: a number its passage need not hold), else its first sentence."""
    depth = len(announcing.breadcrumb)
    if item.kind != "heading" and len(item.breadcrumb) > depth and item.breadcrumb[:depth] == announcing.breadcrumb:
        name = _ITEM_NUMBER.sub("", item.breadcrumb[depth]).strip()
        if name:
            return name, name
    return _first_sentence(item.display_text), _first_sentence(item.body)


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


def _not_out(query: Query, search: str) -> bool:
    """The best passage says the figure is not out (「二季度数据未出」) and states none for the period asked
    (「一季度…3.8%」 still answers 「一季度」)."""
    if not _NOT_OUT.search(search):
        return False
    asked = set(_PERIOD.findall(query.text))
    return not asked or not any(p in search for p in asked)


def not_out(query: Query, sentence: Sentence) -> Answer:
    """The passage that answers says the figure is not out yet (「二季度数据未出」): a decline that quotes it."""
    hit = replace(sentence.hit, rank=1)
    text = f"{NOT_FOUND}该数据：文档说明该数据尚未发布或尚未统计。\n- {sentence.display} [1]"
    return Answer(query.raw, text, (Citation(1, hit),), found=False, query=query, method="extractive",
                  evidence=(Evidence(1, sentence.display, sentence.search),))


def answer_question(query: Query, hits: list[Hit], *,
                    semantic: Callable[[str, Sequence[str]], Sequence[float]] | None = None,
                    chunks_after: Callable[[Chunk], list[Chunk]] | None = None, covered: str = "") -> Answer:
    """An extractive answer with [n] markers — the direct line first — or an honest 「未在文档中找到」.

    `covered` describes what the indexed documents cover, shown when a place is not covered."""
    return compose(query, hits, semantic=semantic, chunks_after=chunks_after, covered=covered)[0]


def compose(query: Query, hits: list[Hit], *,
            semantic: Callable[[str, Sequence[str]], Sequence[float]] | None = None,
            chunks_after: Callable[[Chunk], list[Chunk]] | None = None, covered: str = "",
            section_rest: Callable[[Chunk], list[Chunk]] | None = None, veto: bool = True,
            ) -> tuple[Answer, Lead | None]:
    """The extractive answer and its direct line (None when it has none)."""
    specific = wants_number(query) or bool(query.regions or query.years)
    sentences = pick_sentences(query, hits, semantic=semantic, veto=veto,
                               max_sentences=6 if asks_enumeration(query.text) else 4 if specific else OPEN_SENTENCES)
    if not sentences:
        return decline(query, hits, covered if query.unknown_places else ""), None
    if query.measure != "target" and wants_number(query) and _not_out(query, sentences[0].search):
        return not_out(query, sentences[0]), None
    numbering = Numbering()
    lines: list[str] = []
    evidence: list[Evidence] = []
    best = sentences[0]
    wants_figure = wants_number(query)
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
    how = not wants_figure and bool(_ASKS_HOW.search(query.text))
    # 「主要预期目标有哪些」: the sentence opening the targets, then the targets that follow it
    targets = asks_enumeration(query.text) and bool(lexicon().target_intro.search(best.search))
    filled = ((blank := cloze(query.text)) is not None and bool(blank.search(best.search))) or (
        names_quoted(quoted_names(query.text), best.search) and best.search.count("、") >= 2)
    if (announces_list(best.search) or query.measure == "list" or how or targets) and not filled:
        # (a sentence that fills the question's blank, or names what it quotes with its items, holds the items
        # itself: 「未来城市样板地、未来科技策源地…」「“三大工程”建设：保障性住房建设、…、城中村改造」)
        shown = {s.display for s in sentences}
        whole = how and not announces_list(best.search)
        for hit, display, search in list_items(best, chunks_after, whole=whole, section_rest=section_rest):
            if display in shown or len(display) < 2:
                continue
            shown.add(display)
            n = numbering.cite(hit)
            lines.append(f"  - {display} [{n}]")
            evidence.append(Evidence(n, display, search))
    answer = Answer(query.raw, "\n".join(lines), tuple(numbering.citations), found=True, evidence=tuple(evidence),
                    query=query, method="extractive")
    return answer, lead
