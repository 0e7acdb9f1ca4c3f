"""Lines of a Chinese official document and what each one is: pure functions, no state.

Headings (一、 / (一) / 1. / (1)), inline headings, short unnumbered title lines, 附件 and 名词解释,
table starts, list lead-ins and —— items are recognised here; `rag.chunking.walker` decides what
a line means in its context (inside a list, a glossary, a table). The patterns are hand-written:
no library knows the layout of Chinese government documents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from rag.chunking.tables import is_pipe_line, strip_span
from rag.zh import compact

Span = tuple[int, int]

# Heading ranks, outermost first. 附件 / 名词解释 restart the hierarchy; standalone title lines
# (2021年主要工作和成效) stand where 一、 would.
RANK_ANNEX = 0  # 附件 / 名词解释: restart the hierarchy
RANK_TOP = 1  # 一、 and standalone title lines
RANK_TOPIC = 8  # a topic sentence inside a section (主要经济指标稳步提升。)
RANK_LIST_INTRO = 9  # the lead-in line of a list (重点做好以下六方面工作:)
RANK_TABLE_TITLE = 10  # a table's own title line
RANK_ROW_GROUP = 11  # a group label row inside a table (主要预期目标)
_CN_NUM = "一二三四五六七八九十百零〇"
RANK_CHAPTER, RANK_SECTION, RANK_ITEM, RANK_SUBITEM = 1, 2, 3, 4  # 一、 / (一) / 1. / (1)
HEADING_PATTERNS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (RANK_CHAPTER, re.compile(rf"[{_CN_NUM}]+、")),
    (RANK_SECTION, re.compile(rf"[(（][{_CN_NUM}]+[)）]")),
    (RANK_ITEM, re.compile(r"\d{1,2}(?:[.．](?!\d)|、)")),
    (RANK_SUBITEM, re.compile(r"[(（]\d{1,2}[)）]")),
)
_LEAD_DASH = re.compile(r"——")
_SENTENCE_END = "。；！？"
_INLINE_HEADING_MAX = 40  # 「(一)把握历史机遇,顺利完成体制整合。促进…」: a first sentence this short is a heading
_ANNEX = re.compile(r"附件\s*\d{0,2}\s*(?:[:：].{0,60})?")
_GLOSSARY = re.compile(r"名词解释[:：]?")
# A topic sentence opens a paragraph or a run of sentences: short, no commas, no figures
# (主要经济指标稳步提升。 / 促进机构融合。). It names what follows, so it joins the breadcrumb.
_TOPIC = re.compile(r"(?:^|(?<=[。；！？]))([^。；！？,，、:：;\d%()（）]{4,18})。")
_TOPIC_INSIDE_MAX = 12  # inside a paragraph a sub-topic is shorter (促进机构融合。) than a fact
# A short standalone line with no punctuation at all is a title (2021年主要工作和成效).
_TITLE_LINE = re.compile(r"[\u3400-\u9fff\d][^\s,，。；;:：!！?？、]{1,29}")


@dataclass(frozen=True)
class Line:
    start: int
    end: int  # exclusive, without the newline
    text: str  # the search (normalised Simplified) text of the line


@dataclass(frozen=True)
class Crumb:
    rank: int
    start: int
    end: int


def split_lines(text: str) -> list[Line]:
    lines, pos = [], 0
    for raw in text.split("\n"):
        lines.append(Line(pos, pos + len(raw), raw))
        pos += len(raw) + 1
    return lines


def heading_level(line: str) -> int:
    """Level of a numbered heading (1 = 一、, 2 = (一), 3 = 1., 4 = (1)); 0 for anything else."""
    stripped = line.strip()
    for level, pattern in HEADING_PATTERNS:
        if pattern.match(stripped):
            return level
    return 0


def inline_heading_length(line: str) -> int:
    """Length of the heading part of a numbered line: the whole line when it is short, else its
    first sentence when that is short (a heading running inline with its body), else its first
    clause, capped, so that a long numbered paragraph still gets a readable breadcrumb."""
    stripped = line.strip()
    match = re.search(f"[{_SENTENCE_END}]", stripped)
    if match is None:
        if len(stripped) <= _INLINE_HEADING_MAX:
            return len(stripped)
    elif match.end() < len(stripped) and match.start() <= _INLINE_HEADING_MAX:
        return match.start()
    # a numbered sentence (7.完成…改造105户。) is a numbered paragraph, not a heading
    clause = re.search(r"[,，:：；;。]", stripped)
    return min(clause.start() if clause else len(stripped), 30)


def is_title_line(line: str) -> bool:
    stripped = line.strip()
    return bool(_TITLE_LINE.fullmatch(stripped)) and len(re.findall(r"[\u3400-\u9fff]", stripped)) >= 2


def topic_spans(text: str, start: int, end: int) -> list[Span]:
    """Topic sentences inside text[start:end] (without their 。), as document offsets."""
    return [
        (start + m.start(1), start + m.end(1))
        for m in _TOPIC.finditer(text[start:end])
        if m.start(1) == 0 or m.end(1) - m.start(1) <= _TOPIC_INSIDE_MAX
    ]


def list_intro_crumb(text: str, line: Line) -> Crumb:
    """The part of a list's lead-in line that names the list: the line without its colon, or its
    last clause when the line is long (…，重点做好以下六方面工作:)."""
    span = strip_span(text, line.start, line.end) or (line.start, line.end)
    start, end = span[0], span[1] - 1  # drop the colon
    if end - start > _INLINE_HEADING_MAX:
        cut = max(text.rfind(c, start, end) for c in ",，;；。")
        start = cut + 1 if cut >= start else end - _INLINE_HEADING_MAX
    return Crumb(RANK_LIST_INTRO, start, end)




class LineKind(Enum):
    PIPE_TABLE = "pipe_table"  # a row of a `a | b | c` table
    SERIAL = "serial"  # 「序号」 alone: maybe a table flattened to one cell per line
    DOC_TITLE = "doc_title"  # the document's own title line
    ANNEX = "annex"  # 附件 / 附件1：…
    GLOSSARY = "glossary"  # 名词解释
    TABLE_TITLE = "table_title"  # a short title line right above a table
    HEADING = "heading"  # numbered: 一、 / (一) / 1. / (1)
    TITLE = "title"  # a short unnumbered title line (2021年主要工作和成效)
    TEXT = "text"


def is_table_start(line: str) -> bool:
    return is_pipe_line(line) or compact(line) == "序号"


def classify_line(text: str, next_text: str | None, doc_title: str, *, serial: bool = True) -> LineKind:
    """What a non-blank line is, by itself and the line after it (the walker adds the context).
    `serial=False` reads a 「序号」 line that starts no flattened table as an ordinary line."""
    stripped = text.strip()
    if is_pipe_line(text):
        return LineKind.PIPE_TABLE
    if serial and compact(stripped) == "序号":
        return LineKind.SERIAL
    if doc_title and compact(stripped) == compact(doc_title):
        return LineKind.DOC_TITLE
    if _ANNEX.fullmatch(stripped):
        return LineKind.ANNEX
    if _GLOSSARY.fullmatch(stripped):
        return LineKind.GLOSSARY
    if next_text is not None and is_table_start(next_text) and is_title_line(stripped) and len(stripped) <= 50:
        return LineKind.TABLE_TITLE
    if heading_level(stripped):
        return LineKind.HEADING
    if is_title_line(stripped) and not stripped.isdigit():
        return LineKind.TITLE
    return LineKind.TEXT


def dash_lead(line: Line) -> Crumb | None:
    """The lead phrase of a —— item (——谋定了一批…规划计划。制定…), as a topic crumb."""
    stripped = line.text.strip()
    match = re.match(rf"——+([^{_SENTENCE_END}]{{2,{_INLINE_HEADING_MAX}}})。.", stripped)
    if match is None:
        return None
    offset = line.start + len(line.text) - len(line.text.lstrip())
    return Crumb(RANK_TOPIC, offset + match.start(1), offset + match.end(1))


def is_dash_item(text: str) -> bool:
    return _LEAD_DASH.match(text.strip()) is not None


def heading_crumb(text: str, line: Line) -> tuple[Crumb, bool]:
    """The crumb of a numbered heading line and whether body text follows it on the same line."""
    stripped = line.text.strip()
    span = strip_span(text, line.start, line.end) or (line.start, line.end)
    head = inline_heading_length(stripped)
    return Crumb(heading_level(stripped), span[0], span[0] + head), head < len(stripped.rstrip(_SENTENCE_END))
