"""Presentation helpers for the UI: highlight terms in original characters, safely.

Matching happens on the normalised Simplified form and is mapped back to the original characters
through the char-by-char alignment of `to_search_text`, so a Simplified query highlights
Traditional text. Everything is HTML-escaped; only our own <mark> tags are markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

from rag.records import BREADCRUMB_SEP, Chunk, Query
from rag.zh import to_search_text

_NUMBER = re.compile(r"\d+(?:\.\d+)?%?")  # figures quoted in an answer, kept with their percent sign


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


def terms_to_highlight(query: Query, answer_text: str = "") -> list[str]:
    """The question's key terms plus the numbers quoted in the answer."""
    terms = [t for t in query.terms if len(t) >= 2]
    quoted = re.sub(r"\[\d+\]", "", answer_text)  # citation markers are not numbers of the answer
    terms += [n for n in _NUMBER.findall(quoted) if len(n) >= 3 or "." in n or "%" in n]
    return terms


def section_label(chunk: Chunk) -> str:
    """The breadcrumb below the title, in the document's own script."""
    return BREADCRUMB_SEP.join(chunk.display_breadcrumb)


def years_label(years: Iterable[int]) -> str:
    years = sorted(years)
    if not years:
        return ""
    return f"{years[0]}" if len(years) == 1 else f"{years[0]}–{years[-1]}"


def table_row_cells(chunk: Chunk) -> dict[str, str] | None:
    """A table-row chunk's cells as {header: value}, for rendering as a small table; None for other chunks."""
    cells = {header: value for header, value in chunk.cells if header}
    return cells if len(cells) >= 2 else None
