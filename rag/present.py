"""Presentation helpers for the UI: highlight terms in original characters, safely.

Matching happens on the normalised Simplified form and is mapped back to the original characters
through the char-by-char alignment of `to_search_text`, so a Simplified query highlights
Traditional text. Everything is HTML-escaped; only our own <mark> tags are markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

from rag.answer import key_terms
from rag.clean import to_search_text
from rag.records import Chunk

_NUMBER = re.compile(r"\d+(?:\.\d+)?%?")


def highlight_spans(display: str, terms: Iterable[str]) -> list[tuple[int, int]]:
    """Character spans of `display` where any term (Simplified) occurs, merged and sorted."""
    search = to_search_text(display).lower()
    spans = []
    for term in {t.lower() for t in terms if t and len(t) >= 1}:
        start = search.find(term)
        while start != -1:
            spans.append((start, start + len(term)))
            start = search.find(term, start + len(term))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


def highlight_html(display: str, terms: Iterable[str]) -> str:
    """`display` as escaped HTML with <mark> around matched terms; newlines become <br>."""
    out, pos = [], 0
    for s, e in highlight_spans(display, terms):
        out.append(html.escape(display[pos:s]))
        out.append(f"<mark>{html.escape(display[s:e])}</mark>")
        pos = e
    out.append(html.escape(display[pos:]))
    return "".join(out).replace("\n", "<br>")


def terms_to_highlight(question: str, answer_text: str = "") -> list[str]:
    """The question's key terms plus the numbers quoted in the answer."""
    terms = [t for t in key_terms(question) if len(t) >= 2]
    quoted = re.sub(r"\[\d+\]", "", answer_text)  # citation markers are not numbers of the answer
    terms += [n for n in _NUMBER.findall(quoted) if len(n) >= 3 or "." in n or "%" in n]
    return terms


def section_label(chunk: Chunk) -> str:
    """The breadcrumb below the title, in the document's own script."""
    crumbs = (chunk.display_section or chunk.section).split(" › ")
    return " › ".join(crumbs[1:]) if len(crumbs) > 1 else ""


def years_label(years: Iterable[int]) -> str:
    years = sorted(years)
    if not years:
        return ""
    return f"{years[0]}" if len(years) == 1 else f"{years[0]}–{years[-1]}"


def table_row_cells(chunk: Chunk) -> dict[str, str] | None:
    """A table-row chunk read back into {header: value}, for rendering as a small table.

    Row chunks are displayed as `表头: 值 | 表头: 值 …` (see rag/chunk.py); other chunks give None.
    """
    if "row" not in chunk.kind:
        return None
    cells: dict[str, str] = {}
    for part in re.split(r"\s*[|；]\s*", chunk.display_text):
        header, sep, value = part.partition(": ")
        if not sep:
            header, sep, value = part.partition("：")
        if sep and header.strip():
            cells[header.strip()] = value.strip()
    return cells if len(cells) >= 2 else None
