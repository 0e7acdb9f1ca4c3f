"""Chunking along the document's own structure.

A document's display text is read line by line. Headings of Chinese official documents (一、 /
(一) / 1. / (1) / ——, headings running inline with their body, short unnumbered title lines,
附件 and 名词解释) open sections and build a breadcrumb (title › 一、… › (二)…); lists become one
chunk per item; tables one chunk per row read with its header (see `rag.tables`) plus chunks
holding groups of rows; running text is split at sentence boundaries with langchain-text-splitters.

Every chunk records [start, end) offsets into the document (display and search text are aligned),
so it can be shown and highlighted in the original characters; its breadcrumb is embedded and
BM25-indexed with it. A heading line alone on its line lives only in the breadcrumbs of the chunks
below it; a heading with no chunk below it becomes a chunk of its own, so no text is lost.

The heading, list and topic-sentence patterns are hand-written: no library knows the layout of
Chinese government documents.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from langchain_text_splitters import RecursiveCharacterTextSplitter

from rag.chunking.tables import (
    PipeState,
    Row,
    Table,
    cell_text,
    column_name,
    compact,
    find_flat_table,
    is_pipe_line,
    parse_pipe_table,
    render_cells,
    row_cells,
    strip_span,
)
from rag.records import BREADCRUMB_SEP, Cells, Chunk, Document

# multilingual-e5-small reads at most 512 tokens; a Chinese character is roughly one token, so a
# chunk (breadcrumb included) of ~400 characters stays well inside the limit.
MAX_CHARS = 400
MIN_BODY = 200  # a very long breadcrumb must not squeeze the body below this
SHORT_PARAGRAPH = 100  # consecutive paragraphs this short in one section are merged
TABLE_CELL_CLIP = 24  # cells are clipped in the row-group chunks; each row chunk has them in full

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
HEADING_PATTERNS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (1, re.compile(rf"[{_CN_NUM}]+、")),
    (2, re.compile(rf"[(（][{_CN_NUM}]+[)）]")),
    (3, re.compile(r"\d{1,2}(?:[.．](?!\d)|、)")),
    (4, re.compile(r"[(（]\d{1,2}[)）]")),
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


@lru_cache(maxsize=32)
def _splitter(size: int) -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter(
        chunk_size=size,
        chunk_overlap=0,
        separators=["\n\n", "\n", "。", "！", "？", "；", ";", "，", ",", ""],
        keep_separator="end",
        add_start_index=True,
        strip_whitespace=False,
    )


def split_span(text: str, start: int, end: int, size: int) -> Iterator[Span]:
    """Split text[start:end] into pieces of at most `size` characters at sentence boundaries."""
    if end - start <= size:
        yield start, end
        return
    for piece in _splitter(size).create_documents([text[start:end]]):
        offset = start + piece.metadata["start_index"]
        span = strip_span(text, offset, offset + len(piece.page_content))
        if span:
            yield span


# --- building chunks ------------------------------------------------------------------------------
@dataclass
class _Builder:
    doc: Document
    chunks: list[Chunk] = field(default_factory=list)
    used: set[Span] = field(default_factory=set)  # crumbs that some chunk carries

    def breadcrumb(self, crumbs: Sequence[Crumb]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The headings' texts (Simplified, display), empty ones left out."""
        doc = self.doc
        search = tuple(t for c in crumbs if (t := _crumb_text(doc.search_text, c)))
        display = tuple(_crumb_text(doc.display_text, c) for c in crumbs if _crumb_text(doc.search_text, c))
        return search, display

    def body_size(self, crumbs: Sequence[Crumb]) -> int:
        heading = len(BREADCRUMB_SEP.join((self.doc.title, *self.breadcrumb(crumbs)[0])))
        return max(MIN_BODY, MAX_CHARS - heading - 1)

    def add(self, kind: str, start: int, end: int, crumbs: Sequence[Crumb], rendered: tuple[str, str] | None = None,
            *, cells: tuple[Cells, Cells] = ((), ()), list_of: Chunk | None = None) -> Chunk | None:
        """A chunk for [start, end); `rendered` = (display, search) body when it is not the slice;
        `cells` = a table row's (display, search) cells; `list_of` = the first item of the item's list."""
        doc = self.doc
        if rendered is None:
            span = strip_span(doc.display_text, start, end)
            if span is None:
                return None
            start, end = span
            display, search = doc.display_text[start:end], doc.search_text[start:end]
        else:
            display, search = rendered
        breadcrumb, display_breadcrumb = self.breadcrumb(crumbs)
        self.used.update((c.start, c.end) for c in crumbs)
        chunk_id = f"{doc.doc_id}#{len(self.chunks):04d}"
        list_id, list_pos = "", 0
        if kind == "list_item":
            list_id = list_of.chunk_id if list_of is not None else chunk_id
            list_pos = (list_of.list_pos if list_of is not None else 0) + 1
        chunk = Chunk(
            chunk_id=chunk_id,
            doc_id=doc.doc_id,
            kind=kind,
            start=start,
            end=end,
            display_text=display,
            body=search,
            breadcrumb=breadcrumb,
            display_breadcrumb=display_breadcrumb,
            title=doc.title,
            source=doc.source,
            region=doc.region,
            years=doc.years,
            cells=cells[0],
            search_cells=cells[1],
            list_id=list_id,
            list_pos=list_pos,
        )
        self.chunks.append(chunk)
        return chunk

    def add_text(self, kind: str, start: int, end: int, crumbs: Sequence[Crumb], lead: Crumb | None = None,
                 *, list_of: Chunk | None = None) -> list[Chunk]:
        """Running text, split at sentence ends; each piece carries the last topic sentence before it.
        The pieces of one list item share its list and position."""
        text = self.doc.search_text
        topics = [Crumb(RANK_TOPIC, s, e) for s, e in topic_spans(text, start, end)]
        if lead is not None:
            topics = [lead, *(t for t in topics if t.start >= lead.end)]
        size = self.body_size([*crumbs, *topics[:1]])
        added = []
        for s, e in split_span(text, start, end, size):
            before = [t for t in topics if t.start <= s or (t.start == topics[0].start and t.start - s < 4)]
            if chunk := self.add(kind, s, e, [*crumbs, *before[-1:]], list_of=list_of):
                added.append(chunk)
        return added


def _crumb_text(text: str, crumb: Crumb) -> str:
    return text[crumb.start : crumb.end].strip().rstrip("。：:")


def chunk_document(doc: Document) -> list[Chunk]:
    """Cut a document into chunks along its headings, lists, tables and sentences."""
    return _Walker(doc).run()


@dataclass
class _Paragraph:
    start: int
    end: int
    crumbs: tuple[Crumb, ...]


class _Walker:
    """One pass over the lines, keeping the heading path, list and glossary state."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.text = doc.search_text
        self.builder = _Builder(doc)
        self.lines = split_lines(self.text)
        self.path: list[Crumb] = []
        self.list_intro: Crumb | None = None
        self.list_open = False  # the previous line was a list item that expects more
        self.list_items = 0  # items seen since the list's lead-in line
        self.last_item: Chunk | None = None  # the list's latest item, when the previous line was one
        self.line_no = 0  # the line being read
        self.last_item_line = -2
        self.previous_line = -1  # the last non-blank line read before this one
        self.glossary = False
        self.table_title: Crumb | None = None
        self.table_state: PipeState | None = None
        self.pending: list[_Paragraph] = []  # short paragraphs waiting to be merged

    # -- heading path --
    def push(self, crumb: Crumb) -> None:
        while self.path and self.path[-1].rank >= crumb.rank:
            self.drop(self.path.pop())
        self.path.append(crumb)

    def reset(self, crumb: Crumb | None = None) -> None:
        while self.path:
            self.drop(self.path.pop())
        if crumb is not None:
            self.path.append(crumb)

    def drop(self, crumb: Crumb) -> None:
        """A heading left behind with no chunk under it becomes a chunk, so its text is kept."""
        if (crumb.start, crumb.end) not in self.builder.used:
            self.flush()
            end = self.text.find("\n", crumb.start)  # the whole line, its closing 。 included
            self.builder.add("heading", crumb.start, len(self.text) if end < 0 else end, self.path)

    # -- paragraphs --
    def paragraph(self, start: int, end: int, kind: str = "text", lead: Crumb | None = None) -> None:
        crumbs = tuple(self.path)
        short = end - start <= SHORT_PARAGRAPH and not topic_spans(self.text, start, end) and lead is None
        if kind == "text" and short and self.pending and self.pending[-1].crumbs == crumbs:
            size = self.builder.body_size(crumbs)
            if end - self.pending[0].start <= size:
                self.pending.append(_Paragraph(start, end, crumbs))
                return
        self.flush()
        if kind == "text" and short:
            self.pending.append(_Paragraph(start, end, crumbs))
            return
        self.builder.add_text(kind, start, end, crumbs, lead)

    def flush(self) -> None:
        if self.pending:
            first, last = self.pending[0], self.pending[-1]
            self.builder.add_text("text", first.start, last.end, first.crumbs)
            self.pending = []

    # -- the pass --
    def run(self) -> list[Chunk]:
        i = 0
        while i < len(self.lines):
            i = self.step(i)
        self.flush()
        self.take_table_title()
        self.reset()
        self.flush()
        return self.builder.chunks

    def next_nonblank(self, i: int) -> Line | None:
        return next((line for line in self.lines[i:] if line.text.strip()), None)

    def step(self, i: int) -> int:
        if not self.lines[i].text.strip():
            return i + 1
        self.line_no = i
        following = self.read_line(i)
        self.previous_line = following - 1
        return following

    def read_line(self, i: int) -> int:
        line = self.lines[i]
        stripped = line.text.strip()
        if is_pipe_line(line.text):
            return self.pipe_table(i)
        if compact(stripped) == "序号":
            flat = self.flat_table(i)
            if flat is not None:
                return flat
        span = strip_span(self.text, line.start, line.end) or (line.start, line.end)
        nxt = self.next_nonblank(i + 1)
        if self.doc.title and compact(stripped) == compact(self.doc.title):
            self.flush()
            self.reset()  # the document's own title line: the breadcrumb root already says it
            self.builder.used.add(span)
            return i + 1
        if _ANNEX.fullmatch(stripped):
            self.flush()
            self.glossary = self.list_open = False
            self.list_intro = None
            self.table_state = None
            self.reset(Crumb(RANK_ANNEX, *span))
            return i + 1
        if _GLOSSARY.fullmatch(stripped):
            self.flush()
            self.glossary, self.list_open, self.list_intro = True, False, None
            self.reset(Crumb(RANK_ANNEX, *span))
            return i + 1
        if nxt is not None and _is_table_start(nxt.text) and is_title_line(stripped) and len(stripped) <= 50:
            self.flush()
            self.take_table_title()
            self.table_title = Crumb(RANK_TABLE_TITLE, *span)  # the table's own title, kept for its rows
            return i + 1
        self.take_table_title()
        level = heading_level(stripped)
        if self.glossary and (level == 0 or level >= 3):
            self.paragraph(line.start, line.end, "glossary_entry")
            return i + 1
        if self.list_item(line, level):
            return i + 1
        self.list_intro, self.list_open = None, False
        if level:
            self.flush()
            head = inline_heading_length(stripped)
            self.push(Crumb(level, span[0], span[0] + head))
            if head < len(stripped.rstrip(_SENTENCE_END)):
                self.paragraph(line.start, line.end)
            return i + 1
        if is_title_line(stripped) and not stripped.isdigit():
            self.flush()
            self.push(Crumb(RANK_TOP, *span))
            return i + 1
        self.table_state = None  # running text ends a table; a heading does not (seed 003)
        self.paragraph(line.start, line.end)
        if stripped[-1] in ":：":
            self.flush()
            self.list_intro = list_intro_crumb(self.text, line)
            self.list_open = True  # unmarked items may follow, each ending in ；
            self.list_items = 0
        return i + 1

    def list_item(self, line: Line, level: int) -> bool:
        """Items of a list announced by a line ending in a colon (十件实事), or —— items anywhere."""
        stripped = line.text.strip()
        dash = _LEAD_DASH.match(stripped) is not None
        numbered = level >= 3
        # Unmarked items end in ；, the last one in 。 (…增长4%以上; … 确保完成市下达目标任务。)
        ends = "；;。" if self.list_items else "；;"
        plain = self.list_open and level == 0 and len(stripped) <= 120 and stripped[-1] in ends
        if not (dash or (self.list_intro is not None and (numbered or plain))):
            return False
        crumbs = [c for c in [self.list_intro] if c is not None]
        lead = None
        if dash:
            match = re.match(rf"——+([^{_SENTENCE_END}]{{2,{_INLINE_HEADING_MAX}}})。.", stripped)
            if match:
                offset = line.start + len(line.text) - len(line.text.lstrip())
                lead = Crumb(RANK_TOPIC, offset + match.start(1), offset + match.end(1))
        self.flush()
        continues = self.last_item is not None and self.last_item_line == self.previous_line
        added = self.builder.add_text("list_item", line.start, line.end, [*self.path, *crumbs], lead,
                                      list_of=self.last_item if continues else None)
        if added:
            self.last_item, self.last_item_line = added[0], self.line_no
        self.list_open = stripped[-1] in "；;"
        self.list_items += 1
        return True

    # -- tables --
    def take_table_title(self) -> Crumb | None:
        """Hand the pending table title to the table below it, or keep it as a heading chunk."""
        title, self.table_title = self.table_title, None
        if title is not None and (title.start, title.end) not in self.builder.used:
            self.builder.add("heading", title.start, title.end, self.path)
        return title

    def pipe_table(self, i: int) -> int:
        j = i
        while j < len(self.lines) and is_pipe_line(self.lines[j].text):
            j += 1
        self.flush()
        self.list_intro, self.list_open = None, False
        spans = [(line.start, line.end) for line in self.lines[i:j]]
        table, self.table_state = parse_pipe_table(self.text, spans, self.table_state)
        self.emit_table(table)
        return j

    def flat_table(self, i: int) -> int | None:
        nonblank = [k for k in range(len(self.lines)) if self.lines[k].text.strip() and k >= i]
        spans = [(self.lines[k].start, self.lines[k].end) for k in nonblank]
        found = find_flat_table(self.text, spans, 0)
        if found is None:
            return None
        self.flush()
        self.list_intro, self.list_open = None, False
        table, after = found
        self.emit_table(table)
        self.table_state = None
        return nonblank[after] if after < len(nonblank) else len(self.lines)

    def emit_table(self, table: Table) -> None:
        """One chunk per row (kind table_row) and one per group of rows (kind table)."""
        title = self.table_title
        self.table_title = None
        crumbs = [*self.path, *([title] if title else [])]
        doc = self.doc
        if not table.rows:
            self.builder.add("table", table.start, table.end, crumbs)
            return
        for row in table.rows:
            group = [Crumb(RANK_ROW_GROUP, *row.group)] if row.group else []
            cells = (row_cells(doc.display_text, table.columns, row), row_cells(doc.search_text, table.columns, row))
            rendered = (render_cells(cells[0]), render_cells(cells[1]))
            self.builder.add("table_row", row.start, row.end, [*crumbs, *group], rendered, cells=cells)
        for start, end, rows in _row_groups(doc.search_text, table, self.builder.body_size(crumbs)):
            rendered = (_render_group(doc.display_text, table, rows), _render_group(doc.search_text, table, rows))
            self.builder.add("table", start, end, crumbs, rendered)


def _is_table_start(line: str) -> bool:
    return is_pipe_line(line) or compact(line) == "序号"


def _overview_columns(text: str, table: Table) -> list[int]:
    """Columns shown in a row-group chunk: all but 备注, whose free text the row chunks carry."""
    return [k for k, name in enumerate(table.columns) if column_name(text, name) != "备注"]


def _render_group(text: str, table: Table, rows: Sequence[Row]) -> str:
    """A header line and one compact line per row, cells clipped: for list questions over a table."""
    keep = _overview_columns(text, table)
    lines = [" | ".join(column_name(text, table.columns[k]) for k in keep)]
    for row in rows:
        cells = []
        for k in keep:
            value = cell_text(text, row.cells[k]) if k < len(row.cells) else ""
            cells.append(value if len(value) <= TABLE_CELL_CLIP else value[: TABLE_CELL_CLIP - 1] + "…")
        lines.append(" | ".join(cells))
    return "\n".join(lines)


def _row_groups(text: str, table: Table, size: int) -> Iterator[tuple[int, int, list[Row]]]:
    """Consecutive rows packed up to `size` characters; the spans tile the whole table region."""
    groups: list[list[Row]] = [[]]
    for row in table.rows:
        if groups[-1] and len(_render_group(text, table, [*groups[-1], row])) > size:
            groups.append([])
        groups[-1].append(row)
    for k, rows in enumerate(groups):
        start = table.start if k == 0 else rows[0].start
        end = table.end if k == len(groups) - 1 else groups[k + 1][0].start
        yield start, end, rows
