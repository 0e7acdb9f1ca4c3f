"""The grammar of indicator cells and the status rules: parse targets and results, decide a status.

Government reports publish their main indicators in tables (目标 / 完成 / 完成率 / 备注) or as
「主要预期目标」 lists. Each row becomes an `IndicatorRecord` with its status taken from what the
text says explicitly (低于目标X个百分点, 完成率, 序时推进, 数据未出 …) or, failing that, from comparing
a parsed target and actual in the same unit — and 未知 when neither holds, never a guess.

The cell grammar (「7.5%以上, 力争8%」, 「与经济增长同步」, 「占全国比重0.31%」) is specific to these
documents; no library parses it, so it is hand-written and tested on real cells from the seeds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.lexicon import lexicon
from rag.zh import SIGNED, UNIT

# --- statuses ---------------------------------------------------------------------------------------
_S = lexicon().status
DONE, EXCEEDED, NOT_DONE, IN_PROGRESS, AWAITING_DATA, UNKNOWN = _S.done, _S.exceeded, _S.not_done, _S.in_progress, _S.awaiting, _S.unknown
NOT_STARTED = _S.not_started
STATUSES = (DONE, EXCEEDED, NOT_DONE, IN_PROGRESS, NOT_STARTED, AWAITING_DATA, UNKNOWN)



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


_NUM = SIGNED
_UNIT = UNIT
_COMPARATORS = lexicon().comparators
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
_STATUS_WORDS = _S.says  # (wording, status), in order: 「未完成」 contains 「完成」


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
        for pattern, status in _STATUS_WORDS:
            if m := pattern.search(text):
                return Status(status, reason=m.group(0))
    return None


def status_from_values(target: ParsedValue, actual: ParsedValue) -> Status | None:
    """Compare a parsed target and actual when both are numbers in the same unit."""
    if target.number is None or actual.number is None or target.relative:
        return None
    if target.qualifier != actual.qualifier:  # 「占全国比重0.31%」 is not comparable with a growth rate
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
    text = lexicon().synonyms.get(text.lower(), (text,))[0]  # the name tables use for what users type
    text = re.sub(r"^(?:其中[:：])", "", text)
    return re.sub(r"(?:增长|增速|增幅)$", "", text) or text


