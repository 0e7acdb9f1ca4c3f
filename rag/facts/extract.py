"""Facts from the chunks, at build time: one `Fact` per indicator of a table row or a 主要(预期)目标 list.

Table rows arrive with their cells as (header, value) pairs (rag/chunking); headers of two-row tables
are joined with 「·」 (`2022年完成情况·目标完成率(%)`), so a column is judged by its last level first.
The facts are stored in the index beside the chunks (rag/index) and read by the status answerer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from rag.facts.values import (
    _NUM,
    _UNIT,
    IN_PROGRESS,
    UNKNOWN,
    ParsedValue,
    Status,
    normalize_indicator,
    parse_value,
    status_from_text,
    status_from_values,
)
from rag.lexicon import lexicon
from rag.records import Chunk, Fact
from rag.zh import YEAR_MENTION

_YEAR = YEAR_MENTION
_TRAILING_UNIT = re.compile(r"[(（]([^()（）\d]{1,6})[)）]\s*$")  # 「企业上市(家)」, not 「(2020年)」
_INTERIM = re.compile(r"截至\s*\d{1,2}\s*月")  # a mid-year progress column: the year is not over
_CONTENT_SPLIT = re.compile(rf"(与[\u4e00-\u9fff]{{2,12}}(?:同步|相适应|持平)|{_NUM}\s*{_UNIT}?)")
_CONTENT_LEAD = re.compile(r"^(?:全年|力争|确保)+")
_EMPTY = lexicon().empty_cells


@dataclass(frozen=True)
class Columns:
    """Which headers of a row hold what (each a header name, or '' when the table has none)."""

    indicator: str = ""
    targets: tuple[str, ...] = ()
    actuals: tuple[str, ...] = ()
    completion: str = ""
    notes: tuple[str, ...] = ()


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
    for crumb in reversed((chunk.title, *chunk.breadcrumb)):
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
    return any("指标" in g for g in [*groups, *chunk.breadcrumb[-1:]])


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


# How far a level target may lie from its result and still be read as one (a target of 9 beside a result of 9.1
# 亿美元; a bare 8 beside a GDP of 2022.6 亿元 is a growth rate, not a level).
LEVEL_TARGET_RATIO = 5.0


def _read_target(text: str, column_unit: str, actual: ParsedValue, row_unit: str) -> tuple[ParsedValue, bool]:
    """A target cell with the unit it is written in. A bare number takes its column's unit — except in a row
    that reports only a level in its own unit (「实际利用外资(亿美元)」: 绝对值 9.1, 增幅 —) under a column headed
    (%): that row's target is a level too (9 → 9亿美元), when it lies near the result; else it stays a rate.
    The flag says it was read in the row's unit (the status says so)."""
    target = parse_value(text)
    if (column_unit == "%" and row_unit and row_unit != "%" and actual.unit == row_unit
            and target.number and actual.number and not target.unit
            and 1 / LEVEL_TARGET_RATIO <= actual.number / target.number <= LEVEL_TARGET_RATIO):
        return with_unit(target, row_unit), True
    return with_unit(target, column_unit), False


BASIS_TABLE = "表中完成情况的文字"
BASIS_INTERIM = "年中进度，全年未完"
BASIS_COMPARED = "实际值与目标值比较（同一单位）"
BASIS_ROW_UNIT = "实际值与目标值比较（目标列标%，该行只报{unit}绝对值，目标按{unit}读）"
BASIS_UNKNOWN = "目标与实际值单位或口径不同，无法比较"


def _status(target: ParsedValue, actual: ParsedValue, completion: str, note: str, interim: bool,
            ) -> tuple[Status, str]:
    """The status and how it was decided (`Fact.status_basis`)."""
    explicit = status_from_text(completion, note)
    if explicit is not None:
        return explicit, BASIS_TABLE
    if interim and re.search(r"\d", note):  # mid-year figures: progress reported, the year not over
        return Status(IN_PROGRESS, reason=note[:40]), BASIS_INTERIM
    compared = status_from_values(target, actual)
    if compared is not None:
        return compared, BASIS_COMPARED
    return Status(UNKNOWN, reason="目标与完成值无法比较"), BASIS_UNKNOWN if target.raw and actual.raw else ""


def records_from_row(chunk: Chunk) -> list[Fact]:
    """The indicator records of one table_row chunk: one per target column that holds a target."""
    cells = {header: value for header, value in chunk.cells if header}
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
        target, by_row = _read_target(target_text, header_unit(header) if header else "", actual, unit)
        status, basis = _status(target, actual, completion, note, interim)
        if by_row and basis == BASIS_COMPARED:
            basis = BASIS_ROW_UNIT.format(unit=unit)
        records.append(Fact(
            indicator=indicator, name=normalize_indicator(indicator),
            unit=unit or target.unit or actual.unit, target=target_text if target_text not in _EMPTY else "",
            actual=actual_text, completion=completion, status=status.status, gap_points=status.gap_points,
            rate=status.rate, note=note, region=chunk.region, year=table_year(chunk, cells), doc_id=chunk.doc_id,
            chunk_id=chunk.chunk_id, table=_table_title(chunk), target_parsed=asdict(target) if target.raw else None,
            actual_parsed=asdict(actual) if actual.raw else None, target_source=header,
            kind="indicator" if is_indicator else "task", status_basis=basis,
        ))
    return records


def _table_title(chunk: Chunk) -> str:
    """The innermost breadcrumb that names a table (…表 / …情况 / …清单), else the last one."""
    crumbs = (chunk.title, *chunk.breadcrumb)
    for crumb in reversed(crumbs):
        if re.search(r"(?:表|情况|清单)\)?$", crumb):
            return crumb
    return crumbs[-1]


def extract_facts(chunks: Sequence[Chunk]) -> list[Fact]:
    """Indicator records from every table row and every 主要(预期)目标 list of the corpus, in corpus order."""
    records: list[Fact] = []
    for chunk in chunks:
        if chunk.kind == "table_row":
            records.extend(records_from_row(chunk))
        elif chunk.kind in ("text", "list_item"):
            records.extend(target_records(chunk))
    return records


# --- 主要(预期)目标 lists in running text ------------------------------------------------------------------
# 「2020年新区主要预期目标是:地区生产总值增长7%以上,其中规上工业增加值增长8%;…」 inline, or one target
# per list item under a 「…主要预期目标:」 line. They are plans: a target and no result, so status 未知.
_TARGET_INTRO = lexicon().target_intro
_CLAUSE_SPLIT = re.compile(r"[；;。]|[,，](?:其中)?(?=[\u4e00-\u9fffA-Za-z])")
_CLAUSE_VALUE = re.compile(rf"(?:与[\u4e00-\u9fff]{{2,12}}(?:同步|相适应|持平)|(?:力争|确保|控制在|保持在|达到)?\s*{_NUM}\s*{_UNIT}?)")
_TODAY_WORDS = lexicon().today_words


def _target_year(chunk: Chunk, before_intro: str) -> int | None:
    for text in (before_intro, *chunk.breadcrumb):
        years = _YEAR.findall(text)
        if years:
            return int(years[-1])
    if any(word in before_intro for word in _TODAY_WORDS) and chunk.years:
        return max(chunk.years)  # 「建议今年…」 in a report: the plan year is the report's latest year
    return None


def target_records(chunk: Chunk) -> list[Fact]:
    """Target-only records from a chunk that states 主要(预期)目标, inline or as a list item."""
    body = chunk.body
    intro = _TARGET_INTRO.search(body)
    crumbs = (chunk.title, *chunk.breadcrumb)
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
        records.append(Fact(
            indicator=indicator, name=normalize_indicator(indicator), unit=parsed.unit, target=target, actual="",
            completion="", status=UNKNOWN, gap_points=None, rate=None, note="预期目标，文档未报告完成值",
            region=chunk.region, year=year, doc_id=chunk.doc_id, chunk_id=chunk.chunk_id,
            table=(before.strip(" :：") or crumbs[-1])[-40:], target_parsed=asdict(parsed), actual_parsed=None,
            target_source="预期目标", kind="target",
        ))
    return records


