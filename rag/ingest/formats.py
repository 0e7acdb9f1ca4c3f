"""Per-format readers: a file on disk -> raw text plus notes for the load report.

Each reader returns `Extracted(text, notes)`; notes are things a user should know about a file that
still loaded (a PDF page without a text layer). A file that cannot be read raises `LoadError` with a
message that says why and what to do. Tables come out as pipe-table lines (`a | b | c |`), the shape
the chunker reads as table rows, whatever format they came from.
"""

from __future__ import annotations

import csv
import io
import re
import sys
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rag.ingest.clean import han_word_share


class LoadError(ValueError):
    """A file could not be turned into a document; the message says why and what to do."""


@dataclass(frozen=True)
class Extracted:
    text: str
    notes: tuple[str, ...] = field(default=())


# --- plain text ---------------------------------------------------------------------------------
# UTF-8 is tried first and strictly: other encodings' Chinese bytes are almost never valid UTF-8.
# Otherwise charset-normalizer chooses between GB18030 (a superset of GBK) and Big5. Whatever wins
# must then read as Chinese words (han_word_share): GBK bytes decoded as Big5, or the reverse, give
# valid characters that never form words, and such a file is refused rather than indexed.
_LEGACY_ENCODINGS = ["gb18030", "big5"]
_MIN_WORD_SHARE = 0.3  # real text ~0.9, wrong-codec text ~0.0


def pipe_row(cells: Iterable[str]) -> str:
    """One table row as the chunker reads it: cells joined by ` | `, closed by ` |`."""
    return " | ".join(re.sub(r"\s+", " ", c).strip() for c in cells) + " |"


def decode_text(data: bytes, name: str = "file") -> str:
    """Decode bytes of a plain-text file, refusing binary data and text that decodes to garbage."""
    if not data.strip():
        raise LoadError(f"{name}: the file is empty.")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return _checked(data.decode("utf-16"), name, "UTF-16")
        except UnicodeDecodeError as exc:  # odd length (truncated) or a lone surrogate
            raise LoadError(
                f"{name}: damaged UTF-16 text ({exc.reason} at byte {exc.start}); "
                "open it in an editor, save it as UTF-8 and add it again."
            ) from exc
    if b"\x00" in data[:4096]:
        raise LoadError(f"{name}: looks like a binary file (NUL bytes), not text; skipped.")
    try:
        return _checked(data.decode("utf-8-sig"), name, "UTF-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=_LEGACY_ENCODINGS).best()
    if best is None:
        raise LoadError(
            f"{name}: could not decode as UTF-8, GB18030/GBK or Big5 (binary or another encoding?). "
            "Save it as UTF-8 and add it again."
        )
    return _checked(str(best), name, best.encoding)


def _checked(text: str, name: str, encoding: str) -> str:
    if han_word_share(text) < _MIN_WORD_SHARE:
        raise LoadError(
            f"{name}: decodes as {encoding} but reads as garbage (characters that form no words); "
            "check the file's encoding, save it as UTF-8 and add it again."
        )
    return text


def read_plain_text(path: Path) -> Extracted:
    return Extracted(decode_text(path.read_bytes(), path.name))


# --- Word -----------------------------------------------------------------------------------------
def read_docx(path: Path) -> Extracted:
    """Paragraphs and tables in document order; merged cells are written once per row."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table
    from lxml.etree import XMLSyntaxError

    _check_zip_expansion(path)
    try:
        document = docx.Document(str(path))
    except (zipfile.BadZipFile, zlib.error, PackageNotFoundError, XMLSyntaxError, KeyError, ValueError, TypeError,
            AttributeError, IndexError, EOFError, NotImplementedError) as exc:
        raise LoadError(
            f"{path.name}: not a readable Word .docx (damaged or truncated; {type(exc).__name__}). "
            "Open it in Word, save it again as .docx and add it again."
        ) from exc
    lines: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            lines.extend(_docx_table_rows(block))
        else:
            lines.append(block.text)
    return Extracted("\n".join(lines))


# A .docx is a zip: python-docx inflates its parts into memory, so a small file that declares
# gigabytes of XML (a zip bomb) would exhaust memory. The declared sizes are checked first.
MAX_DOCX_EXPANDED_BYTES = 300 * 2**20


def _check_zip_expansion(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise LoadError(
            f"{path.name}: not a readable Word .docx (damaged or truncated; {type(exc).__name__}). "
            "Open it in Word, save it again as .docx and add it again."
        ) from exc
    if expanded > MAX_DOCX_EXPANDED_BYTES:
        raise LoadError(
            f"{path.name}: the Word file expands to {expanded / 2**20:,.0f} MB (the limit is "
            f"{MAX_DOCX_EXPANDED_BYTES // 2**20} MB); it is damaged or hostile, or far larger than one report."
        )


def _docx_table_rows(table) -> list[str]:
    rows = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            # python-docx repeats a horizontally merged cell once per grid column it spans.
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            cells.append(cell.text)
        if any(c.strip() for c in cells):
            rows.append(pipe_row(cells))
    return rows


# --- PDF ------------------------------------------------------------------------------------------
# A report is tens of pages; a PDF of thousands is a scanned archive or a book, whose text extraction
# alone would take many minutes. Refused before any page is read, with advice.
MAX_PDF_PAGES = 3000


def read_pdf(path: Path) -> Extracted:
    """The PDF's text layer, page by page; pages without one are named in the notes."""
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError, PyPdfError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            raise LoadError(f"{path.name}: the PDF is password-protected; save an unprotected copy and add it again.")
        if len(reader.pages) > MAX_PDF_PAGES:
            raise LoadError(
                f"{path.name}: {len(reader.pages):,} pages is more than the limit of {MAX_PDF_PAGES:,} per document; "
                "split it into one file per report and add them again."
            )
        pages = [page.extract_text() or "" for page in reader.pages]
    except LimitReachedError as exc:
        # pypdf stops a stream that inflates beyond its limit: a decompression bomb, or a damaged file.
        raise LoadError(
            f"{path.name}: a compressed stream in the PDF expands beyond the safety limit ({exc}); "
            "it is damaged or hostile. Export the report to PDF again and add it again."
        ) from exc
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError, OSError) as exc:
        raise LoadError(f"{path.name}: not a readable PDF (damaged or truncated: {type(exc).__name__}: {exc}).") from exc
    empty = [i + 1 for i, text in enumerate(pages) if not text.strip()]
    if len(empty) == len(pages):
        raise LoadError(
            f"{path.name}: no page has a text layer (a scan?); run OCR on it (e.g. ocrmypdf) and add it again."
        )
    notes = (f"page(s) {', '.join(map(str, empty))} of {len(pages)} have no text layer (scanned?); not indexed",)
    return Extracted("\n".join(pages), notes if empty else ())


# --- HTML -----------------------------------------------------------------------------------------
# Portal pages wrap the article in navigation. Known furniture elements are removed, then the main
# content is the <article>/<main> element, a container whose id/class says content, or else the
# element holding most paragraph text. Tables become pipe rows.
_FURNITURE_TAGS = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form", "iframe", "button")
_FURNITURE_ATTR = re.compile(r"nav|menu|breadcrumb|crumb|footer|header|share|sidebar|toolbar|copyright|position", re.I)
_CONTENT_ATTR = re.compile(r"article|content|TRS_Editor|zoom|zhengwen|main-text|detail", re.I)
_BLOCK_TAGS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "div", "section", "article", "main", "td", "th", "br")


def read_html(path: Path) -> Extracted:
    from bs4 import BeautifulSoup

    data = path.read_bytes()
    if not data.strip():
        raise LoadError(f"{path.name}: the file is empty.")
    soup = BeautifulSoup(data, "lxml")
    for tag in soup(_FURNITURE_TAGS):
        tag.decompose()
    for tag in soup.find_all(attrs={"class": _FURNITURE_ATTR}) + soup.find_all(attrs={"id": _FURNITURE_ATTR}):
        if not tag.decomposed:
            tag.decompose()
    root = _main_content(soup)
    text = "\n".join(_html_lines(root))
    if not text.strip():
        raise LoadError(f"{path.name}: the web page has no readable text.")
    return Extracted(text)


def _main_content(soup):
    for candidate in (soup.find("article"), soup.find("main")):
        if candidate is not None and len(candidate.get_text(strip=True)) > 200:
            return candidate
    scored = [
        (len(tag.get_text(strip=True)), tag)
        for tag in soup.find_all(True)
        if _CONTENT_ATTR.search(" ".join(tag.get("class", [])) + " " + (tag.get("id") or ""))
    ]
    if scored:
        size, tag = max(scored, key=lambda pair: pair[0])
        if size > 200:
            return tag
    return soup.body or soup


def _html_lines(root) -> list[str]:
    """Block elements as lines, tables as pipe rows, in document order."""
    from bs4 import NavigableString, Tag

    lines: list[str] = []
    current: list[str] = []

    def flush() -> None:
        line = re.sub(r"[ \t\r\n]+", " ", "".join(current)).strip()
        if line:
            lines.append(line)
        current.clear()

    def walk(node) -> None:
        for child in node.children:
            if isinstance(child, NavigableString):
                current.append(str(child))
            elif isinstance(child, Tag):
                if child.name == "table":
                    flush()
                    for tr in child.find_all("tr"):
                        cells = [td.get_text(" ", strip=True) for td in tr.find_all(("td", "th"))]
                        if any(cells):
                            lines.append(pipe_row(cells))
                elif child.name in _BLOCK_TAGS:
                    flush()
                    walk(child)
                    flush()
                else:
                    walk(child)

    walk(root)
    flush()
    return lines


# --- CSV ------------------------------------------------------------------------------------------
# A CSV export of documents (one row per report, its text in a column such as full_text) gives that
# text, each row headed by its title; any other CSV is a table, written as pipe rows.
_TEXT_COLUMNS = ("full_text", "content", "text", "body", "正文", "内容", "全文")
_TITLE_COLUMNS = ("title", "标题", "名称")


def read_csv(path: Path) -> Extracted:
    csv.field_size_limit(sys.maxsize)  # one cell can hold a whole report
    text = decode_text(path.read_bytes(), path.name)
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise LoadError(f"{path.name}: not a valid CSV ({exc}).") from exc
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if len(rows) < 2:
        raise LoadError(f"{path.name}: the CSV has no data rows.")
    header = [h.strip().lower() for h in rows[0]]
    text_col = next((header.index(c) for c in _TEXT_COLUMNS if c in header), None)
    if text_col is None:
        return Extracted("\n".join(pipe_row(row) for row in rows))
    title_col = next((header.index(c) for c in _TITLE_COLUMNS if c in header), None)
    parts = []
    for row in rows[1:]:
        title = row[title_col].strip() if title_col is not None and title_col < len(row) else ""
        body = row[text_col] if text_col < len(row) else ""
        parts.append(f"{title}\n{body}" if title and not body.lstrip().startswith(title) else body)
    return Extracted("\n\n".join(parts))


READERS: dict[str, Callable[[Path], Extracted]] = {
    ".txt": read_plain_text,
    ".md": read_plain_text,
    ".docx": read_docx,
    ".pdf": read_pdf,
    ".html": read_html,
    ".htm": read_html,
    ".csv": read_csv,
}
