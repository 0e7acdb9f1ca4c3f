"""Writing chunks: breadcrumbs, offsets, sentence-sized pieces, table rows with their cells.

The walker (`rag.chunking.walker`) reads a document line by line. Headings of Chinese official documents (一、 /
(一) / 1. / (1) / ——, headings running inline with their body, short unnumbered title lines,
附件 and 名词解释) open sections and build a breadcrumb (title › 一、… › (二)…); lists become one
chunk per item; tables one chunk per row read with its header (see `rag.chunking.tables`) plus chunks
holding groups of rows; running text is split at sentence boundaries with langchain-text-splitters.

Every chunk records [start, end) offsets into the document (display and search text are aligned),
so it can be shown and highlighted in the original characters; its breadcrumb is embedded and
BM25-indexed with it. A heading line alone on its line lives only in the breadcrumbs of the chunks
below it; a heading with no chunk below it becomes a chunk of its own, so no text is lost.

The heading, list and topic-sentence patterns are hand-written: no library knows the layout of
Chinese government documents.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from langchain_text_splitters import RecursiveCharacterTextSplitter

from rag.chunking.lines import RANK_ROW_GROUP, RANK_TOPIC, Crumb, topic_spans
from rag.chunking.tables import Row, Table, cell_text, column_name, render_cells, row_cells, strip_span
from rag.records import BREADCRUMB_SEP, Cells, Chunk, Document

# multilingual-e5-small reads at most 512 tokens; a Chinese character is roughly one token, so a
# chunk (breadcrumb included) of ~400 characters stays well inside the limit.
MAX_CHARS = 400
MIN_BODY = 200  # a very long breadcrumb must not squeeze the body below this
SHORT_PARAGRAPH = 100  # consecutive paragraphs this short in one section are merged
TABLE_CELL_CLIP = 24  # cells are clipped in the row-group chunks; each row chunk has them in full

Span = tuple[int, int]


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
class ChunkWriter:
    """Writes the chunks of one document: breadcrumbs resolved, offsets kept, list items linked."""

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

    def add_table(self, table: Table, crumbs: Sequence[Crumb]) -> None:
        """One chunk per row (kind table_row, with its cells) and one per group of rows (kind table)."""
        doc = self.doc
        if not table.rows:
            self.add("table", table.start, table.end, crumbs)
            return
        for row in table.rows:
            group = [Crumb(RANK_ROW_GROUP, *row.group)] if row.group else []
            cells = (row_cells(doc.display_text, table.columns, row), row_cells(doc.search_text, table.columns, row))
            rendered = (render_cells(cells[0]), render_cells(cells[1]))
            self.add("table_row", row.start, row.end, [*crumbs, *group], rendered, cells=cells)
        for start, end, rows in _row_groups(doc.search_text, table, self.body_size(crumbs)):
            rendered = (_render_group(doc.display_text, table, rows), _render_group(doc.search_text, table, rows))
            self.add("table", start, end, crumbs, rendered)

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
