"""One pass over a document's lines, turning them into chunks with the heading path they sit under.

The walker reads each line's kind (`rag.chunking.lines.classify_line`) and applies it to three small
pieces of state: the heading path (`HeadingPath`), the list being read (`ListState`) and the table
context (`TableContext`). Short paragraphs of one section are buffered and merged; the chunks
themselves are written by `rag.chunking.builder.ChunkWriter`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from rag.chunking.builder import SHORT_PARAGRAPH, ChunkWriter
from rag.chunking.lines import (
    RANK_ANNEX,
    RANK_ITEM,
    RANK_TABLE_TITLE,
    RANK_TOP,
    Crumb,
    Line,
    LineKind,
    classify_line,
    dash_lead,
    heading_crumb,
    heading_level,
    is_dash_item,
    list_intro_crumb,
    split_lines,
    topic_spans,
)
from rag.chunking.tables import PipeState, find_flat_table, parse_pipe_table, strip_span
from rag.records import Chunk, Document

MAX_PLAIN_ITEM = 120  # an unmarked list item is a short line ending in ；


@dataclass
class HeadingPath:
    """The headings above the current line, outermost first."""

    crumbs: list[Crumb] = field(default_factory=list)

    def push(self, crumb: Crumb, on_drop: Callable[[Crumb, tuple[Crumb, ...]], None]) -> None:
        """Open `crumb`, closing every heading of the same or a deeper rank first."""
        while self.crumbs and self.crumbs[-1].rank >= crumb.rank:
            dropped = self.crumbs.pop()
            on_drop(dropped, tuple(self.crumbs))
        self.crumbs.append(crumb)

    def reset(self, on_drop: Callable[[Crumb, tuple[Crumb, ...]], None], crumb: Crumb | None = None) -> None:
        """Close every heading (a new annex, the title line, the end) and open `crumb` if given."""
        while self.crumbs:
            dropped = self.crumbs.pop()
            on_drop(dropped, tuple(self.crumbs))
        if crumb is not None:
            self.crumbs.append(crumb)


@dataclass
class ListState:
    """A list announced by a line ending in a colon (十件实事：), or a run of —— items."""

    intro: Crumb | None = None
    open: bool = False  # the previous line was an item that expects more (it ended in ；)
    items: int = 0  # items seen since the lead-in line
    last_item: Chunk | None = None  # the first chunk of the latest item
    last_item_line: int = -2

    def start(self, intro: Crumb) -> None:
        self.intro, self.open, self.items = intro, True, 0

    def close(self) -> None:
        self.intro, self.open = None, False

    def accepts(self, stripped: str, level: int) -> bool:
        """Is this line an item? —— items anywhere; numbered or plain items after a lead-in."""
        if is_dash_item(stripped):
            return True
        if self.intro is None:
            return False
        # Unmarked items end in ；, the last one in 。 (…增长4%以上; … 确保完成市下达目标任务。)
        ends = "；;。" if self.items else "；;"
        plain = self.open and level == 0 and len(stripped) <= MAX_PLAIN_ITEM and stripped[-1] in ends
        return level >= RANK_ITEM or plain

    def previous_item(self, previous_line: int) -> Chunk | None:
        """The list's latest item when the line just before this one was that item."""
        return self.last_item if self.last_item_line == previous_line else None

    def added(self, first: Chunk | None, line_no: int, stripped: str) -> None:
        if first is not None:
            self.last_item, self.last_item_line = first, line_no
        self.open = stripped[-1] in "；;"
        self.items += 1


@dataclass
class TableContext:
    title: Crumb | None = None  # a table's own title line, waiting for its table
    pipe: PipeState | None = None  # the header of the pipe table being read (repeats across headings)


@dataclass
class _Paragraph:
    start: int
    end: int
    crumbs: tuple[Crumb, ...]


def chunk_document(doc: Document) -> list[Chunk]:
    """Cut a document into chunks along its headings, lists, tables and sentences."""
    return _Walker(doc).run()


class _Walker:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.text = doc.search_text
        self.writer = ChunkWriter(doc)
        self.lines = split_lines(self.text)
        self.path = HeadingPath()
        self.list = ListState()
        self.table = TableContext()
        self.glossary = False
        self.pending: list[_Paragraph] = []  # short paragraphs waiting to be merged
        self.line_no = 0
        self.previous_line = -1  # the last non-blank line read before this one

    def run(self) -> list[Chunk]:
        i = 0
        while i < len(self.lines):
            i = self.step(i)
        self.flush()
        self.take_table_title()
        self.path.reset(self.drop)
        self.flush()
        return self.writer.chunks

    def step(self, i: int) -> int:
        if not self.lines[i].text.strip():
            return i + 1
        self.line_no = i
        following = self.read_line(i)
        self.previous_line = following - 1
        return following

    def next_nonblank(self, i: int) -> Line | None:
        return next((line for line in self.lines[i:] if line.text.strip()), None)

    # --- one line -------------------------------------------------------------------------------------
    def read_line(self, i: int) -> int:
        line = self.lines[i]
        following = self.next_nonblank(i + 1)
        kind = classify_line(line.text, following.text if following else None, self.doc.title)
        if kind is LineKind.PIPE_TABLE:
            return self.pipe_table(i)
        if kind is LineKind.SERIAL:
            end = self.flat_table(i)
            if end is not None:
                return end
            kind = classify_line(line.text, following.text if following else None, self.doc.title, serial=False)
        span = strip_span(self.text, line.start, line.end) or (line.start, line.end)
        if kind is LineKind.DOC_TITLE:
            self.flush()
            self.path.reset(self.drop)  # the document's own title line: the breadcrumb root already says it
            self.writer.used.add(span)
        elif kind in (LineKind.ANNEX, LineKind.GLOSSARY):
            self.flush()
            self.glossary = kind is LineKind.GLOSSARY
            self.list.close()
            if kind is LineKind.ANNEX:
                self.table.pipe = None
            self.path.reset(self.drop, Crumb(RANK_ANNEX, *span))
        elif kind is LineKind.TABLE_TITLE:
            self.flush()
            self.take_table_title()
            self.table.title = Crumb(RANK_TABLE_TITLE, *span)  # the table's own title, kept for its rows
        else:
            self.take_table_title()
            self.content_line(line, kind, span)
        return i + 1

    def content_line(self, line: Line, kind: LineKind, span: tuple[int, int]) -> None:
        """A heading, title or text line, read in the context of a glossary or a list."""
        stripped = line.text.strip()
        level = heading_level(stripped)
        if self.glossary and (level == 0 or level >= RANK_ITEM):
            self.paragraph(line.start, line.end, "glossary_entry")
            return
        if self.list.accepts(stripped, level):
            self.list_item(line)
            return
        self.list.close()
        if kind is LineKind.HEADING:
            self.flush()
            crumb, has_body = heading_crumb(self.text, line)
            self.path.push(crumb, self.drop)
            if has_body:
                self.paragraph(line.start, line.end)
        elif kind is LineKind.TITLE:
            self.flush()
            self.path.push(Crumb(RANK_TOP, *span), self.drop)
        else:
            self.table.pipe = None  # running text ends a table; a heading does not (seed 003)
            self.paragraph(line.start, line.end)
            if stripped[-1] in ":：":
                self.flush()
                self.list.start(list_intro_crumb(self.text, line))

    def list_item(self, line: Line) -> None:
        stripped = line.text.strip()
        crumbs = [c for c in [self.list.intro] if c is not None]
        lead = dash_lead(line) if is_dash_item(stripped) else None
        self.flush()
        added = self.writer.add_text("list_item", line.start, line.end, [*self.path.crumbs, *crumbs], lead,
                                     list_of=self.list.previous_item(self.previous_line))
        self.list.added(added[0] if added else None, self.line_no, stripped)

    # --- headings and paragraphs ------------------------------------------------------------------------
    def drop(self, crumb: Crumb, above: tuple[Crumb, ...]) -> None:
        """A heading left behind with no chunk under it becomes a chunk, so its text is kept."""
        if (crumb.start, crumb.end) not in self.writer.used:
            self.flush()
            end = self.text.find("\n", crumb.start)  # the whole line, its closing 。 included
            self.writer.add("heading", crumb.start, len(self.text) if end < 0 else end, above)

    def paragraph(self, start: int, end: int, kind: str = "text") -> None:
        crumbs = tuple(self.path.crumbs)
        short = end - start <= SHORT_PARAGRAPH and not topic_spans(self.text, start, end)
        if kind == "text" and short and self.pending and self.pending[-1].crumbs == crumbs:
            if end - self.pending[0].start <= self.writer.body_size(crumbs):
                self.pending.append(_Paragraph(start, end, crumbs))
                return
        self.flush()
        if kind == "text" and short:
            self.pending.append(_Paragraph(start, end, crumbs))
            return
        self.writer.add_text(kind, start, end, crumbs)

    def flush(self) -> None:
        if self.pending:
            first, last = self.pending[0], self.pending[-1]
            self.writer.add_text("text", first.start, last.end, first.crumbs)
            self.pending = []

    # --- tables ---------------------------------------------------------------------------------------
    def take_table_title(self) -> None:
        """Hand the pending table title to the table below it, or keep it as a heading chunk."""
        title, self.table.title = self.table.title, None
        if title is not None and (title.start, title.end) not in self.writer.used:
            self.writer.add("heading", title.start, title.end, self.path.crumbs)

    def pipe_table(self, i: int) -> int:
        j = i
        while j < len(self.lines) and classify_line(self.lines[j].text, None, "") is LineKind.PIPE_TABLE:
            j += 1
        self.flush()
        self.list.close()
        spans = [(line.start, line.end) for line in self.lines[i:j]]
        table, self.table.pipe = parse_pipe_table(self.text, spans, self.table.pipe)
        self.emit_table(table)
        return j

    def flat_table(self, i: int) -> int | None:
        nonblank = [k for k in range(i, len(self.lines)) if self.lines[k].text.strip()]
        spans = [(self.lines[k].start, self.lines[k].end) for k in nonblank]
        found = find_flat_table(self.text, spans, 0)
        if found is None:
            return None
        self.flush()
        self.list.close()
        table, after = found
        self.emit_table(table)
        self.table.pipe = None
        return nonblank[after] if after < len(nonblank) else len(self.lines)

    def emit_table(self, table) -> None:
        title, self.table.title = self.table.title, None
        self.writer.add_table(table, [*self.path.crumbs, *([title] if title else [])])
