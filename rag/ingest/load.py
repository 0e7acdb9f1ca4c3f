"""Loading: files on disk -> raw text -> `Document`.

Each format has one reader in `rag.formats` (.txt/.md in UTF-8, GB18030/GBK or Big5, .docx, .pdf,
.html/.htm, .csv). A file that cannot be read, or decodes to garbage, is reported and skipped; the
rest of the folder still loads. Near-duplicate documents are reported, not dropped: the user
decides which copy to keep.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rag.ingest.clean import clean_display_text
from rag.ingest.formats import READERS, Extracted, LoadError, decode_text
from rag.ingest.metadata import infer_metadata, read_manifest
from rag.records import Document
from rag.zh import looks_traditional, to_search_text

SUPPORTED_SUFFIXES = tuple(READERS)
__all__ = [
    "LoadError",
    "LoadReport",
    "decode_text",
    "document_from_text",
    "find_near_duplicates",
    "load_document",
    "load_folder",
]


@dataclass(frozen=True)
class LoadReport:
    """What happened to one file during a folder load."""

    path: str
    ok: bool
    message: str = ""


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
    return _load(Path(path), root=root, overrides=overrides)[0]


# One report is at most a few hundred thousand characters; a file far beyond that is a dump or a
# book, whose hours of embedding would block every other document. It is refused with advice.
MAX_TEXT_FILE_BYTES = 20 * 2**20
MAX_BINARY_FILE_BYTES = 200 * 2**20
MAX_TEXT_CHARS = 5_000_000


def _check_size(path: Path) -> None:
    size = path.stat().st_size
    limit = MAX_TEXT_FILE_BYTES if path.suffix.lower() in (".txt", ".md", ".csv", ".html", ".htm") else MAX_BINARY_FILE_BYTES
    if size > limit:
        raise LoadError(
            f"{path.name}: too large ({size / 2**20:.1f} MB; the limit is {limit // 2**20} MB). "
            "Split it into one file per report and add them again."
        )


def _load(path: Path, *, root: Path | None, overrides: dict | None) -> tuple[Document, tuple[str, ...]]:
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise LoadError(f"{path.name}: unsupported file type {path.suffix!r}; supported: {', '.join(READERS)}.")
    try:
        _check_size(path)
        extracted: Extracted = reader(path)
    except OSError as exc:
        raise LoadError(f"{path.name}: cannot read the file ({exc.strerror or exc}).") from exc
    if len(extracted.text) > MAX_TEXT_CHARS:
        raise LoadError(
            f"{path.name}: {len(extracted.text):,} characters of text is more than {MAX_TEXT_CHARS:,}; "
            "split it into one file per report and add them again."
        )
    source = path.relative_to(root).as_posix() if root else path.name
    doc = document_from_text(
        extracted.text, doc_id=Path(source).with_suffix("").as_posix(), source=source, overrides=overrides
    )
    return doc, extracted.notes


def iter_document_files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue  # hidden files and folders (.git, editor swap files) are not documents
        if path.is_file() and path.suffix.lower() in READERS:
            if path.name.lower() == "readme.md":
                continue  # a folder's README describes the documents; it is not one of them
            yield path


def file_signature(path: Path, overrides: dict | None) -> str:
    """What must be unchanged for an earlier load of `path` to stand: size, mtime and manifest entry."""
    stat = path.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}:{hashlib.sha1(repr(sorted((overrides or {}).items())).encode()).hexdigest()[:8]}"


# (relative path, signature) -> the Document loaded from that file before, if it is still valid
Reuse = Callable[[str, str], Document | None]


def load_folder(folder: Path, reuse: Reuse | None = None) -> tuple[list[Document], list[LoadReport]]:
    """Load every supported file below `folder`; bad files are reported and skipped.

    Near-duplicate documents are all indexed and each later copy gets an extra report line
    (ok=True, "near-duplicate of …"), so a folder holding one report twice is noticed at build time.
    `reuse` lets an incremental build skip reading and cleaning files unchanged since the last build.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise LoadError(f"Document folder {folder} does not exist.")
    manifest = read_manifest(folder)
    documents: list[Document] = []
    reports: list[LoadReport] = []
    for path in iter_document_files(folder):
        rel = path.relative_to(folder).as_posix()
        overrides = manifest.get(rel) or manifest.get(path.stem)
        try:
            previous = reuse(rel, file_signature(path, overrides)) if reuse else None
            doc, notes = (previous, ()) if previous else _load(path, root=folder, overrides=overrides)
        except OSError as exc:
            reports.append(LoadReport(rel, False, f"{path.name}: cannot read the file ({exc.strerror or exc})."))
            continue
        except LoadError as exc:
            reports.append(LoadReport(rel, False, str(exc)))
            continue
        documents.append(doc)
        detail = "".join(f"; {note}" for note in notes)
        reports.append(LoadReport(rel, True, f"{doc.title} ({doc.region or '?'}, {doc.doc_type or '?'}){detail}"))
    for later, earlier, similarity in find_near_duplicates(documents):
        reports.append(
            LoadReport(later, True, f"near-duplicate of {earlier} (similarity {similarity:.2f}); both indexed")
        )
    return documents, reports


# --- near-duplicate documents -----------------------------------------------------------------------
# MinHash over character 5-gram shingles of the normalised text (datasketch), candidates found with
# LSH and confirmed with the MinHash Jaccard estimate. Character shingles need no word segmentation
# and do not care whether a copy was Traditional or Simplified, since they are taken on search_text.
NEAR_DUPLICATE_THRESHOLD = 0.8
_SHINGLE = 5
_NUM_PERM = 128


def _shingles(text: str) -> set[bytes]:
    compact = re.sub(r"\s+", "", text)
    return {compact[i : i + _SHINGLE].encode("utf-8") for i in range(max(1, len(compact) - _SHINGLE + 1))}


def find_near_duplicates(
    documents: list[Document], threshold: float = NEAR_DUPLICATE_THRESHOLD
) -> list[tuple[str, str, float]]:
    """(later source, earlier source, estimated Jaccard) for each pair at or above `threshold`.

    Each document is paired with at most one earlier document, its most similar one.
    """
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=_NUM_PERM)
    hashes: dict[str, MinHash] = {}
    pairs: list[tuple[str, str, float]] = []
    for doc in documents:
        minhash = MinHash(num_perm=_NUM_PERM)
        minhash.update_batch(list(_shingles(doc.search_text)))
        scored = [(minhash.jaccard(hashes[key]), key) for key in lsh.query(minhash)]
        scored = [(score, key) for score, key in scored if score >= threshold]
        if scored:
            score, key = max(scored)
            pairs.append((doc.source, key, round(score, 3)))
        if doc.source not in hashes:
            hashes[doc.source] = minhash
            lsh.insert(doc.source, minhash)
    return pairs
