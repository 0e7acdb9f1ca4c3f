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
from collections.abc import Iterable
from dataclasses import replace
from functools import lru_cache

from rag.lexicon import lexicon
from rag.lexicon.places import Place, national_places
from rag.records import Query
from rag.zh import HAN, expand_two_digit_years, normalize_query, tokenize, years_in

_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "自治州", "新区", "区", "县", "省", "市")
_GROWTH = re.compile(r"增长|增速|增幅|涨了|涨幅|提高了?多少|下降了?多少|同比")
_LIST = re.compile(r"哪些|有哪几|哪几|列举|包括什么|包括哪")


# The national government names itself so (rag/ingest/metadata.py reads a report titled 国务院… or
# 中华人民共和国… as about 全国): a question naming 国务院 asks about the 全国 report.
NATIONAL = "全国"
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


def _suffix_places(text: str) -> list[tuple[str, int, int]]:
    """Words ending in 区/县 that read as a district the national list may not have (a new zone, a
    renamed district): 「…区」 not followed by an office word, and not a generic word (全区, 园区 …)."""
    lex = lexicon()
    found = []
    for match in _SUFFIX_PLACE.finditer(text):
        name = match.group(0)
        after = text[match.end() : match.end() + 2]
        if any(after.startswith(w) for w in lex.office_words):
            continue
        if name in lex.not_places or any(name.endswith(x) for x in lex.not_places if x != "新区"):
            continue
        if re.search(r"[的之和与及在是了]", match.group(1)):
            continue  # 「增长的区年度目标」: a phrase, not a name
        found.append((match.group(1), match.start(), match.end()))
    return found


class QueryParser:
    """Parses questions against the regions of one index (config in `__init__`, one `parse()`)."""

    def __init__(self, known_regions: Iterable[str] = ()) -> None:
        self.known_regions = frozenset(r for r in known_regions if r)
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
        expansions = tuple(lex.expansions(text))
        regions = frozenset(r for r, names in self._aliases.items() if any(a in text for a in names))
        years = frozenset(years_in(text))
        places: list[str] = []
        unknown: set[str] = set()
        spans: list[tuple[int, int]] = []
        for mention in national_places().mentions(text):
            places.append(mention.text)
            spans.append((mention.start, mention.end))
            if not any(self._covers(p, mention.text) for p in mention.places):
                unknown.add(mention.text)
        for name, start, _end in _suffix_places(text):
            if any(s <= start < e for s, e in spans):
                continue
            places.append(name)
            if not self._covers(None, name):
                unknown.add(name)
        if not self.known_regions:
            unknown = set()  # an index without region metadata cannot say a place is not covered
        terms = tuple(dict.fromkeys(t for t in tokenize(text) if t not in lex.question_words and not t.isdigit()))
        aliases = {a for r in regions for a in self._aliases[r]} | set(places)
        topic = tuple(t for t in terms if len(t) >= 2 and not _is_place_or_year(t, aliases))
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
            measure=measure_asked(text),
        )
        return query


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
    if lex.asks_number.search(text):
        return "value"
    return ""


def _parts(parser: QueryParser, query: Query) -> tuple[Query, ...]:
    """One part per region, per year or per indicator when the question names two or more
    (「滨江和余杭…各是多少」「2021年实际和2022年目标」「A和B分别是多少」). Each part is the question with the
    other parts' place, year or indicator taken out, parsed again, so it retrieves on its own."""
    text = query.text
    if len(query.regions) >= 2:
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
        parts.append(replace(part, raw=part_text, parts=()))
    return tuple(parts)


def _without(text: str, alias: str, with_year: bool) -> str:
    """The question without a place (and, `with_year`, the year written right after it) and one joining word."""
    pattern = re.escape(alias) + (r"(?:\d{4}年)?" if with_year else "")
    return re.sub(rf"{pattern}[和与及、,，]|[和与及、]{pattern}|{pattern}", "", text, count=1)


_MEASURE_WORDS = re.compile(r"\d{4}年|多少|是多少|几|实际|实绩|目标|计划|预期|控制|的|是|各|分别|全年|上半年|下半年|前三季度|"
                            r"[一二三四]季度|[,，;；和与及、]")


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
    if each is not None and (m := each.search(last)):
        ask = last[m.end():].removeprefix("是") or ask
        segments[-1] = last[: m.start()] + ask
    segments = [re.sub(r"[和与及、,，;；]+$", "", seg) for seg in segments]
    head_has_topic = len(re.sub(f"[^{HAN}]", "", _MEASURE_WORDS.sub("", head))) >= 4
    donor = next((i for i, seg in enumerate(segments) if len(_MEASURE_WORDS.sub("", seg)) >= 2), None)
    out = []
    for i, seg in enumerate(segments):
        if donor is not None and i != donor and not head_has_topic and len(_MEASURE_WORDS.sub("", seg)) < 2:
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
