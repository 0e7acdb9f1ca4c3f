"""Loading: files on disk -> raw text -> `Document`.

Each format has one reader in `rag.formats` (.txt/.md in UTF-8, GB18030/GBK or Big5, .docx, .pdf,
.html/.htm, .csv). A file that cannot be read, or decodes to garbage, is reported and skipped; the
rest of the folder still loads. Near-duplicate documents are reported, not dropped: the user
decides which copy to keep.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from rag.ingest.clean import clean_display_text
from rag.ingest.formats import READERS, Extracted, LoadError, decode_text
from rag.ingest.metadata import infer_metadata, manifest_entries
from rag.records import Document
from rag.zh import looks_traditional, to_search_text

SUPPORTED_SUFFIXES = tuple(READERS)
__all__ = [
    "LoadError",
    "LoadReport",
    "decode_text",
    "display_path",
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
        # a manifest entry naming the region or years makes them sure; else what the text said
        metadata_source="manifest" if {"region", "years"} & set(overrides or {}) else str(meta.get("metadata_source", "")),
    )


def load_document(path: Path, *, root: Path | None = None, overrides: dict | None = None) -> Document:
    path = Path(path)
    if not _utf8_name(path):
        raise LoadError(_BAD_NAME.format(name=display_path(path)))
    return _load(path, root=root, overrides=overrides)[0]


# --- showing paths safely ------------------------------------------------------------------------
# A file name is bytes on Linux: one that is not valid UTF-8 arrives as lone surrogates
# (surrogateescape), which cannot be printed or written to JSON. Reports show such bytes as \xNN,
# and control characters (a newline in a name could forge a report line) as escapes.
_UNSAFE_NAME_CHARS = re.compile(r"[\udc80-\udcff\x00-\x1f\x7f]")
_BAD_NAME = (
    "{name}: the file name is not valid UTF-8 (an old GBK or Big5 name?); rename it "
    "(e.g. `convmv -f gbk -t utf-8 --notest FILE`) and add it again."
)


def display_path(path: str | os.PathLike[str]) -> str:
    """`path` as text that is safe to print and store, whatever bytes its name holds."""
    text = os.fsdecode(path)

    def escape(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"\\x{code - 0xDC00:02x}" if code >= 0xDC80 else ascii(match.group())[1:-1]

    return _UNSAFE_NAME_CHARS.sub(escape, text)


def _utf8_name(path: Path) -> bool:
    try:
        os.fsdecode(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# One report is at most a few hundred thousand characters; a file far beyond that is a dump or a
# book, whose hours of embedding would block every other document. It is refused with advice.
MAX_TEXT_FILE_BYTES = 20 * 2**20
MAX_BINARY_FILE_BYTES = 200 * 2**20
MAX_TEXT_CHARS = 5_000_000
# Lone surrogates (from a PDF's broken character map, say) cannot be stored as UTF-8; they become U+FFFD.
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _check_size(path: Path) -> None:
    size = path.stat().st_size
    limit = MAX_TEXT_FILE_BYTES if path.suffix.lower() in (".txt", ".md", ".csv", ".html", ".htm") else MAX_BINARY_FILE_BYTES
    if size > limit:
        raise LoadError(
            f"{path.name}: too large ({size / 2**20:.1f} MB; the limit is {limit // 2**20} MB). "
            "Split it into one file per report and add them again."
        )


def _load(path: Path, *, root: Path | None, overrides: dict | None,
          doc_id: str | None = None) -> tuple[Document, tuple[str, ...]]:
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
    text, notes = extracted.text, extracted.notes
    surrogates = len(_LONE_SURROGATE.findall(text))
    if surrogates:
        text = _LONE_SURROGATE.sub("\ufffd", text)
        notes = (*notes, f"{surrogates} invalid character(s) (lone surrogates) replaced by U+FFFD")
    source = path.relative_to(root).as_posix() if root else path.name
    doc = document_from_text(
        text, doc_id=doc_id or _stem_id(source), source=source, overrides=overrides
    )
    return doc, notes


def _stem_id(source: str) -> str:
    return Path(source).with_suffix("").as_posix()


def assign_doc_ids(sources: list[str]) -> dict[str, str]:
    """One doc_id per file: its path without the extension, unless another file shares that stem.

    `report.txt` alone is `report`; `report.txt` beside `report.md` are `report.txt` and `report.md`,
    so two files never share chunk ids or the "open document" view. Ids stay stable for a folder
    whose stems are unique (the seeds, the eval sets' gold ids).
    """
    stems = Counter(_stem_id(source) for source in sources)
    ids = {source: _stem_id(source) if stems[_stem_id(source)] == 1 else source for source in sources}
    taken = Counter(ids.values())
    for source in sources:  # `report.txt.md` has the stem `report.txt`: numbered so no id is shared
        if taken[ids[source]] > 1 and ids[source] != source:
            n = 2
            while f"{ids[source]}~{n}" in taken:
                n += 1
            taken[ids[source]] -= 1
            ids[source] = f"{ids[source]}~{n}"
            taken[ids[source]] += 1
    return ids


def iter_document_files(folder: Path) -> Iterator[Path]:
    yield from _scan_folder(Path(folder))[0]


def _scan_folder(folder: Path) -> tuple[list[Path], list[LoadReport]]:
    """The folder's document files, and a report for each link that leads out of the folder (refused)."""
    root = folder.resolve()
    files: list[Path] = []
    refused: list[LoadReport] = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            continue  # hidden files and folders (.git, editor swap files) are not documents
        if path.is_symlink():
            try:
                target = path.resolve()
            except (OSError, RuntimeError):  # a loop of links (RuntimeError in Python 3.11)
                shown = display_path(rel.as_posix())
                refused.append(LoadReport(shown, False, f"{shown}: a link that leads in a loop; refused."))
                continue
            if not target.is_relative_to(root):
                # `ln -s /etc/passwd docs/x.txt` must not make a system file searchable.
                shown = display_path(rel.as_posix())
                refused.append(LoadReport(shown, False, f"{shown}: a link to {display_path(target)}, outside the "
                                                        "documents folder; refused. Copy the file in instead."))
                continue
            if target.is_dir():
                continue  # a link to a folder inside: its files are found at their own place
        if path.is_file() and path.suffix.lower() in READERS:
            if path.name.lower() == "readme.md":
                continue  # a folder's README describes the documents; it is not one of them
            files.append(path)
    return files, refused


def file_signature(path: Path, overrides: dict | None) -> str:
    """What must be unchanged for an earlier load of `path` to stand: size, mtime and manifest entry."""
    stat = path.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}:{hashlib.sha1(repr(sorted((overrides or {}).items())).encode()).hexdigest()[:8]}"


# (relative path, signature) -> the Document loaded from that file before, if it is still valid
Reuse = Callable[[str, str], Document | None]


def load_folder(folder: Path, reuse: Reuse | None = None) -> tuple[list[Document], list[LoadReport]]:
    """Load every supported file below `folder`; bad files are reported and skipped.

    Whatever goes wrong with one file (a decoder error, a hostile PDF, a bad manifest entry, a name
    that is not UTF-8) becomes that file's report line and the rest of the folder still loads.
    Near-duplicate documents are all indexed and each later copy gets an extra report line
    (ok=True, "near-duplicate of …"), so a folder holding one report twice is noticed at build time.
    `reuse` lets an incremental build skip reading and cleaning files unchanged since the last build.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise LoadError(f"Document folder {display_path(folder)} does not exist (or is not a folder).")
    manifest, manifest_problems = manifest_entries(folder)
    files, reports = _scan_folder(folder)
    named: list[tuple[Path, str]] = []
    for path in files:
        rel = path.relative_to(folder).as_posix()
        if _utf8_name(path):
            named.append((path, rel))
        else:
            reports.append(LoadReport(display_path(rel), False, _BAD_NAME.format(name=display_path(rel))))
    doc_ids = assign_doc_ids([rel for _, rel in named])
    documents: list[Document] = []
    used_keys: set[str] = set()
    for path, rel in named:
        key = rel if rel in manifest or rel in manifest_problems else path.stem
        used_keys.add(key)
        if key in manifest_problems:
            reports.append(LoadReport(rel, False, f"{path.name}: not indexed: {manifest_problems[key]}"))
            continue
        overrides = manifest.get(key)
        try:
            previous = reuse(rel, file_signature(path, overrides)) if reuse else None
            if previous is not None:
                doc, notes = (replace(previous, doc_id=doc_ids[rel]) if previous.doc_id != doc_ids[rel] else previous), ()
            else:
                doc, notes = _load(path, root=folder, overrides=overrides, doc_id=doc_ids[rel])
        except LoadError as exc:
            reports.append(LoadReport(rel, False, str(exc)))
            continue
        except OSError as exc:
            reports.append(LoadReport(rel, False, f"{path.name}: cannot read the file ({exc.strerror or exc})."))
            continue
        except Exception as exc:  # noqa: BLE001 - one file's unforeseen failure must not stop the folder
            reports.append(LoadReport(rel, False, f"{path.name}: could not be read ({type(exc).__name__}: "
                                                  f"{str(exc)[:200]}); skipped. Save it again or convert it to .txt."))
            continue
        documents.append(doc)
        detail = "".join(f"; {note}" for note in notes)
        reports.append(LoadReport(rel, True, f"{doc.title} ({doc.region or '?'}, {doc.doc_type or '?'}){detail}"))
    for key in manifest_problems.keys() - used_keys:
        reports.append(LoadReport("manifest.toml", False, f"{manifest_problems[key]} (no file uses this entry)"))
    for later, earlier, similarity in find_near_duplicates(documents):
        reports.append(
            LoadReport(later, True, f"near-duplicate of {earlier} (similarity {similarity:.2f}); both indexed")
        )
    # Names reach these lines raw (a newline in a file name could forge a report line): escaped once here.
    return documents, [LoadReport(display_path(r.path), r.ok, display_path(r.message)) for r in reports]


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
