"""Query understanding: a question is parsed once into a `Query` that the retriever and answerers read.

- normalised exactly like documents (NFKC + Traditional->Simplified), 「21年」 -> 「2021年」;
- the user's words (GDP, 社零, 外贸) get the report terms (lexicon synonyms) for the lexical rankers;
- places are read with China's national list of divisions (rag/lexicon/places) and matched to the
  regions of the index: a place no indexed document covers — a city of an indexed province, a
  district no report is about — is an `unknown_place`, so no answer gives another place's figure;
- years named, the measure asked (value, growth, target, status, list) and, for a question about two
  places or two years, one part per place or year.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from functools import lru_cache

from rag.lexicon import lexicon
from rag.lexicon.places import Place, national_places
from rag.records import Query
from rag.zh import (
    HAN,
    NATIONAL,
    Word,
    expand_two_digit_years,
    normalize_query,
    plausible_region,
    pos_words,
    reads_as_place,
    tokenize,
    years_in,
)

_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "自治州", "新区", "区", "县", "省", "市")
_GROWTH = re.compile(r"增长|增速|增幅|涨了|涨幅|提高了?多少|下降了?多少|同比")
_LIST = re.compile(r"哪些|有哪几|哪几|列举|包括什么|包括哪")


# The national government names itself so (rag/ingest/metadata.py reads a report titled 国务院… or
# 中华人民共和国… as about 全国): a question naming 国务院 asks about the 全国 report.
_NATIONAL_NAMES = ("国务院", "中华人民共和国", "中央政府")


def region_aliases(region: str) -> list[str]:
    """拱墅区 -> [拱墅区, 拱墅]; 钱塘新区 -> [钱塘新区, 钱塘]; 宁夏回族自治区 -> [宁夏回族自治区, 宁夏];
    全国 -> [全国, 国务院, 中华人民共和国, 中央政府]."""
    if region == NATIONAL:
        return [region, *_NATIONAL_NAMES]
    names = [region]
    for place in national_places().by_name(region):
        if place.short != region and place.short not in names:
            names.append(place.short)
    for suffix in _SUFFIXES:
        if region.endswith(suffix) and len(region) - len(suffix) >= 2 and region[: -len(suffix)] not in names:
            names.append(region[: -len(suffix)])
            break
    return names


_SUFFIX_PLACE = re.compile(rf"([{HAN}]{{2,3}}?)(?:新区|区|县)")


def _suffix_places(text: str, known: Sequence[tuple[int, int]] = ()) -> list[tuple[str, int, int]]:
    """Words ending in 区/县 that read as a district the national list may not have (a new zone, a
    renamed district): 「…区」 not followed by an office word, not a generic word (全区, 园区 …), and read
    as a place name by jieba (so 发球区, 一个区, 第一区, 国家区, 哪一区 are not)."""
    lex = lexicon()
    found = []
    words = None
    for match in _SUFFIX_PLACE.finditer(text):
        name = match.group(0)
        if any(start <= match.start() < end for start, end in known):
            continue  # inside a place already found (余杭区 of the national list): no tagger needed
        after = text[match.end() : match.end() + 2]
        if any(after.startswith(w) for w in lex.office_words):
            continue
        if name in lex.not_places or any(name.endswith(x) for x in lex.not_places if x != "新区"):
            continue
        if re.search(r"[的之和与及在是了]", match.group(1)):
            continue  # 「增长的区年度目标」: a phrase, not a name
        words = words if words is not None else pos_words(text)
        if not reads_as_place(words, match.start(), match.end()):
            continue
        found.append((match.group(1), match.start(), match.end()))
    return found


def _real_mention(words: tuple[Word, ...], text: str, mention) -> bool:
    """A national-list mention that reads as the place in this sentence (not 白银 of 白银时代, 中正 of 蒋中正)."""
    if reads_as_place(words, mention.start, mention.end,
                      full_name=any(p.name == mention.text and p.short != p.name for p in mention.places)):
        return True
    if any(p.level in ("province", "city") for p in mention.places) and reads_as_place(
            words, mention.start, mention.end, tags=("ns", "nrt")):
        return True  # 「拉萨2025年…」: jieba tags a city it transliterates (拉萨) nrt; a whole word that is a city is one
    if any(w[0] == mention.start and w[1] > mention.end and w[2].startswith("ns") for w in words):
        return True  # 「杭州市区」: one place word that begins with the name
    for place in mention.places:  # 「杭州城区」: jieba cuts 杭州|城区, the short name is the place
        short = place.short
        if short != mention.text and text.startswith(short, mention.start) and \
                reads_as_place(words, mention.start, mention.start + len(short)):
            return True
    return False


def _names(text: str, alias: str, region: str) -> bool:
    """Does `text` name `region` by `alias` — not as the start of another division's full name (台北 of
    台北市 is not the region 台北县)?"""
    start = text.find(alias)
    while start >= 0:
        longer = text[start : start + len(alias) + 1]
        ranks = alias == NATIONAL and _NATIONAL_RANK.search(text[max(0, start - 2) : start + len(alias) + 2])
        if not ranks and (longer == alias or region.startswith(longer) or not any(
                p.name == longer for p in national_places().by_name(longer))):
            return True
        start = text.find(alias, start + 1)
    return False


# 「增速在全国排第几」「居全国第1位」: 全国 as the scale of a ranking, not the place asked about
_NATIONAL_RANK = re.compile(r"(?:在|居|列|位居|位列)全国|全国(?:排|第|前列|首位|前|领先|平均)")


class QueryParser:
    """Parses questions against the regions of one index (config in `__init__`, one `parse()`)."""

    def __init__(self, known_regions: Iterable[str] = ()) -> None:
        # regions a metadata reader took from phrases (一个区, 主要区) would match every question with 一个
        self.known_regions = frozenset(r for r in known_regions if r and plausible_region(r))
        self._aliases = {r: region_aliases(r) for r in self.known_regions}
        self._covered = {a for names in self._aliases.values() for a in names}
        self._known_places = [p for r in self.known_regions for p in national_places().by_name(r)]

    def parse(self, question: str) -> Query:
        return _parse_cached(self, question)

    def aliases(self, region: str) -> list[str]:
        """The names a question may use for an indexed region (拱墅区 -> 拱墅区, 拱墅)."""
        return self._aliases.get(region) or [region]

    def _covers(self, place: Place | None, written: str) -> bool:
        """Does an indexed region cover this place? Same name, or the region lies inside the place
        (a province report covers questions about the province, a city's district report does not
        cover the city)."""
        if any(written in alias or alias in written for alias in self._covered if len(alias) >= 2):
            return True
        if place is None:
            return False
        return any(p == place for p in self._known_places)

    def _parse(self, question: str) -> Query:
        query = self._parse_one(question)
        return replace(query, parts=_parts(self, query))

    def _parse_one(self, question: str) -> Query:
        lex = lexicon()
        text = expand_two_digit_years(normalize_query(question))
        reworded, report_words = lex.in_report_words(text)  # 「经济盘子」 -> 地区生产总值
        expansions = tuple(dict.fromkeys([*lex.expansions(text), *lex.expansions(reworded),
                                          *(w for group in report_words for w in group if w not in text)]))
        regions = frozenset(r for r, names in self._aliases.items() if any(_names(text, a, r) for a in names))
        years = frozenset(years_in(text))
        places: list[str] = []
        unknown: set[str] = set()
        spans: list[tuple[int, int]] = []
        for mention in national_places().mentions(text):
            covered = any(self._covers(p, mention.text) for p in mention.places)
            # the tagger only for a place no document covers (it costs its model's load on first use)
            if not covered and not _real_mention(pos_words(text), text, mention):
                continue  # a piece of other words (白银时代, 卢安达, 西方正典): no place named
            places.append(mention.text)
            spans.append((mention.start, mention.end))
            if not covered:
                unknown.add(mention.text)
        for name, _start, _end in _suffix_places(text, spans):  # outside the places already found
            places.append(name)
            if not self._covers(None, name):
                unknown.add(name)
        if not self.known_regions:
            unknown = set()  # an index without region metadata cannot say a place is not covered
        terms = tuple(dict.fromkeys(t for t in tokenize(text) if t not in lex.question_words and not t.isdigit()))
        aliases = {a for r in regions for a in self._aliases[r]} | set(places)
        # what the question is about, in the words a report would use (the search keeps the user's words too)
        about = terms if reworded == text else tuple(dict.fromkeys(
            t for t in tokenize(reworded) if t not in lex.question_words and not t.isdigit()))
        singles = [t for t in about if len(t) == 1 and t not in _COUNTING_NOUNS and re.fullmatch(f"[{HAN}]", t)]
        nouns = _single_nouns(reworded or text) if singles else frozenset()  # the tagger only when there is one
        topic = tuple(t for t in about if (len(t) >= 2 or t in nouns)
                      and not _is_place_or_year(t, aliases) and not lex.question_word_pattern.fullmatch(t))
        query = Query(
            raw=question,
            text=text,
            expansions=expansions,
            regions=regions,
            years=years,
            unknown_places=frozenset(unknown),
            places=tuple(dict.fromkeys(places)),
            terms=terms,
            topic=topic,
            report_words=tuple(report_words),
            reworded=reworded if reworded != text else "",
            measure=measure_asked(reworded),  # 「经济盘子过两千亿了没有」 asks for 地区生产总值
        )
        return query


# Characters that are nouns to jieba but count or date things (多少人, 几年, 多少钱), never what is asked about.
_COUNTING_NOUNS = frozenset("人年月日天元钱家个次户亩斤吨岁")


def _single_nouns(text: str) -> frozenset[str]:
    """One-character nouns the question asks about (「挖出来多少煤」「输出去了多少度电」): the only word for what it
    asks, in an everyday question."""
    return frozenset(text[a:b] for a, b, tag in pos_words(text)
                     if b - a == 1 and tag == "n" and text[a:b] not in _COUNTING_NOUNS)


# 「2024年国务院政府工作报告…」「国务院2024年报告…」「新疆2026年报告中…」: the year names a report, not the
# period asked about — the report of year Y is the one that plans Y (its latest year).
_REPORT_YEAR = re.compile(r"(\d{4})年(?:的)?[^\d，。,；;？?、和与及]{0,10}?报告")


@lru_cache(maxsize=4096)
def report_years(text: str) -> frozenset[int]:
    """Years a question uses to name a report (normalised text)."""
    return frozenset(int(m.group(1)) for m in _REPORT_YEAR.finditer(text))


def _is_place_or_year(term: str, aliases: set[str]) -> bool:
    return term.isdigit() or any(term in a or a in term for a in aliases if a)


def measure_asked(text: str) -> str:
    """What kind of answer the question wants: status, target, growth, list, value, or ""."""
    lex = lexicon()
    asks = lex.status.ask
    if any(asks[k].search(text) for k in ("not_done", "exceeded", "done", "lowest", "awaiting")):
        return "status"
    if lex.asks_target.search(text) and re.search(r"目标|预期|计划|力争|打算", text):
        return "target"
    if _GROWTH.search(text):
        return "growth"
    if lex.answer is not None and lex.answer.asks_compare.search(text):
        return "value"  # 「谁的GDP更高」: two figures to compare
    if _LIST.search(text):
        return "list"
    if lex.asks_number.search(text) and (lex.asks_amount.search(text) or not lex.asks_entity.search(text)):
        return "value"  # 「收入多少」「GDP总值」, not 「哪种方式提高效率」
    return ""


def _parts(parser: QueryParser, query: Query) -> tuple[Query, ...]:
    """One part per region, per year or per indicator when the question names two or more
    (「滨江和余杭…各是多少」「2021年实际和2022年目标」「A和B分别是多少」). Each part is the question with the
    other parts' place, year or indicator taken out, parsed again, so it retrieves on its own."""
    text = query.text
    if len(query.regions) >= 2 and (clauses := _region_clauses(parser, query)):
        texts = clauses
    elif len(query.regions) >= 2:
        aliases = {r: sorted(parser._aliases[r], key=len, reverse=True) for r in query.regions}
        texts = []
        for region in sorted(query.regions):
            part = text
            for other in query.regions - {region}:
                for alias in aliases[other]:
                    if alias in part:
                        part = _without(part, alias, len(query.years) >= 2)
                        break
            texts.append(part)
    elif len(query.years) >= 2 and not re.search(r"\d{4}\s*[-—~至到]\s*\d{4}", text):
        texts = _year_texts(text, sorted(query.years))
    else:
        texts = _indicator_texts(query)
    if len(texts) < 2:
        return ()
    parts = []
    for part_text in texts:
        part = parser._parse_one(part_text)
        # 「A2019年GDP和B2021年GDP哪个高」: the part 「A2019年GDP」 asks what the whole asks (a value)
        parts.append(replace(part, raw=part_text, parts=(), measure=part.measure or query.measure))
    return tuple(parts)


_JOIN = "和与及、,，;；"
_ASK_ONLY = re.compile(r"[呢吗?？。!！\s]|是多少|多少|是|的|又|那|那么")


def _region_clauses(parser: QueryParser, query: Query) -> list[str]:
    """「钱塘新区2019年GDP和滨江2021年GDP哪个高」: each place opens its own clause (its year, its indicator),
    so each part is its clause — 「钱塘新区2019年GDP」「滨江2021年GDP」 — without the comparison asked of both
    (the whole question keeps it). A clause with nothing of its own (「…，余杭呢」) takes the first clause's
    words. [] when the places stand side by side (「滨江和余杭2021年GDP」)."""
    text = query.text
    found = []
    for region in query.regions:
        hits = [(text.find(a), a) for a in sorted(parser._aliases[region], key=len, reverse=True) if a in text]
        if not hits:
            return []
        found.append(min(hits, key=lambda h: (h[0], -len(h[1]))))
    found.sort()
    starts = [pos for pos, _ in found]
    if len(set(starts)) != len(starts) or any(text[pos - 1] not in _JOIN + "比" for pos in starts[1:]):
        return []  # each later place opens a clause after a joining word (和, ，, 比): 「A…和B…」
    clauses = [text[a:b] for a, b in zip(starts, starts[1:] + [len(text)])]
    if any(not clause[len(alias):].strip(_JOIN) for clause, (_, alias) in zip(clauses[:-1], found)):
        return []  # 「滨江和余杭…」: the places share one clause
    head = text[: starts[0]]
    words = lexicon().answer
    last = clauses[-1]
    if words is not None and (m := words.asks_compare.search(last)) and m.start() >= len(found[-1][1]):
        clauses[-1] = last[: m.start()]
    clauses = [re.sub(f"[{_JOIN}比]+$", "", c) for c in clauses]
    owns = [clause[len(alias):] for clause, (_, alias) in zip(clauses, found)]

    def words_of(own: str) -> str:
        return _ASK_ONLY.sub("", _MEASURE_WORDS.sub("", own))

    donor = next((i for i, own in enumerate(owns) if len(words_of(own)) >= 2), None)
    out = []
    for i, (_, alias) in enumerate(found):
        own = owns[i]
        if donor is not None and i != donor and len(words_of(own)) < 2:
            # 「钱塘新区2019年和滨江2021年…收入」 (its year, the other's indicator), 「…，余杭呢」 (all the other's)
            year = re.search(r"\d{4}年", own)
            own = year.group(0) + re.sub(r"^\d{4}年", "", owns[donor]) if year else owns[donor]
        out.append(head + alias + own)
    return out


def _without(text: str, alias: str, with_year: bool) -> str:
    """The question without a place (and, `with_year`, the year written right after it) and one joining word."""
    pattern = re.escape(alias) + (r"(?:\d{4}年)?" if with_year else "")
    return re.sub(rf"{pattern}[和与及、,，]|[和与及、]{pattern}|{pattern}", "", text, count=1)


_MEASURE_WORDS = re.compile(r"\d{4}年|多少|是多少|几|实际|实绩|目标|计划|预期|控制|的|是|各|分别|全年|上半年|下半年|前三季度|"
                            r"[一二三四]季度|[,，;；和与及、]")


_PLAN_WORDS = re.compile(r"打算|预计|准备|力争|要|将")


def _year_texts(text: str, years: list[int]) -> list[str]:
    """Per year: the question cut at its years — 「滨江2021年城镇登记失业率和2022年的控制目标」 -> 「滨江2021年城镇
    登记失业率」「滨江2022年城镇登记失业率的控制目标」 (a part naming no indicator borrows the first part's)."""
    starts = [m.start() for m in re.finditer(r"\d{4}年", text) if int(m.group(0)[:4]) in years]
    if len(starts) < 2:
        return []
    head = text[: starts[0]]
    segments = [text[a:b] for a, b in zip(starts, starts[1:] + [len(text)])]
    each = lexicon().answer.asks_each if lexicon().answer else None
    last = segments[-1]
    ask = "多少"
    compare = lexicon().answer.asks_compare if lexicon().answer else None
    if each is not None and (m := each.search(last)):
        ask = last[m.end():].removeprefix("是") or ask
        segments[-1] = last[: m.start()] + ask
    elif compare is not None and (m := compare.search(last)) and m.start() > 0:
        segments[-1] = last[: m.start()] + ask  # 「…2025年新引进人才目标有什么变化」: each year's figure, compared after
    segments = [re.sub(r"[和与及、,，;；]+$", "", seg) for seg in segments]
    head_has_topic = len(re.sub(f"[^{HAN}]", "", _MEASURE_WORDS.sub("", head))) >= 4
    donor = next((i for i, seg in enumerate(segments) if len(_MEASURE_WORDS.sub("", seg)) >= 2), None)
    donor_words = _MEASURE_WORDS.sub("", segments[donor]) if donor is not None else ""
    out = []
    for i, seg in enumerate(segments):
        own = _PLAN_WORDS.sub("", _MEASURE_WORDS.sub("", seg))
        if donor is not None and i > donor and not head_has_topic and own and own != donor_words \
                and donor_words.startswith(own) and own in seg:
            # 「2021年新增绿化面积多少，2022年打算新增多少」: 新增 is the start of the indicator named before
            seg = seg.replace(own, donor_words, 1)
        elif donor is not None and i != donor and not head_has_topic and len(_MEASURE_WORDS.sub("", seg)) < 2:
            year = re.match(r"\d{4}年", seg)
            rest = seg[year.end() if year else 0 :]
            if donor < i:  # 「2021年城镇登记失业率和2022年的控制目标」: the indicator, then this part's own words
                borrowed = _MEASURE_WORDS.sub("", segments[donor])
            else:  # 「2022年和2025年GDP增长目标分别是多少」: the later part's words, whole
                borrowed = re.sub(r"^\d{4}年(?:全年|上半年|下半年|前三季度|[一二三四]季度)?", "", segments[donor])
            seg = (year.group(0) if year else "") + rest + borrowed if donor > i else \
                (year.group(0) if year else "") + borrowed + rest
        if not re.search(r"多少|几|是什么|哪些|吗", seg):
            seg += ask if i < len(segments) - 1 else ""
        out.append(head + seg)
    return out


def _strip_year(text: str) -> str:
    return re.sub(r"\d{4}年", "", text)


def _indicator_texts(query: Query) -> list[str]:
    """「A和B分别是多少」: one question per indicator, the place and year kept in both."""
    lex = lexicon()
    words = lex.answer
    if words is None or not words.asks_each.search(query.text):
        return []
    text = query.text
    each = words.asks_each.search(text)
    assert each is not None
    head_end = 0
    for match in re.finditer(r"\d{4}年", text[: each.start()]):
        head_end = match.end()
    for region_alias in sorted((a for r in query.regions for a in region_aliases(r)), key=len, reverse=True):
        pos = text.find(region_alias)
        if 0 <= pos < each.start():
            head_end = max(head_end, pos + len(region_alias))
            break
    head, body, tail = text[:head_end], text[head_end : each.start()], text[each.end():]
    for joiner in words.part_joiners:
        if joiner in body:
            left, right = body.split(joiner, 1)
            if len(left) >= 2 and len(right) >= 2:
                if len(left) <= 3 and len(right) > len(left) + 2:
                    left = left + right[len(left):]  # 「城镇和农村居民人均可支配收入」: the shared noun
                tail = tail.removeprefix("是")
                ask = tail or "多少"
                if _GROWTH.fullmatch(right.strip()) or right.strip() in ("增速", "增幅", "总量"):
                    right = re.sub(r"总量|总额|规模", "", left) + right
                return [head + left + ask, head + right + ask]
    return []


@lru_cache(maxsize=4096)
def _parse_cached(parser: QueryParser, question: str) -> Query:
    return parser._parse(question)


def parse_query(question: str, known_regions: Iterable[str] = ()) -> Query:
    """Parse one question against the given index regions (a convenience for tests and tools)."""
    return QueryParser(known_regions).parse(question)
