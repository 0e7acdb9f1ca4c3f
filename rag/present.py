"""Presentation helpers for the UI: safe rendering, highlighting, source titles, labels, exports.

Pure functions over records (no Streamlit), so they are unit-tested on their own.

Safety: everything that comes from documents (passages, titles, table cells) and every answer text is
rendered so that the browser never fetches or links anything outside the app. Passages are built as
escaped HTML (shown with `st.html`, no Markdown pass at all); answer texts are Markdown (they carry
lists and tables), so images are removed, links and bare URLs are shown as text, raw HTML is escaped,
and only our own [n] anchors are markup.

Highlighting happens on the normalised Simplified form and is mapped back to the original characters
through the char-by-char alignment of `to_search_text`, so a Simplified query highlights Traditional text.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from rag.records import BREADCRUMB_SEP, Chunk, Document, Fact, Query
from rag.zh import to_search_text

# Figures quoted in an answer, kept with their percent sign; a year (2024年) is when, not a figure.
_NUMBER = re.compile(r"(?<![\d.])\d+(?:\.\d+)?%?(?![\d.]|年)")
_CITATION = re.compile(r"\[(\d{1,3})\]")

MAX_QUESTION_CHARS = 500

MODE_LABELS = {"hybrid": "综合检索", "dense": "语义", "bm25": "关键词"}
MODE_HELP = ("综合检索：按意思和按字词两种方式一起找，通常最准。语义：按意思找，措辞不同也能找到。"
             "关键词：按字词精确匹配，适合指标名称、文号等。")


# --- safe rendering ---------------------------------------------------------------------------------

_IMAGE = re.compile(r"!\[([^\]\n]*)\]\([^)\n]*\)")
_LINK = re.compile(r"\[([^\]\n]*)\]\(\s*([^)\s]*)[^)\n]*\)")
_URL_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):(?=//)")
_WWW = re.compile(r"\b([Ww]{3})\.")
# Markdown and Streamlit-Markdown characters that could start markup ($ is KaTeX math, : starts
# Streamlit's :color[…] directives and :emoji: codes). \ first, so our own escapes are not doubled.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~$:<>-])")


def escape_markdown(text: str) -> str:
    """`text` shown literally by a Markdown renderer: HTML escaped, every Markdown character backslashed."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False)).replace("\n", "  \n")


def safe_answer_markdown(text: str, link: Callable[[int], tuple[str, str] | None] | None = None) -> str:
    """An answer's Markdown made safe to render with HTML allowed: its lists, tables and emphasis stay;
    images are dropped (their alt text kept), links and bare URLs become plain text, raw HTML is escaped,
    math and directives are disabled. Each [n] becomes an in-page anchor when `link(n)` gives
    (href, preview); otherwise it stays the text [n].
    """
    out = html.escape(text, quote=False)
    out = _IMAGE.sub(lambda m: f"〔图：{m.group(1)}〕" if m.group(1).strip() else "", out)
    out = _LINK.sub(lambda m: f"{m.group(1)}（{m.group(2)}）" if m.group(2) else m.group(1), out)
    out = _URL_SCHEME.sub(r"\1\\:", out)  # http\:// is shown as http:// but is no longer autolinked
    out = _WWW.sub(r"\1\\.", out)
    out = out.replace("@", "\\@").replace("$", "\\$")
    out = re.sub(r"(?<!\\):(?=[A-Za-z_][\w-]*[:\[])", r"\\:", out)  # Streamlit :emoji: and :color[…]
    # Every bracket is escaped (no reference links can form); citations are put back as our anchors.
    out = out.replace("[", "\\[").replace("]", "\\]")

    def cite(match: re.Match) -> str:
        number = int(match.group(1))
        target = link(number) if link else None
        if target is None:
            return f"\\[{number}\\]"
        href, preview = target
        # The anchor may sit inside a Markdown table row: a | or a line break in it would cut the row.
        title = html.escape(preview).replace("|", "&#124;").replace("\n", "&#10;")
        return f'<a class="rag-cite" href="{html.escape(href)}" title="{title}" target="_self">[{number}]</a>'


    return re.sub(r"\\\[(\d{1,3})\\\]", cite, out)


def cited_numbers(text: str) -> list[int]:
    """The citation numbers an answer text uses, in order of first use."""
    return list(dict.fromkeys(int(n) for n in _CITATION.findall(text)))


def anchor_id(prefix: str, number: int) -> str:
    return f"{re.sub(r'[^A-Za-z0-9_-]', '-', prefix)}-src-{number}"


# --- highlighting -----------------------------------------------------------------------------------

def highlight_spans(display: str, terms: Iterable[str]) -> list[tuple[int, int]]:
    """Character spans of `display` where any term (Simplified) occurs, merged and sorted."""
    search = to_search_text(display).lower()
    spans = []
    for term in {t.lower() for t in terms if t}:
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


def answer_figures(texts: Iterable[str]) -> list[str]:
    """The figures an answer states (2502.2, 8.5%, 1203), citation markers and bare small counts left out."""
    figures: list[str] = []
    for text in texts:
        quoted = _CITATION.sub("", text)
        figures += [n for n in _NUMBER.findall(quoted) if len(n) >= 3 or "." in n or "%" in n]
    return list(dict.fromkeys(figures))


def terms_to_highlight(query: Query | None, answer_text: str = "", evidence: Iterable[str] = ()) -> list[str]:
    """The question's topic words plus the answer's own figures — not every number of the passage.

    `evidence` are the sentences the answer quotes from this passage; when given, their figures are the
    ones highlighted, otherwise the figures of the whole answer text.
    """
    terms = [t for t in (query.topic or query.terms) if len(t) >= 2] if query else []
    evidence = list(evidence)
    # The answer's own statement (its text less the sentences it quotes) names the figures asked for;
    # the quoted sentences carry many more, which are context, not the answer.
    statement = answer_text
    for sentence in evidence:
        statement = statement.replace(sentence, "")
    return terms + (answer_figures([statement]) or answer_figures(evidence))


# --- labels -----------------------------------------------------------------------------------------

def section_label(chunk: Chunk) -> str:
    """The breadcrumb below the title, in the document's own script."""
    return BREADCRUMB_SEP.join(chunk.display_breadcrumb)


def years_label(years: Iterable[int]) -> str:
    years = sorted(years)
    if not years:
        return ""
    return f"{years[0]}" if len(years) == 1 else f"{years[0]}–{years[-1]}"


def document_short_name(region: str, years: Iterable[int], doc_type: str, title: str) -> str:
    """What a document is in a few characters: 「余杭区 2021 政府工作报告」; the title when metadata is missing."""
    parts = [p for p in (region, years_label(years), doc_type) if p]
    if len(parts) >= 2:
        return " ".join(parts)
    return title if len(title) <= 24 else title[:23] + "…"


def table_row_cells(chunk: Chunk) -> dict[str, str] | None:
    """A table-row chunk's cells as {header: value}, for rendering as a small table; None for other chunks."""
    cells = {header: value for header, value in chunk.cells if header}
    return cells if len(cells) >= 2 else None


def row_label(chunk: Chunk) -> str:
    """A table row named by its first non-empty cell (the indicator or task it is about)."""
    for _, value in chunk.cells:
        value = value.strip()
        if len(value) >= 2 and not re.fullmatch(r"[\d.、()（）]+", value):  # skip serial numbers (1, 2.1, (三))
            return value[:30]
    return ""


@dataclass(frozen=True)
class SourceLabel:
    document: str  # 「余杭区 2021 政府工作报告」
    place: str  # section, or table · row
    paragraph: int  # 1-based position of the passage in its document

    @property
    def text(self) -> str:
        return " · ".join(p for p in (self.document, self.place, f"第 {self.paragraph} 段" if self.paragraph else "") if p)


def source_label(chunk: Chunk, document: Document | None, paragraph: int = 0) -> SourceLabel:
    """A source titled by what it is: document short name · section or table row · paragraph."""
    if document is not None:
        name = document_short_name(document.region, document.years, document.doc_type, document.title)
    else:
        name = document_short_name(chunk.region, chunk.years, "", chunk.title)
    place = chunk.display_breadcrumb[-1] if chunk.display_breadcrumb else ""
    if chunk.cells and (row := row_label(chunk)):
        place = f"{place} · {row}" if place else row
    if len(place) > 40:
        place = place[:39] + "…"
    return SourceLabel(name, place, paragraph)


def built_at_label(value: str) -> str:
    """A build time for people: 「2026-11-24 10:15」 instead of an ISO timestamp."""
    try:
        return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return value or "未知"


def trim_question(text: str) -> tuple[str, str]:
    """The question to ask and a notice for the user ('' when none); empty input gives ('', notice)."""
    question = text.strip()
    if not question:
        return "", "请输入问题，例如：某区某年哪些指标未完成。"
    if len(question) > MAX_QUESTION_CHARS:
        return question[:MAX_QUESTION_CHARS], (
            f"问题有 {len(question)} 个字，超过 {MAX_QUESTION_CHARS} 字的上限，只用了前 {MAX_QUESTION_CHARS} 个字。")
    return question, ""


def filters_label(regions: Sequence[str], years: Sequence[int], documents: Sequence[str]) -> str:
    parts = []
    if regions:
        parts.append("地区：" + "、".join(regions))
    if years:
        parts.append("年份：" + "、".join(str(y) for y in years))
    if documents:
        parts.append("文档：" + "、".join(documents))
    return "；".join(parts)


# --- what is indexed, example questions -----------------------------------------------------------------

@dataclass(frozen=True)
class IndexSummary:
    n_documents: int
    n_chunks: int
    regions: tuple[str, ...]
    years: tuple[int, ...]
    doc_types: tuple[tuple[str, int], ...]  # (type, count)


def index_summary(manifest: Mapping) -> IndexSummary:
    docs = list((manifest.get("documents") or {}).values())
    types: dict[str, int] = {}
    for d in docs:
        types[d.get("doc_type") or "其他"] = types.get(d.get("doc_type") or "其他", 0) + 1
    return IndexSummary(
        n_documents=int(manifest.get("n_documents", len(docs))),
        n_chunks=int(manifest.get("n_chunks", 0)),
        regions=tuple(sorted({d["region"] for d in docs if d.get("region")})),
        years=tuple(sorted({int(y) for d in docs for y in d.get("years", [])})),
        doc_types=tuple(sorted(types.items(), key=lambda kv: -kv[1])),
    )


def example_questions(manifest: Mapping, facts: Sequence[Fact] = (), limit: int = 5) -> list[str]:
    """4–6 questions the index can answer, made from what it holds: indicators of its tables (one per
    place and year), the status of a table with unfinished items, then one question per document."""
    questions: list[str] = []
    seen_places: set[tuple[str, int | None]] = set()
    unfinished = [f for f in facts if f.kind == "indicator" and f.region and f.year and f.status
                  and "未" in f.status]
    if unfinished:
        f = unfinished[0]
        questions.append(f"{f.region}{f.year}年哪些指标未完成")
        seen_places.add((f.region, f.year))
    for f in facts:
        if len(questions) >= limit - 1:
            break
        if f.kind != "indicator" or not (f.region and f.year and f.actual) or (f.region, f.year) in seen_places:
            continue
        if not 2 <= len(f.indicator) <= 12 or re.search(r"[（(）)\d%]", f.indicator):
            continue  # long or qualified indicator names make clumsy questions
        seen_places.add((f.region, f.year))
        questions.append(f"{f.region}{f.year}年{f.indicator}完成了多少")
    for d in (manifest.get("documents") or {}).values():
        if len(questions) >= limit:
            break
        region, years, doc_type = d.get("region"), d.get("years") or [], d.get("doc_type")
        if not (region and years and doc_type):
            continue
        year = max(years)
        if (region, year) in seen_places:
            continue
        seen_places.add((region, year))
        questions.append(f"{region}{year}年{doc_type}提出了哪些主要目标")
    return questions[:limit]


# --- conversation export, facts CSV, feedback -------------------------------------------------------

FACT_COLUMNS = (("indicator", "指标"), ("target", "目标"), ("actual", "完成"), ("completion", "差距/完成率"),
                ("status", "状态"), ("note", "备注"), ("region", "地区"), ("year", "年份"))


def fact_rows(facts: Sequence[Fact], sources: Mapping[str, str]) -> list[dict[str, object]]:
    """The facts an answer came from as readable rows; 出处 names the document, table and citation
    (from `sources`: chunk id -> label), never an internal id."""
    rows = []
    for fact in facts:
        row: dict[str, object] = {label: getattr(fact, name) for name, label in FACT_COLUMNS}
        row["表"] = fact.table
        row["出处"] = sources.get(fact.chunk_id, fact.table)
        rows.append(row)
    return rows


def conversation_markdown(messages: Sequence[Mapping], title: str = "政府文件问答 · 对话记录") -> str:
    """The conversation as a Markdown file people can keep or send: questions, answers, their sources."""
    lines = [f"# {title}", ""]
    for message in messages:
        if message.get("role") == "user":
            lines += [f"## 问：{message.get('content', '')}", ""]
            continue
        lines += [message.get("content", ""), ""]
        if message.get("context"):
            lines += [f"*{message['context']}*", ""]
        sources = message.get("sources") or []
        if sources:
            lines.append("来源：")
            lines += [f"- [{s['number']}] {s['label']}" for s in sources if s.get("cited")]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def feedback_record(message: Mapping, rating: str, at: datetime) -> str:
    """One JSON line for the local feedback file: the question, answer, citations and the rating."""
    return json.dumps({
        "at": at.isoformat(timespec="seconds"),
        "rating": rating,
        "question": message.get("question", ""),
        "answer": message.get("content", ""),
        "mode": message.get("mode", ""),
        "filters": message.get("filters_label", ""),
        "citations": [{"number": s["number"], "source": s["label"], "chunk_id": s["chunk"]["chunk_id"]}
                      for s in message.get("sources", []) if s.get("cited")],
    }, ensure_ascii=False)


# --- the document view ------------------------------------------------------------------------------

HIT_ID = "rag-hit"


def _cells_table(rows: Sequence[Chunk], caption: str, terms: Sequence[str], *, target_id: str = "",
                 numbers: Mapping[str, int] | None = None, mark_all: bool = False) -> str:
    """Table-row chunks as one HTML table (header from the first row's cells), escaped; `numbers` adds a
    citation column; terms are marked in the target row, or in every row with `mark_all`."""
    headers = list(dict.fromkeys(h for row in rows for h, _ in row.cells))  # rows of one table may omit cells
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    if numbers is not None:
        head = "<th>出处</th>" + head
    body = []
    for row in rows:
        values = dict(row.cells)
        hit = row.chunk_id == target_id
        marked = hit or mark_all
        cells = "".join(
            f"<td>{highlight_html(values.get(h, ''), terms) if marked else html.escape(values.get(h, ''))}</td>"
            for h in headers
        )
        if numbers is not None:
            cells = f"<td>[{numbers.get(row.chunk_id, '')}]</td>" + cells
        attrs = f' id="{HIT_ID}" class="rag-hit"' if hit else ""
        body.append(f"<tr{attrs}>{cells}</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return (f'<div class="rag-table-wrap"><table class="rag-table">{cap}<thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>")


def table_html(rows: Sequence[Chunk], terms: Sequence[str], numbers: Mapping[str, int]) -> str:
    """Cited rows of one table, once, under the table's caption, each row with its citation number."""
    caption = rows[0].display_breadcrumb[-1] if rows[0].display_breadcrumb else ""
    return _cells_table(rows, caption, terms, numbers=numbers, mark_all=True)


def passage_html(chunk: Chunk, terms: Sequence[str]) -> str:
    """One passage as escaped HTML with the answer's terms and figures marked; a table row as a table."""
    if table_row_cells(chunk):
        caption = chunk.display_breadcrumb[-1] if chunk.display_breadcrumb else ""
        return _cells_table([chunk], caption, terms, mark_all=True)
    return f'<div class="rag-passage">{highlight_html(chunk.display_text, terms)}</div>'


def document_html(document: Document, chunks: Sequence[Chunk], target_id: str, terms: Sequence[str]) -> str:
    """The whole document as escaped HTML: headings, paragraphs, tables as tables (their rows' cells),
    the target passage wrapped in an element with id `HIT_ID` and its terms marked."""
    text = document.display_text
    ordered = sorted((c for c in chunks if c.doc_id == document.doc_id), key=lambda c: (c.start, c.end))
    out: list[str] = []
    pos = 0
    i = 0

    headings = {h.strip() for c in ordered for h in c.display_breadcrumb if h.strip()}

    def plain(start: int, end: int) -> None:
        """Text between passages: the document's headings (the chunks' breadcrumbs) as headings, the rest as paragraphs."""
        lines: list[str] = []
        for line in text[start:end].splitlines():
            if line.strip() in headings:
                if lines:
                    out.append(f'<p>{"<br>".join(lines)}</p>')
                    lines = []
                out.append(f"<h4>{html.escape(line.strip())}</h4>")
            elif line.strip():
                lines.append(html.escape(line))
        if lines:
            out.append(f'<p>{"<br>".join(lines)}</p>')

    while i < len(ordered):
        chunk = ordered[i]
        if chunk.end <= pos and chunk.chunk_id != target_id:
            i += 1
            continue  # covered already (a table chunk and its rows overlap)
        if chunk.start > pos:
            plain(pos, chunk.start)
        if chunk.cells:
            run = [chunk]
            while (i + 1 < len(ordered) and ordered[i + 1].cells
                   and ordered[i + 1].display_breadcrumb == chunk.display_breadcrumb
                   and [h for h, _ in ordered[i + 1].cells] == [h for h, _ in chunk.cells]):
                i += 1
                run.append(ordered[i])
            caption = chunk.display_breadcrumb[-1] if chunk.display_breadcrumb else ""
            out.append(_cells_table(run, caption, terms, target_id=target_id))
            pos = max(pos, max(c.end for c in run))
        else:
            piece = text[max(pos, chunk.start):chunk.end] if chunk.chunk_id != target_id else text[chunk.start:chunk.end]
            if chunk.chunk_id == target_id:
                out.append(f'<div id="{HIT_ID}" class="rag-hit">{highlight_html(piece.strip(chr(10)), terms)}</div>')
            elif chunk.kind == "heading":
                out.append(f"<h4>{html.escape(piece.strip())}</h4>")
            elif piece.strip():
                out.append(f'<p>{html.escape(piece.strip(chr(10))).replace(chr(10), "<br>")}</p>')
            pos = max(pos, chunk.end)
        i += 1
    if pos < len(text):
        plain(pos, len(text))
    return f'<div class="rag-doc">{"".join(out)}</div>'
