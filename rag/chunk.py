"""Chunking along the document's own structure.

A document's display text is cut into lines; headings (一、 / (一) / 1. …) open sections, pipe
tables become one chunk per row (read with their header), and running text is split at sentence
boundaries with langchain-text-splitters. Every chunk records [start, end) offsets into the
document, so it can be shown and highlighted in the original characters, and carries a breadcrumb
(title › 一、… › (二)…) that is embedded and BM25-indexed with it.

Heading patterns of Chinese official documents are hand-written: no library knows them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from rag.records import Chunk, Document

MAX_CHARS = 360  # ~300-450 e5 tokens with the breadcrumb; well under the 512 limit
BREADCRUMB_SEP = " › "

_CN_NUM = "一二三四五六七八九十百零〇"
HEADING_PATTERNS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (1, re.compile(rf"^[{_CN_NUM}]+、")),
    (2, re.compile(rf"^[(（][{_CN_NUM}]+[)）]")),
    (3, re.compile(r"^\d{1,2}[.、．](?!\d)")),
    (4, re.compile(r"^[(（]\d{1,2}[)）]")),
)
_SENTENCE_END = "。；！？"


@dataclass(frozen=True)
class Line:
    start: int
    end: int  # exclusive, without the newline
    text: str


def split_lines(text: str) -> list[Line]:
    lines, pos = [], 0
    for raw in text.split("\n"):
        lines.append(Line(pos, pos + len(raw), raw))
        pos += len(raw) + 1
    return lines


def heading_level(line: str) -> int:
    """Level of a heading line (1 = 一、, 2 = (一), 3 = 1., 4 = (1)); 0 when it is body text."""
    stripped = line.strip()
    for level, pattern in HEADING_PATTERNS:
        if pattern.match(stripped):
            return level
    return 0


def heading_text(line: str) -> str:
    """The heading part of a line: whole line if short, else up to the first sentence end.

    Handles headings that run inline with their body: 「(一)把握历史机遇,顺利完成体制整合。促进…」.
    """
    stripped = line.strip()
    match = re.search(f"[{_SENTENCE_END}]", stripped)
    if match and match.end() < len(stripped):
        return stripped[: match.end() - 1] if match.end() <= 60 else stripped[:40]
    return stripped[:60]


def is_table_line(line: str) -> bool:
    return line.count("|") >= 2


def _cells(line: str) -> list[str]:
    parts = [p.strip() for p in line.strip().split("|")]
    if parts and parts[-1] == "":
        parts = parts[:-1]
    if parts and parts[0] == "" and line.strip().startswith("|"):
        parts = parts[1:]
    return parts


_splitter = RecursiveCharacterTextSplitter(
    chunk_size=MAX_CHARS,
    chunk_overlap=40,
    separators=["\n\n", "\n", "。", "；", "！", "？", "，", ""],
    keep_separator="end",
    add_start_index=True,
    strip_whitespace=False,
)


def split_span(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Split text[start:end] into pieces of at most MAX_CHARS at sentence boundaries."""
    span = text[start:end]
    if len(span) <= MAX_CHARS:
        yield start, end
        return
    for doc in _splitter.create_documents([span]):
        offset = doc.metadata["start_index"]
        piece = doc.page_content
        lead = len(piece) - len(piece.lstrip())
        body = piece.strip()
        if body:
            yield start + offset + lead, start + offset + lead + len(body)


class _Builder:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.chunks: list[Chunk] = []

    def add(self, kind: str, start: int, end: int, path: list[str], search_override: str | None = None,
            display_override: str | None = None) -> None:
        doc = self.doc
        while start < end and doc.display_text[start].isspace():
            start += 1
        while end > start and doc.display_text[end - 1].isspace():
            end -= 1
        if start >= end:
            return
        crumbs_search = [doc.title, *(doc.search_text[s:e] for s, e in path_spans(path))]
        crumbs_display = [doc.title, *(doc.display_text[s:e] for s, e in path_spans(path))]
        section = BREADCRUMB_SEP.join(c for c in crumbs_search if c)
        body = search_override if search_override is not None else doc.search_text[start:end]
        self.chunks.append(
            Chunk(
                chunk_id=f"{doc.doc_id}#{len(self.chunks):04d}",
                doc_id=doc.doc_id,
                kind=kind,
                section=section,
                start=start,
                end=end,
                display_text=display_override if display_override is not None else doc.display_text[start:end],
                search_text=f"{section}\n{body}",
                title=doc.title,
                source=doc.source,
                region=doc.region,
                years=doc.years,
                display_section=BREADCRUMB_SEP.join(c for c in crumbs_display if c),
            )
        )


def path_spans(path: list[str]) -> list[tuple[int, int]]:
    spans = []
    for item in path:
        s, e = item.split(":")
        spans.append((int(s), int(e)))
    return spans


def chunk_document(doc: Document) -> list[Chunk]:
    """Cut a document into chunks along its headings, table rows and sentences."""
    builder = _Builder(doc)
    lines = split_lines(doc.display_text)
    # path[i] = "start:end" of the heading text at level i+1 (offsets into the document)
    path: list[str] = []
    para_start: int | None = None
    para_end = 0
    i = 0

    def flush() -> None:
        nonlocal para_start
        if para_start is not None:
            for s, e in split_span(doc.display_text, para_start, para_end):
                builder.add("text", s, e, path)
        para_start = None

    while i < len(lines):
        line = lines[i]
        if not line.text.strip():
            flush()
            i += 1
            continue
        if is_table_line(line.text):
            flush()
            j = i
            while j < len(lines) and is_table_line(lines[j].text):
                j += 1
            _add_table(builder, lines[i:j], path)
            i = j
            continue
        level = heading_level(line.text)
        if level:
            flush()
            head = heading_text(line.text)
            offset = line.start + (len(line.text) - len(line.text.lstrip()))
            del path[level - 1 :]
            while len(path) < level - 1:
                path.append(f"{offset}:{offset}")
            path.append(f"{offset}:{offset + len(head)}")
            if head == line.text.strip():
                i += 1  # a heading alone on its line lives in the breadcrumb, not as a chunk
                continue
        if para_start is None:
            para_start = line.start
        para_end = line.end
        # Each paragraph line is its own unit: government reports put one topic per line.
        flush()
        i += 1
    flush()
    return builder.chunks


def _add_table(builder: _Builder, rows: list[Line], path: list[str]) -> None:
    """One chunk per data row, reading `header: value`; the first row is taken as the header."""
    doc = builder.doc
    header = _cells(doc.search_text[rows[0].start : rows[0].end])
    for row in rows[1:]:
        values = _cells(doc.search_text[row.start : row.end])
        pairs = [f"{h}: {v}" for h, v in zip(header, values) if v and h] or values
        builder.add("table_row", row.start, row.end, path, search_override="；".join(pairs))
    if rows:
        builder.add("table_header", rows[0].start, rows[0].end, path)
