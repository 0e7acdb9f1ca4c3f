"""Indicator tables as facts: parse targets and results, decide each indicator's status.

Government reports publish their main indicators in tables (目标 / 完成 / 完成率 / 备注) or as
「主要预期目标」 lists. Each row becomes an `IndicatorRecord` with its status taken from what the
text says explicitly (低于目标X个百分点, 完成率, 序时推进, 数据未出 …) or, failing that, from comparing
a parsed target and actual in the same unit — and 未知 when neither holds, never a guess.

The cell grammar (「7.5%以上, 力争8%」, 「与经济增长同步」, 「占全国比重0.31%」) is specific to these
documents; no library parses it, so it is hand-written and tested on real cells from the seeds.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

# --- statuses ---------------------------------------------------------------------------------------
DONE, EXCEEDED, NOT_DONE, IN_PROGRESS, AWAITING_DATA, UNKNOWN = "已完成", "超额完成", "未完成", "进行中", "待出数", "未知"
STATUSES = (DONE, EXCEEDED, NOT_DONE, IN_PROGRESS, AWAITING_DATA, UNKNOWN)

# Names users type -> names the tables use (normalised indicator names).
INDICATOR_SYNONYMS = {
    "社零": "社会消费品零售总额",
    "gdp": "地区生产总值",
    "规上工业": "规上工业增加值",
    "规模以上工业增加值": "规上工业增加值",
    "固投": "固定资产投资",
}


@dataclass(frozen=True)
class ParsedValue:
    """A target or result cell, as written and as understood."""

    raw: str
    number: float | None = None
    unit: str = ""  # %, 亿元, 万人, 个 … ('' when none is written)
    comparator: str = ""  # 以上, 以下, 左右, 以内, 不低于, 不超过 …
    stretch: float | None = None  # 「力争8%」: the higher goal after the firm one
    relative: str = ""  # 「与经济增长同步」: a target relative to something else
    qualifier: str = ""  # 「占全国比重」: what the number is a share of


_NUM = r"[-−+]?\d+(?:\.\d+)?"
_UNIT = r"(?:%|个百分点|亿元|亿美元|万元|元|万人|人|万方|万平方米|平方米|公里|千米|家|个|项|所|张|台|座|条|处|户|套|次|吨|亿)"
_COMPARATORS = ("以上", "以下", "左右", "以内", "不低于", "不少于", "不超过", "不高于", "超过", "达到", "力争")
_FIRST_NUMBER = re.compile(rf"({_NUM})\s*({_UNIT})?")
_STRETCH = re.compile(rf"力争\s*({_NUM})\s*({_UNIT})?")
_RELATIVE = re.compile(r"(与[\u4e00-\u9fff]{2,12}(?:同步|相适应|持平|基本同步))")
_QUALIFIER = re.compile(r"^([\u4e00-\u9fff]{2,8}?(?:比重|比例|占比|排名|强度))")


def parse_value(cell: str) -> ParsedValue:
    """Parse a target/actual cell: 「7.5%以上, 力争8%」 -> 7.5 %, 以上, stretch 8."""
    raw = cell.strip()
    text = raw.replace("−", "-").replace("，", ",")
    if not text or text in {"—", "-", "/", "——", "无"}:
        return ParsedValue(raw)
    relative = _RELATIVE.search(text)
    stretch = _STRETCH.search(text)
    firm_text = text[: stretch.start()] if stretch and stretch.start() > 0 else text
    first = _FIRST_NUMBER.search(firm_text)
    if first is None and stretch is not None:  # 「力争增长25%」: the only number is the goal
        first = _FIRST_NUMBER.search(text)
        stretch = None
    qualifier = _QUALIFIER.search(text)
    comparator = next((c for c in _COMPARATORS if c in firm_text and c != "力争"), "")
    if first is None:
        return ParsedValue(raw, relative=relative.group(1) if relative else "", comparator=comparator)
    return ParsedValue(
        raw,
        number=float(first.group(1)),
        unit=first.group(2) or "",
        comparator=comparator or ("力争" if text.startswith("力争") else ""),
        stretch=float(stretch.group(1)) if stretch else None,
        relative=relative.group(1) if relative else "",
        qualifier=qualifier.group(1) if qualifier else "",
    )


# --- status ---------------------------------------------------------------------------------------------
_BELOW = re.compile(rf"低于(?:目标|预期|年度目标)?\s*({_NUM})\s*个?百分点")
_ABOVE = re.compile(rf"(?:高于|超过|超出)(?:目标|预期|年度目标)\s*({_NUM})?\s*个?百分点?")
_RATE = re.compile(rf"^\s*({_NUM})\s*%\s*$")
_AWAITING = re.compile(r"数据未出|尚未出数|暂未出数|未公布|预计于.{0,12}发布|年度数据|错年指标")
_IN_PROGRESS = re.compile(r"序时推进|正在推进|稳步推进|有序推进|加快推进|推进中|持续推进")
_DONE_WORDS = re.compile(r"已完成|完成目标|全面完成|提前完成|已实现|达到目标|完成年度(?:计划|目标)")
_NOT_DONE_WORDS = re.compile(r"未完成|未达到|未达标|差距")


@dataclass(frozen=True)
class Status:
    status: str
    gap_points: float | None = None  # percentage points above (+) or below (−) target
    rate: float | None = None  # completion rate in %
    reason: str = ""  # the words or comparison the status rests on


def status_from_text(completion: str, note: str = "") -> Status | None:
    """The status a report states explicitly in its completion or note cells, or None."""
    for text in (completion, note):
        text = (text or "").strip()
        if not text:
            continue
        if m := _BELOW.search(text):
            return Status(NOT_DONE, gap_points=-float(m.group(1)), reason=m.group(0))
        if m := _ABOVE.search(text):
            return Status(EXCEEDED, gap_points=float(m.group(1)) if m.group(1) else None, reason=m.group(0))
        if m := _RATE.match(text):
            rate = float(m.group(1))
            status = DONE if abs(rate - 100) < 1e-9 else (EXCEEDED if rate > 100 else NOT_DONE)
            return Status(status, rate=rate, reason=f"完成率{m.group(1)}%")
        if _NOT_DONE_WORDS.search(text):
            return Status(NOT_DONE, reason=_NOT_DONE_WORDS.search(text).group(0))  # type: ignore[union-attr]
        if _DONE_WORDS.search(text):
            return Status(DONE, reason=_DONE_WORDS.search(text).group(0))  # type: ignore[union-attr]
        if _AWAITING.search(text):
            return Status(AWAITING_DATA, reason=_AWAITING.search(text).group(0))  # type: ignore[union-attr]
        if _IN_PROGRESS.search(text):
            return Status(IN_PROGRESS, reason=_IN_PROGRESS.search(text).group(0))  # type: ignore[union-attr]
    return None


def status_from_values(target: ParsedValue, actual: ParsedValue) -> Status | None:
    """Compare a parsed target and actual when both are numbers in the same unit."""
    if target.number is None or actual.number is None or target.relative:
        return None
    if target.unit != actual.unit and not (target.unit == "" or actual.unit == ""):
        return None
    if target.comparator in ("以下", "以内", "不超过", "不高于"):
        ok = actual.number <= target.number
        return Status(DONE if ok else NOT_DONE, reason=f"{actual.raw} vs 目标{target.raw}")
    if actual.number > target.number:
        status = EXCEEDED
    elif abs(actual.number - target.number) < 1e-9:
        status = DONE
    else:
        status = NOT_DONE
    gap = round(actual.number - target.number, 4) if target.unit == "%" else None
    return Status(status, gap_points=gap, reason=f"{actual.raw} vs 目标{target.raw}")


def decide_status(target: str, actual: str, completion: str = "", note: str = "") -> Status:
    """Explicit words first, then the comparison of numbers, else 未知."""
    explicit = status_from_text(completion, note)
    if explicit is not None:
        return explicit
    compared = status_from_values(parse_value(target), parse_value(actual))
    return compared or Status(UNKNOWN, reason="目标与完成值无法比较")


def normalize_indicator(name: str) -> str:
    """Indicator names as tables print them, without units in brackets and trailing 增长/增速."""
    text = re.sub(r"[(（][^)）]*[)）]", "", name).strip()
    text = INDICATOR_SYNONYMS.get(text.lower(), text)
    text = re.sub(r"^(?:其中[:：])", "", text)
    return re.sub(r"(?:增长|增速|增幅)$", "", text) or text


@dataclass(frozen=True)
class IndicatorRecord:
    indicator: str  # as written in the table
    name: str  # normalised, for matching questions
    unit: str
    target: str
    actual: str
    completion: str
    status: str
    gap_points: float | None
    rate: float | None
    note: str
    region: str
    year: int | None
    doc_id: str
    chunk_id: str
    table: str
    target_parsed: dict | None = None
    actual_parsed: dict | None = None

    def to_dict(self) -> dict:
        return asdict(self)
