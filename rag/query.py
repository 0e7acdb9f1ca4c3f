"""Query understanding: normalise a question and read what it says about place, time and terms.

- normalised exactly like documents (NFKC + Traditional->Simplified);
- two-digit years written the colloquial way (「21年」) become four digits (「2021年」);
- abbreviations users type (GDP, 社零, 规上工业) are expanded to the names reports use, for BM25;
- regions and years named in the question are extracted for boosting and for the answer layer.

The abbreviation table is hand-written for Chinese government reports; no library has it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.clean import normalize_query

# user's word -> what the reports write (added to the BM25 query, the original stays)
ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "gdp": ("地区生产总值",),
    "生产总值": ("地区生产总值",),
    "经济总量": ("地区生产总值",),
    "社零": ("社会消费品零售总额",),
    "消费品零售": ("社会消费品零售总额",),
    "规上工业": ("规上工业增加值",),
    "规模以上工业": ("规上工业增加值",),
    "固投": ("固定资产投资",),
    "外资": ("实际利用外资",),
    "财政收入": ("一般公共预算收入", "财政总收入"),
    "研发": ("R&D",),
    "r&d": ("研发",),
    "增速": ("增长",),
    "涨了": ("增长",),
    "牵头": ("牵头单位",),
    "负责": ("牵头单位",),
    "上市公司": ("上市企业",),
    "实事": ("民生实事",),
    "就业": ("新增城镇就业",),
    "人口": ("常住人口",),
    # periods: progress tables write 「1-6月」「截至6月底」 where people say 「上半年」
    "上半年": ("1-6月", "截至6月底"),
    "1-6月": ("上半年",),
    "前三季度": ("1-9月",),
    "一季度": ("1-3月",),
    "今年以来": ("截至",),
}

_TWO_DIGIT_YEAR = re.compile(r"(?<![\d.])([0-4]\d)(?=年)")
_YEAR = re.compile(r"(?<!\d)(19[5-9]\d|20[0-4]\d)(?!\d)")


def expand_two_digit_years(text: str) -> str:
    """「21年」 -> 「2021年」; 「2021年」 and 「100年」 are left alone."""
    return _TWO_DIGIT_YEAR.sub(lambda m: f"20{m.group(1)}", text)


def region_aliases(region: str) -> list[str]:
    """拱墅区 -> [拱墅区, 拱墅]; 钱塘新区 -> [钱塘新区, 钱塘]; 浙江省 -> [浙江省, 浙江]."""
    names = [region]
    for suffix in ("维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "新区", "区", "县", "省", "市"):
        if region.endswith(suffix) and len(region) - len(suffix) >= 2:
            names.append(region[: -len(suffix)])
            break
    return names


# Hangzhou's districts and counties, the places our users ask about most; any other
# 「…区/县/市」 in a question is recognised by its suffix.
KNOWN_PLACES = ("上城", "下城", "江干", "拱墅", "西湖", "滨江", "萧山", "余杭", "临平", "钱塘", "富阳", "临安",
                "桐庐", "淳安", "建德")
_PLACE = re.compile(r"([\u4e00-\u9fff]{2,3}?)(?:新区|区|县)(?![\u4e00-\u9fff]{0,1}(?:域|划|级|委|政府))")
# Zones and generic words that end like a place name but name no district of their own.
_NOT_PLACES = {"全区", "本区", "城区", "园区", "社区", "景区", "辖区", "新区", "示范区", "先行区", "开发区", "地区",
               "高新区", "经开区", "自贸区", "保税区", "综保区", "试验区", "功能区", "片区", "街区", "校区", "老城区"}


def mentioned_places(text: str) -> set[str]:
    """Place names in a question: known districts, or words ending in 区/县/新区 (地区 excluded)."""
    places = {p for p in KNOWN_PLACES if p in text}
    for match in _PLACE.finditer(text):
        name = match.group(0)
        if name not in _NOT_PLACES and not any(name.endswith(x) for x in _NOT_PLACES if x != "新区"):
            places.add(match.group(1))
    return places


@dataclass(frozen=True)
class ParsedQuery:
    text: str  # normalised question
    bm25_text: str  # with abbreviations expanded
    regions: frozenset[str]  # regions of the index the question names
    years: frozenset[int]
    unknown_places: frozenset[str] = frozenset()  # places named that no indexed document covers


def parse_query(question: str, known_regions: set[str] | frozenset[str] = frozenset()) -> ParsedQuery:
    text = expand_two_digit_years(normalize_query(question))
    lowered = text.lower()
    extra = [full for short, fulls in ABBREVIATIONS.items() if short in lowered for full in fulls if full not in text]
    regions = frozenset(r for r in known_regions if r and any(alias in text for alias in region_aliases(r)))
    years = frozenset(int(y) for y in _YEAR.findall(text))
    covered = {alias for r in known_regions for alias in region_aliases(r)}
    unknown = frozenset(p for p in mentioned_places(text) if not any(p in c or c in p for c in covered))
    return ParsedQuery(text, " ".join([text, *extra]), regions, years, unknown if known_regions else frozenset())
