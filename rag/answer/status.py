"""Status questions (哪些指标未完成 / 超额完成 / 完成率最低 / 某指标完成情况) answered from the index's facts.

The facts were extracted at build time (rag/facts); here a parsed `Query` is matched to the
statuses it asks for and the facts of its place and year are rendered as a cited table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rag.answer.citations import Numbering
from rag.facts.extract import BASIS_COMPARED
from rag.facts.values import AWAITING_DATA, DONE, EXCEEDED, IN_PROGRESS, NOT_DONE, NOT_STARTED
from rag.lexicon import lexicon
from rag.records import Answer, Chunk, Fact, Hit, Query
from rag.zh import SIGNED

_ASK = lexicon().status.ask  # not_done is tried before done: 「未完成」 contains 「完成」
_ASK_RATE_OVER = re.compile(rf"完成率(?:超过|高于|大于|达到|在)\s*({SIGNED})\s*%")
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
    set_by: str = ""  # 「市里下达的目标」: only targets of the column this level set (市下达年度目标)


def match_status_question(query: Query) -> StatusQuery | None:
    """Recognise 哪些指标未完成 / 超额完成 / 完成率最低 / 某指标完成情况 …, or None for other questions."""
    text = query.text
    statuses: tuple[str, ...] = ()
    if _ASK["not_done"].search(text):
        statuses = (NOT_DONE,)
    elif _ASK["exceeded"].search(text):
        statuses = (EXCEEDED,)
    elif _ASK["done"].search(text):
        statuses = (DONE, EXCEEDED)
    elif _ASK["not_started"].search(text):  # before 推进中: 「还没开始」 asks for tasks not begun
        statuses = (NOT_STARTED,)
    elif _ASK["in_progress"].search(text):
        statuses = (IN_PROGRESS,)
    elif _ASK["awaiting"].search(text):
        statuses = (AWAITING_DATA,)
    more = lexicon().answer
    if not statuses and more is not None and more.status_exceeded.search(text):
        statuses = (EXCEEDED,)
    rate = _ASK_RATE_OVER.search(text)
    lowest = bool(_ASK["lowest"].search(text)) or bool(more and more.status_lowest.search(text))
    named = not statuses and not rate and not lowest and (
        bool(_ASK["one"].search(text)) or bool(more and more.status_one.search(text)))
    if not (statuses or rate or lowest or named):
        return None
    set_by = _ASK["set_by"].search(text)
    return StatusQuery(query.lexical_text, statuses, query.regions, query.years, lowest,
                       float(rate.group(1)) if rate else None, named, bool(_ASK["tasks"].search(text)),
                       set_by.group(1) + "下达" if set_by else "")


def _progress(record: Fact) -> float | None:
    """A comparable measure of how far along a record is: completion rate, else gap in points + 100."""
    if record.rate is not None:
        return record.rate
    return 100 + record.gap_points if record.gap_points is not None else None


def select_records(query: StatusQuery, records: Sequence[Fact]) -> list[Fact]:
    """The records a status question asks about, in table order (lowest first for 完成率最低)."""
    chosen = [r for r in records
              if (not query.regions or r.region in query.regions) and (not query.years or r.year in query.years)
              and (query.tasks or r.kind == "indicator")]
    named = [r for r in chosen if r.kind == "indicator" and len(r.name) >= 2 and r.name in query.text]
    if query.named:
        return named
    if named:  # 「拱墅2022年地区生产总值未完成吗」: the named ones only
        chosen = named
    if query.set_by and any(query.set_by in r.target_source for r in chosen):
        chosen = [r for r in chosen if query.set_by in r.target_source]
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


def completion_label(record: Fact) -> str:
    """差距/完成率 as the table says it, else as computed from target and actual."""
    if record.completion:
        return record.completion
    if record.gap_points is not None and record.gap_points != 0:
        side = "高于" if record.gap_points > 0 else "低于"
        return f"{side}目标{abs(record.gap_points):g}个百分点"
    if record.rate is not None:
        return f"{record.rate:g}%"
    return ""


def shown_actual(record: Fact) -> str:
    """The actual value with the unit its row states (「11.3」 in a (%) column -> 「11.3%」)."""
    actual = record.actual.strip()
    unit = (record.actual_parsed or {}).get("unit", "")  # the actual's own column: 增幅(%) is a %, not 亿元
    if unit and re.fullmatch(r"[-−+]?\d+(?:\.\d+)?", actual):
        return actual + unit
    return actual


def shown_completion(record: Fact) -> str:
    """差距/完成率 for an answer: the table's own words, else the comparison in words only — an answer shows
    no number its cited row does not hold (the points are in `rag indicators`)."""
    if record.completion:
        return record.completion
    if record.gap_points is not None and record.gap_points != 0:
        return "实际高于目标" if record.gap_points > 0 else "实际低于目标"
    if record.rate is not None:
        return "实际达到目标" if record.rate >= 100 else "实际低于目标"
    if record.status_basis == BASIS_COMPARED:  # a level target (9亿美元): compared, no points to state
        return {EXCEEDED: "实际高于目标", DONE: "实际达到目标", NOT_DONE: "实际低于目标"}.get(record.status, "")
    return ""


def target_label(record: Fact) -> str:
    """The target, with the column it came from when a table has several (区年度目标 / 市下达年度目标)."""
    source = re.sub(r"[(（][^)）]*[)）]", "", record.target_source)
    if record.target and source and source != "年度目标":
        return f"{record.target}（{source}）"
    return record.target


def answer_status_question(query: StatusQuery, records: Sequence[Fact], hits_by_chunk: Mapping[str, Chunk],
                           question: str = "") -> Answer | None:
    """A Markdown table of the matching facts, each row cited to its source row chunk; None if none match."""
    chosen = [r for r in select_records(query, records) if r.chunk_id in hits_by_chunk]
    if not chosen:
        return None
    numbering = Numbering()
    rows = ["| 指标 | 目标 | 完成 | 差距/完成率 | 状态 | 备注 |", "|---|---|---|---|---|---|"]
    for record in chosen[:MAX_TABLE_ROWS]:
        n = numbering.cite(Hit(0, 1.0, hits_by_chunk[record.chunk_id]), renumber=True)
        cells = (record.indicator, target_label(record), shown_actual(record), shown_completion(record), record.status,
                 record.note)
        rows.append("| " + " | ".join(_cell(c) for c in cells) + f" [{n}] |")
    where = "".join(sorted(query.regions)) + "".join(f"{y}年" for y in sorted(query.years))
    what = "、".join(query.statuses) if query.statuses else "相关"
    tables = "、".join(dict.fromkeys(r.table for r in chosen))
    bases = "、".join(dict.fromkeys(r.status_basis for r in chosen if r.status_basis))
    how = f"；状态依据：{bases}" if bases else ""
    intro = f"{where}{what}的{'任务' if query.tasks else '指标'}共 {len(chosen)} 项（据{tables}{how}）："
    if len(chosen) > MAX_TABLE_ROWS:
        rows.append(f"\n另有 {len(chosen) - MAX_TABLE_ROWS} 项未列出，可用 `rag indicators` 查看全部。")
    return Answer(question or query.text, intro + "\n\n" + "\n".join(rows), tuple(numbering.citations), found=True,
                  facts=tuple(chosen[:MAX_TABLE_ROWS]), method="status")


def _scope(query: StatusQuery, records: Sequence[Fact]) -> list[Fact]:
    return [r for r in records if (query.tasks or r.kind == "indicator") and (not query.regions or r.region in query.regions)
            and (not query.years or r.year in query.years)]


def no_status_answer(query: StatusQuery, records: Sequence[Fact], chunks: Mapping[str, Chunk], parsed: Query,
                     fallback: Answer) -> Answer | None:
    """A status question no fact matched, answered honestly.

    - The place and year have an indicator table but no indicator has the asked status (「哪些没完成」 when all
      were met): say so, and show the table's indicators with their status and how it was decided.
    - The place and year have no table of targets and results (a work report): say the document has no
      completion table, then show what it does report (`fallback`, the extractive answer).
    None for a question about named indicators the table does not list: the extractive answer fits better.
    """
    scope = _scope(query, records)
    where = "".join(sorted(query.regions)) + "".join(f"{y}年" for y in sorted(query.years))
    what = "、".join(query.statuses) if query.statuses else "完成情况"
    if scope:
        if query.named or not query.statuses:
            return None
        numbering = Numbering()
        rows = ["| 指标 | 目标 | 完成 | 差距/完成率 | 状态 | 判断依据 |", "|---|---|---|---|---|---|"]
        for record in scope[:MAX_TABLE_ROWS]:
            if record.chunk_id not in chunks:
                continue
            n = numbering.cite(Hit(0, 1.0, chunks[record.chunk_id]), renumber=True)
            cells = (record.indicator, target_label(record), shown_actual(record), shown_completion(record),
                     record.status, record.status_basis or record.note)
            rows.append("| " + " | ".join(_cell(c) for c in cells) + f" [{n}] |")
        counts: dict[str, int] = {}
        for record in scope:
            counts[record.status] = counts.get(record.status, 0) + 1
        tally = "，".join(f"{status} {n} 项" for status, n in counts.items())
        tables = "、".join(dict.fromkeys(r.table for r in scope))
        noun = "任务" if query.tasks else "指标"
        text = (f"据{tables}，{where}没有{what}的{noun}（共 {len(scope)} 项：{tally}；"
                f"状态按表中目标与实际值比较得出，单位或口径不同的记为未知）：\n\n" + "\n".join(rows))
        return Answer(parsed.raw, text, tuple(numbering.citations), found=True, facts=tuple(scope[:MAX_TABLE_ROWS]),
                      query=parsed, method="status")
    if not query.regions:
        return None
    text = (f"{where}的文档中没有指标完成情况表（目标与实际值的对照），无法据文档判断哪些指标{what}。")
    if fallback.found:
        text += "文档报告的相关内容如下：\n\n" + fallback.text
    return Answer(parsed.raw, text, fallback.citations, found=True, evidence=fallback.evidence, query=parsed,
                  method="status")
