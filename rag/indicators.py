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
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from rag.query import parse_query
from rag.records import Answer, Chunk, Citation, Hit

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
# Tried in this order: 「未完成」 contains 「完成」, and a stated result outranks 「数据未出」 or 「序时推进」.
_STATUS_WORDS = ((_NOT_DONE_WORDS, NOT_DONE), (_DONE_WORDS, DONE), (_AWAITING, AWAITING_DATA), (_IN_PROGRESS, IN_PROGRESS))


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
    target_source: str = ""  # the column the target came from (区年度目标 / 市下达年度目标 …)
    kind: str = "indicator"  # or "task": a work item of a task list (序时推进 …), not a measured indicator

    def to_dict(self) -> dict:
        return asdict(self)


# --- extraction from table rows ---------------------------------------------------------------------
# Row chunks read `表头: 值 | 表头: 值 …` (rag/chunk.py); two-row headers are joined with 「·」
# (`2022年完成情况·目标完成率(%)`), so a column is judged by its last level first.
_YEAR = re.compile(r"(?<!\d)(19[5-9]\d|20[0-4]\d)(?=年)")
_TRAILING_UNIT = re.compile(r"[(（]([^()（）\d]{1,6})[)）]\s*$")  # 「企业上市(家)」, not 「(2020年)」
_INTERIM = re.compile(r"截至\s*\d{1,2}\s*月")  # a mid-year progress column: the year is not over
_CONTENT_SPLIT = re.compile(rf"(与[\u4e00-\u9fff]{{2,12}}(?:同步|相适应|持平)|{_NUM}\s*{_UNIT}?)")
_CONTENT_LEAD = re.compile(r"^(?:全年|力争|确保)+")
_EMPTY = {"", "—", "-", "/", "——", "无"}


@dataclass(frozen=True)
class Columns:
    """Which headers of a row hold what (each a header name, or '' when the table has none)."""

    indicator: str = ""
    targets: tuple[str, ...] = ()
    actuals: tuple[str, ...] = ()
    completion: str = ""
    notes: tuple[str, ...] = ()


def row_cells(display_text: str) -> dict[str, str]:
    """A row chunk's text back into {header: value}; unnamed cells are left out."""
    cells: dict[str, str] = {}
    for part in display_text.split(" | "):
        header, sep, value = part.partition(": ")
        if sep and header.strip():
            cells[header.strip()] = value.strip()
    return cells


def map_columns(headers: Sequence[str]) -> Columns:
    """Map headers to roles by their names (完成率 before 完成, 完成情况 is progress text, not a result)."""
    indicator, completion = "", ""
    targets: list[str] = []
    actuals: list[str] = []
    notes: list[str] = []
    for header in headers:
        last = header.split("·")[-1]
        if "完成率" in last:
            completion = completion or header
        elif not indicator and (last.startswith("指标") or last in {"内容及要求", "项目名称", "主要指标", "任务内容"}):
            indicator = header
        elif "备注" in last or "完成情况" in last or "进展" in last:
            notes.append(header)
        elif "目标" in last and last != "工作目标":  # 003's 工作目标 is a group of tasks, not a target
            targets.append(header)
        elif last == "完成" or "实绩" in header or "实际完成" in last or last.startswith("完成值"):
            actuals.append(header)
    return Columns(indicator, tuple(targets), tuple(actuals), completion, tuple(notes))


def indicator_unit(name: str) -> str:
    """「企业上市(家)」 -> 家; 「研究与试验发展经费支出占…比重(2020年)(%)」 -> %."""
    match = _TRAILING_UNIT.search(name)
    return match.group(1) if match else ""


def header_unit(header: str) -> str:
    """「区年度目标(%)」 -> %: the unit a header gives the bare numbers below it."""
    return indicator_unit(header)


def with_unit(value: ParsedValue, unit: str) -> ParsedValue:
    """A bare number takes the unit its header or indicator states."""
    if value.number is None or value.unit or not unit:
        return value
    return ParsedValue(value.raw, value.number, unit, value.comparator, value.stretch, value.relative, value.qualifier)


def table_year(chunk: Chunk, cells: dict[str, str]) -> int | None:
    """The year a table reports on: the innermost breadcrumb naming one, else a header, else the document."""
    for crumb in reversed(chunk.section.split(" › ")):
        if match := _YEAR.search(crumb):
            return int(match.group(1))
    for header in cells:
        if match := _YEAR.search(header):
            return int(match.group(1))
    return min(chunk.years) if chunk.years else None


def split_content(text: str) -> tuple[str, str]:
    """「地区生产总值增长5.6%。」 -> (地区生产总值增长, 5.6%); 「一般公共预算收入与经济增长同步。」 -> (…, 与经济增长同步)."""
    text = text.strip().rstrip("。;；")
    match = _CONTENT_SPLIT.search(text)
    if match is None or match.start() == 0:
        return text, ""
    name = _CONTENT_LEAD.sub("", text[: match.start()]).strip()
    return name or text, text[match.start():].strip()


def _is_indicator_row(chunk: Chunk, cells: dict[str, str], columns: Columns) -> bool:
    """A measured indicator rather than a work task: the table has targets, or its group says 指标."""
    if columns.targets or columns.actuals or columns.completion:
        return True
    groups = [v for h, v in cells.items() if h not in (columns.indicator, *columns.notes)]
    return any("指标" in g for g in [*groups, chunk.section.split(" › ")[-1]])


def _choose_actual(cells: dict[str, str], columns: Columns, unit: str) -> tuple[str, ParsedValue]:
    """The result compared with a target: growth (增幅) for growth targets, the level for a % indicator."""
    present = [h for h in columns.actuals if cells.get(h, "") not in _EMPTY]
    if not present:
        return "", ParsedValue("")
    growth = [h for h in present if "增幅" in h or "增长" in h or "增速" in h]
    level = [h for h in present if h not in growth]
    if unit == "%" and level:  # a share such as R&D/GDP: its level is the percentage targeted
        header = level[0]
        return cells[header], with_unit(parse_value(cells[header]), "%")
    header = (growth or level)[0]
    parsed = parse_value(cells[header])
    return cells[header], with_unit(parsed, unit if header in level and unit else header_unit(header))


def _status(target: ParsedValue, actual: ParsedValue, completion: str, note: str, interim: bool) -> Status:
    explicit = status_from_text(completion, note)
    if explicit is not None:
        return explicit
    if interim and re.search(r"\d", note):  # mid-year figures: progress reported, the year not over
        return Status(IN_PROGRESS, reason=note[:40])
    return status_from_values(target, actual) or Status(UNKNOWN, reason="目标与完成值无法比较")


def records_from_row(chunk: Chunk) -> list[IndicatorRecord]:
    """The indicator records of one table_row chunk: one per target column that holds a target."""
    cells = row_cells(chunk.display_text)
    columns = map_columns(list(cells))
    written = cells.get(columns.indicator, "")
    if not written or not (columns.targets or columns.actuals or columns.completion or columns.notes):
        return []
    is_indicator = _is_indicator_row(chunk, cells, columns)
    completion = cells.get(columns.completion, "")
    note = " ".join(cells[h] for h in columns.notes if cells.get(h, "") not in _EMPTY)
    interim = any(_INTERIM.search(h) for h in columns.notes)
    unit = indicator_unit(written)
    if columns.targets:
        targets = [(h, cells.get(h, "")) for h in columns.targets]
        indicator = written
    elif is_indicator:  # 「地区生产总值增长5.6%。」: the target is written inside the content
        indicator, target = split_content(written)
        targets = [("", target)]
    else:  # a work task: the whole requirement is the item, there is no separate target
        indicator, targets = written, [("", "")]
    given = [(h, t) for h, t in targets if t not in _EMPTY] or [("", "")]
    actual_text, actual = _choose_actual(cells, columns, unit)
    records = []
    for header, target_text in given:
        target = with_unit(parse_value(target_text), header_unit(header) if header else "")
        status = _status(target, actual, completion, note, interim)
        records.append(IndicatorRecord(
            indicator=indicator, name=normalize_indicator(indicator),
            unit=unit or target.unit or actual.unit, target=target_text if target_text not in _EMPTY else "",
            actual=actual_text, completion=completion, status=status.status, gap_points=status.gap_points,
            rate=status.rate, note=note, region=chunk.region, year=table_year(chunk, cells), doc_id=chunk.doc_id,
            chunk_id=chunk.chunk_id, table=_table_title(chunk), target_parsed=asdict(target) if target.raw else None,
            actual_parsed=asdict(actual) if actual.raw else None, target_source=header,
            kind="indicator" if is_indicator else "task",
        ))
    return records


def _table_title(chunk: Chunk) -> str:
    """The innermost breadcrumb that names a table (…表 / …情况 / …清单), else the last one."""
    crumbs = chunk.section.split(" › ")
    for crumb in reversed(crumbs):
        if re.search(r"(?:表|情况|清单)\)?$", crumb):
            return crumb
    return crumbs[-1]


def extract_indicators(chunks: Sequence[Chunk]) -> list[IndicatorRecord]:
    """Indicator records from every table row and every 主要(预期)目标 list of the corpus, in corpus order."""
    records: list[IndicatorRecord] = []
    for chunk in chunks:
        if chunk.kind == "table_row":
            records.extend(records_from_row(chunk))
        elif chunk.kind in ("text", "list_item"):
            records.extend(target_records(chunk))
    return records


# --- 主要(预期)目标 lists in running text ------------------------------------------------------------------
# 「2020年新区主要预期目标是:地区生产总值增长7%以上,其中规上工业增加值增长8%;…」 inline, or one target
# per list item under a 「…主要预期目标:」 line. They are plans: a target and no result, so status 未知.
_TARGET_INTRO = re.compile(r"(?:主要)?预期目标(?:建议)?[为是]?[:：]")
_CLAUSE_SPLIT = re.compile(r"[；;。]|[,，](?:其中)?(?=[\u4e00-\u9fffA-Za-z])")
_CLAUSE_VALUE = re.compile(rf"(?:与[\u4e00-\u9fff]{{2,12}}(?:同步|相适应|持平)|(?:力争|确保|控制在|保持在|达到)?\s*{_NUM}\s*{_UNIT}?)")
_TODAY_WORDS = ("今年", "明年")


def _target_year(chunk: Chunk, before_intro: str) -> int | None:
    for text in (before_intro, chunk.section):
        years = _YEAR.findall(text)
        if years:
            return int(years[-1])
    if any(word in before_intro for word in _TODAY_WORDS) and chunk.years:
        return max(chunk.years)  # 「建议今年…」 in a report: the plan year is the report's latest year
    return None


def target_records(chunk: Chunk) -> list[IndicatorRecord]:
    """Target-only records from a chunk that states 主要(预期)目标, inline or as a list item."""
    body = chunk.search_text.split("\n", 1)[-1]
    intro = _TARGET_INTRO.search(body)
    crumbs = chunk.section.split(" › ")
    if intro:
        before, clauses = body[: intro.start()], body[intro.end():]
    elif len(crumbs) > 1 and _TARGET_INTRO.search(crumbs[-1] + ":"):
        before, clauses = crumbs[-1], body
    else:
        return []
    year = _target_year(chunk, before)
    records = []
    for clause in _CLAUSE_SPLIT.split(clauses):
        clause = re.sub(r"^[\s—\-]+|[\s—\-]+$", "", clause)
        value = _CLAUSE_VALUE.search(clause)
        if not value or value.start() < 2:
            continue
        indicator = clause[: value.start()].strip()
        indicator = re.sub(r"(?:均|力争实现|力争|确保|控制在|保持在|达到)$", "", indicator).strip()
        if not re.search(r"[\u4e00-\u9fff]{2}", indicator):
            continue
        target = clause[value.start():].strip()
        parsed = parse_value(target)
        records.append(IndicatorRecord(
            indicator=indicator, name=normalize_indicator(indicator), unit=parsed.unit, target=target, actual="",
            completion="", status=UNKNOWN, gap_points=None, rate=None, note="预期目标，文档未报告完成值",
            region=chunk.region, year=year, doc_id=chunk.doc_id, chunk_id=chunk.chunk_id,
            table=(before.strip(" :：") or crumbs[-1])[-40:], target_parsed=asdict(parsed), actual_parsed=None,
            target_source="预期目标", kind="target",
        ))
    return records


# --- status questions -----------------------------------------------------------------------------------
# Not-done words are tried before done words: 「未完成」 contains 「完成」.
_ASK_NOT_DONE = re.compile(r"未完成|没完成|没有完成|未达标|没达标|没有达标|未达到|没达到|没有达到|低于目标|完不成")
_ASK_EXCEEDED = re.compile(r"超额完成|超额|高于目标|超过目标")
_ASK_DONE = re.compile(r"完成了哪些|哪些.{0,10}(?:已经?完成|完成了|达标|完成目标)|已完成|已经完成")
_ASK_IN_PROGRESS = re.compile(r"进行中|序时推进|推进中|正在推进")
_ASK_AWAITING = re.compile(r"数据未出|待出数|未出数|还没出数|没出数")
_ASK_LOWEST = re.compile(r"完成率最低|完成得?最差|差距最大|最低的")
_ASK_RATE_OVER = re.compile(rf"完成率(?:超过|高于|大于|达到|在)\s*({_NUM})\s*%")
_ASK_ONE = re.compile(r"完成情况|完成得怎么样|完成得如何|完成了吗|完成没有|是否完成|完成率")
_ASK_TASKS = re.compile(r"任务|工作|事项")
MAX_TABLE_ROWS = 60


@dataclass(frozen=True)
class StatusQuery:
    """What a status question asks for; `text` is the normalised question (abbreviations expanded)."""

    text: str
    statuses: tuple[str, ...] = ()  # () = any status
    regions: frozenset[str] = frozenset()
    years: frozenset[int] = frozenset()
    lowest: bool = False  # 完成率最低的是…
    min_rate: float | None = None  # 完成率超过200%
    named: bool = False  # asks about named indicators (某指标完成情况)
    tasks: bool = False  # asks about work tasks too, not only indicators


def match_status_question(question: str, known_regions: frozenset[str] | set[str] = frozenset()) -> StatusQuery | None:
    """Recognise 哪些指标未完成 / 超额完成 / 完成率最低 / 某指标完成情况 …, or None for other questions."""
    parsed = parse_query(question, known_regions)
    text = parsed.text
    statuses: tuple[str, ...] = ()
    if _ASK_NOT_DONE.search(text):
        statuses = (NOT_DONE,)
    elif _ASK_EXCEEDED.search(text):
        statuses = (EXCEEDED,)
    elif _ASK_DONE.search(text):
        statuses = (DONE, EXCEEDED)
    elif _ASK_IN_PROGRESS.search(text):
        statuses = (IN_PROGRESS,)
    elif _ASK_AWAITING.search(text):
        statuses = (AWAITING_DATA,)
    rate = _ASK_RATE_OVER.search(text)
    lowest = bool(_ASK_LOWEST.search(text))
    named = not statuses and not rate and not lowest and bool(_ASK_ONE.search(text))
    if not (statuses or rate or lowest or named):
        return None
    return StatusQuery(parsed.bm25_text, statuses, parsed.regions, parsed.years, lowest,
                       float(rate.group(1)) if rate else None, named, bool(_ASK_TASKS.search(text)))


def _progress(record: IndicatorRecord) -> float | None:
    """A comparable measure of how far along a record is: completion rate, else gap in points + 100."""
    if record.rate is not None:
        return record.rate
    return 100 + record.gap_points if record.gap_points is not None else None


def select_records(query: StatusQuery, records: Sequence[IndicatorRecord]) -> list[IndicatorRecord]:
    """The records a status question asks about, in table order (lowest first for 完成率最低)."""
    chosen = [r for r in records
              if (not query.regions or r.region in query.regions) and (not query.years or r.year in query.years)
              and (query.tasks or r.kind == "indicator")]
    named = [r for r in chosen if r.kind == "indicator" and len(r.name) >= 2 and r.name in query.text]
    if query.named:
        return named
    if named:  # 「拱墅2022年地区生产总值未完成吗」: the named ones only
        chosen = named
    if query.statuses:
        chosen = [r for r in chosen if r.status in query.statuses]
    if query.min_rate is not None:
        chosen = [r for r in chosen if r.rate is not None and r.rate > query.min_rate]
    if query.lowest:
        ranked = sorted((r for r in chosen if _progress(r) is not None), key=lambda r: _progress(r))  # type: ignore[arg-type, return-value]
        chosen = ranked[:3]
    return chosen


def _cell(text: str, limit: int = 80) -> str:
    text = " ".join(text.split()).replace("|", "｜")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def completion_label(record: IndicatorRecord) -> str:
    """差距/完成率 as the table says it, else as computed from target and actual."""
    if record.completion:
        return record.completion
    if record.gap_points is not None and record.gap_points != 0:
        side = "高于" if record.gap_points > 0 else "低于"
        return f"{side}目标{abs(record.gap_points):g}个百分点"
    if record.rate is not None:
        return f"{record.rate:g}%"
    return ""


def target_label(record: IndicatorRecord) -> str:
    """The target, with the column it came from when a table has several (区年度目标 / 市下达年度目标)."""
    source = re.sub(r"[(（][^)）]*[)）]", "", record.target_source)
    if record.target and source and source != "年度目标":
        return f"{record.target}（{source}）"
    return record.target


def answer_status_question(query: StatusQuery, records: Sequence[IndicatorRecord],
                           hits_by_chunk: Mapping[str, Chunk], question: str = "") -> Answer | None:
    """A Markdown table of the matching records, each row cited to its source row chunk; None if none match."""
    chosen = [r for r in select_records(query, records) if r.chunk_id in hits_by_chunk]
    if not chosen:
        return None
    numbers: dict[str, int] = {}
    citations: list[Citation] = []
    rows = ["| 指标 | 目标 | 完成 | 差距/完成率 | 状态 | 备注 |", "|---|---|---|---|---|---|"]
    for record in chosen[:MAX_TABLE_ROWS]:
        if record.chunk_id not in numbers:
            numbers[record.chunk_id] = len(numbers) + 1
            citations.append(Citation(numbers[record.chunk_id], Hit(numbers[record.chunk_id], 1.0, hits_by_chunk[record.chunk_id])))
        cells = (record.indicator, target_label(record), record.actual, completion_label(record), record.status, record.note)
        rows.append("| " + " | ".join(_cell(c) for c in cells) + f" [{numbers[record.chunk_id]}] |")
    where = "".join(sorted(query.regions)) + "".join(f"{y}年" for y in sorted(query.years))
    what = "、".join(query.statuses) if query.statuses else "相关"
    tables = "、".join(dict.fromkeys(r.table for r in chosen))
    intro = f"{where}{what}的{'任务' if query.tasks else '指标'}共 {len(chosen)} 项（据{tables}）："
    if len(chosen) > MAX_TABLE_ROWS:
        rows.append(f"\n另有 {len(chosen) - MAX_TABLE_ROWS} 项未列出，可用 `rag indicators` 查看全部。")
    return Answer(question or query.text, intro + "\n\n" + "\n".join(rows), tuple(citations), found=True)
