"""Loading: files on disk -> raw text -> `Document`.

Each format has one reader (bytes -> raw text). Decoding is explicit: UTF-8 (with or without BOM),
GB18030 (a superset of GBK) and Big5 are tried in order and the first that decodes cleanly *and*
reads as Chinese wins; a file that decodes to nothing sensible is reported, never indexed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rag.clean import clean_display_text, looks_traditional, to_search_text
from rag.metadata import infer_metadata, read_manifest
from rag.records import Document

SUPPORTED_SUFFIXES = (".txt", ".md")
_ENCODINGS = ("utf-8-sig", "gb18030", "big5")


class LoadError(ValueError):
    """A file could not be turned into a document; the message says why and what to do."""


@dataclass(frozen=True)
class LoadReport:
    """What happened to one file during a folder load."""

    path: str
    ok: bool
    message: str = ""


def _cjk_share(text: str) -> float:
    letters = [c for c in text if not c.isspace()]
    if not letters:
        return 0.0
    han = sum("\u4e00" <= c <= "\u9fff" or "\u3000" <= c <= "\u303f" or "\uff00" <= c <= "\uffef" for c in letters)
    return han / len(letters)


def decode_text(data: bytes, name: str = "file") -> str:
    """Decode bytes of a plain-text file, refusing binary data and undecodable text."""
    if not data.strip():
        raise LoadError(f"{name}: the file is empty.")
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise LoadError(f"{name}: looks like a binary file (NUL bytes), not text; skipped.")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    for encoding in _ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "utf-8-sig" or _cjk_share(text) >= 0.3:
            return text
    raise LoadError(
        f"{name}: could not decode as UTF-8, GB18030/GBK or Big5. Save it as UTF-8 and add it again."
    )


def read_plain_text(path: Path) -> str:
    return decode_text(path.read_bytes(), path.name)


READERS: dict[str, Callable[[Path], str]] = {".txt": read_plain_text, ".md": read_plain_text}


def document_from_text(raw: str, *, doc_id: str, source: str, overrides: dict | None = None) -> Document:
    display = clean_display_text(raw)
    if not display.strip():
        raise LoadError(f"{source}: no text left after cleaning (only boilerplate?).")
    search = to_search_text(display)
    meta = infer_metadata(search, source=source)
    meta.update(overrides or {})
    return Document(
        doc_id=doc_id,
        source=source,
        title=str(meta["title"]),
        display_text=display,
        search_text=search,
        region=str(meta.get("region", "")),
        years=tuple(int(y) for y in meta.get("years", ())),
        doc_type=str(meta.get("doc_type", "")),
        content_hash=hashlib.sha256(display.encode("utf-8")).hexdigest()[:16],
        script="traditional" if looks_traditional(display) else "simplified",
    )


def load_document(path: Path, *, root: Path | None = None, overrides: dict | None = None) -> Document:
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise LoadError(f"{path.name}: unsupported file type {path.suffix!r}; supported: {', '.join(READERS)}.")
    try:
        raw = reader(path)
    except OSError as exc:
        raise LoadError(f"{path.name}: cannot read the file ({exc.strerror or exc}).") from exc
    source = str(path.relative_to(root)) if root else path.name
    return document_from_text(raw, doc_id=Path(source).with_suffix("").as_posix(), source=source, overrides=overrides)


def iter_document_files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix.lower() in READERS and not path.name.startswith("."):
            if path.name.lower() == "readme.md":
                continue  # a folder's README describes the documents; it is not one of them
            yield path


def load_folder(folder: Path) -> tuple[list[Document], list[LoadReport]]:
    """Load every supported file below `folder`; bad files are reported and skipped."""
    folder = Path(folder)
    if not folder.is_dir():
        raise LoadError(f"Document folder {folder} does not exist.")
    manifest = read_manifest(folder)
    documents: list[Document] = []
    reports: list[LoadReport] = []
    for path in iter_document_files(folder):
        rel = path.relative_to(folder).as_posix()
        try:
            doc = load_document(path, root=folder, overrides=manifest.get(rel) or manifest.get(path.stem))
        except LoadError as exc:
            reports.append(LoadReport(rel, False, str(exc)))
            continue
        documents.append(doc)
        reports.append(LoadReport(rel, True, f"{doc.title} ({doc.region or '?'}, {doc.doc_type or '?'})"))
    return documents, reports
