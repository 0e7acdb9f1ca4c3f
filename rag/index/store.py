"""The on-disk index: write a build atomically, load it with checks, swap the live one.

Layout of an index folder:

    index/
      CURRENT                 name of the live build folder (replaced atomically)
      build-20261124T101500/  one complete build
        manifest.json         format version, model, dimension, documents, file checksums
        documents.jsonl       cleaned documents (display + search text) for showing and expanding
        chunks.jsonl          one `Chunk` per line, row i = vector i
        vectors.npy           float32 [n_chunks, dim], L2-normalised
        vectors.faiss         the FAISS index of those vectors (exact or IVF), memory-mapped at load
        bm25_tokens.jsonl     the tokenised chunks (never re-tokenised per query)
        bigram_tokens.jsonl   the chunks' character bigrams, for the bigram lexical ranker
        facts.jsonl           indicator facts extracted from the chunks (rag/facts)
        bm25/, bigram/        the two BM25 matrices (rag/index/bm25.py), memory-mapped at load
        rows/                 where each chunk's line starts in chunks.jsonl, and its document
        verified.json         size and mtime of each data file when its checksum last verified

Loading reads the manifest and the documents and maps the rest: chunks are parsed when a row is
read, token files only when a later build reuses them, so a restart costs little at 1M chunks.

      .embed-checkpoint/      vectors a build has finished so far (resumable embedding; removed once live)

A build writes a new build folder and only then points CURRENT at it, so a failed or killed build
leaves the previous index untouched. What goes into a build is decided in rag/index/build.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import mmap
import os
import shutil
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from rag.index.ann import DENSE_FILE, read_dense_index, write_dense_index
from rag.index.bm25 import SparseBM25
from rag.records import Chunk, Document, Fact
from rag.zh import char_bigrams

FORMAT_VERSION = 2  # 2: chunks carry breadcrumb parts, body and cells; facts stored beside them
CURRENT = "CURRENT"
BIGRAM_FILE = "bigram_tokens.jsonl"  # added in format 2 without a bump: builds without it derive the bigrams
LEXICAL_FIELDS = {"bm25": "bm25_tokens.jsonl", "bigram": BIGRAM_FILE}  # matrix folder -> the tokens it counts
_MATRIX_FILES = ("data.npy", "indices.npy", "indptr.npy", "idf.npy", "params.npy", "terms.npy", "term_offsets.npy")
ROW_FILES = ("rows/offsets.npy", "rows/doc_codes.npy", "rows/doc_ids.json")
DATA_FILES = ("documents.jsonl", "chunks.jsonl", "vectors.npy", "bm25_tokens.jsonl", BIGRAM_FILE, "facts.jsonl",
              DENSE_FILE, *(f"{m}/{f}" for m in LEXICAL_FIELDS for f in _MATRIX_FILES), *ROW_FILES)
VERIFIED_STAMP = "verified.json"

Progress = Callable[[str, float], None]  # (step description, fraction done 0..1)


class IndexUnavailableError(RuntimeError):
    """The index is missing, corrupt or incompatible; the message says which command fixes it."""


class ChunkTable(Sequence[Chunk]):
    """A build's chunks, parsed from the memory-mapped chunks.jsonl when a row is read.

    At 1M chunks parsing every line costs seconds and gigabytes at each start; a query reads a few
    hundred rows. What whole-index passes need (each row's document) is in small arrays beside it.
    """

    def __init__(self, path: Path, offsets: np.ndarray, doc_codes: np.ndarray, doc_ids: Sequence[str]) -> None:
        if len(offsets) != len(doc_codes) + 1:
            raise ValueError(f"{path}: row offsets and documents differ in length")
        self.offsets, self.doc_codes, self.doc_ids = offsets, doc_codes, list(doc_ids)
        size = int(offsets[-1]) if len(offsets) else 0
        with path.open("rb") as handle:
            self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        if len(self._map) < size:
            raise ValueError(f"{path}: shorter than its row offsets")
        self._first_row = {doc: int(row) for doc, row in zip(self.doc_ids, first_rows(np.asarray(doc_codes), len(self.doc_ids)))}
        self._parse = lru_cache(maxsize=65_536)(self._parse_row)
        self._positions: dict[str, int] | None = None

    def _parse_row(self, row: int) -> Chunk:
        return Chunk.from_dict(json.loads(self._map[int(self.offsets[row]) : int(self.offsets[row + 1])]))

    def __len__(self) -> int:
        return len(self.doc_codes)

    def __getitem__(self, item):  # type: ignore[override]
        if isinstance(item, slice):
            return [self._parse(i) for i in range(*item.indices(len(self)))]
        row = int(item) + (len(self) if int(item) < 0 else 0)
        if not 0 <= row < len(self):
            raise IndexError(item)
        return self._parse(row)

    def __iter__(self) -> Iterator[Chunk]:
        return (self._parse(i) for i in range(len(self)))

    def position(self, chunk_id: str) -> int:
        """Row of a chunk id: ids are `doc#n` with a document's rows in order (rag/chunking/builder.py),
        checked against the row itself; any other id is found by reading every id, once."""
        doc, _, n = chunk_id.rpartition("#")
        first = self._first_row.get(doc, -1)
        if first >= 0 and n.isdigit():
            row = first + int(n)
            if row < len(self) and self[row].chunk_id == chunk_id:
                return row
        if self._positions is None:
            self._positions = {c.chunk_id: i for i, c in enumerate(self)}
        return self._positions[chunk_id]


def row_documents(chunks: Sequence[Chunk]) -> tuple[np.ndarray, list[str]]:
    """Each row's document as a code into a list of document ids (first appearance order)."""
    if isinstance(chunks, ChunkTable):
        return np.asarray(chunks.doc_codes), chunks.doc_ids
    codes: dict[str, int] = {}
    rows = np.fromiter((codes.setdefault(c.doc_id, len(codes)) for c in chunks), dtype=np.int32, count=len(chunks))
    return rows, list(codes)


def first_rows(codes: np.ndarray, n_docs: int) -> np.ndarray:
    """The first row of each document code (documents without rows are not expected: -1)."""
    first = np.full(n_docs, -1, dtype=np.int64)
    if len(codes):
        uniques, index = np.unique(codes, return_index=True)
        first[uniques] = index
    return first


class TokenRows(Sequence[list[str]]):
    """A token file of the build, read on first use: only a later build that reuses rows needs it."""

    def __init__(self, path: Path, n_rows: int) -> None:
        self.path, self.n_rows = path, n_rows
        self._rows: list[list[str]] | None = None

    @property
    def rows(self) -> list[list[str]]:
        if self._rows is None:
            try:
                rows = [row["t"] for row in _read_jsonl(self.path)]
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise IndexUnavailableError(f"The index file {self.path} cannot be read ({exc}). {REBUILD_HINT}") from exc
            if len(rows) != self.n_rows:
                raise IndexUnavailableError(f"The index in {self.path.parent} is inconsistent (row counts differ). {REBUILD_HINT}")
            self._rows = rows
        return self._rows

    def __len__(self) -> int:
        return self.n_rows

    def __getitem__(self, item):  # type: ignore[override]
        return self.rows[item]

    def __iter__(self) -> Iterator[list[str]]:
        return iter(self.rows)

    def __bool__(self) -> bool:
        return self.n_rows > 0


@dataclass
class LoadedIndex:
    path: Path
    manifest: dict
    documents: dict[str, Document]
    chunks: Sequence[Chunk]
    vectors: np.ndarray
    tokens: Sequence[Sequence[str]]
    facts: list[Fact] = field(default_factory=list)
    bigrams: Sequence[Sequence[str]] = field(default_factory=list)  # empty: derive from the chunks (older builds)
    dense: object | None = None  # the build's FAISS index (rag/index/ann.py); None: make it from the vectors
    lexical: dict[str, SparseBM25] = field(default_factory=dict)  # the build's BM25 matrices, by field
    _chunk_pos: dict[str, int] = field(default_factory=dict)

    def position(self, chunk_id: str) -> int:
        if isinstance(self.chunks, ChunkTable):
            return self.chunks.position(chunk_id)
        if not self._chunk_pos:
            self._chunk_pos = {c.chunk_id: i for i, c in enumerate(self.chunks)}
        return self._chunk_pos[chunk_id]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _write_jsonl(path: Path, rows: Sequence[dict]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def _read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def live_build(index_dir: Path) -> Path | None:
    pointer = Path(index_dir) / CURRENT
    if not pointer.is_file():
        return None
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None  # an unreadable pointer is no live build; `rag index build` writes a new one
    if not name or "/" in name or "\\" in name or name.startswith("."):
        return None
    return Path(index_dir) / name


def write_build(index_dir: Path, *, documents: Sequence[Document], chunks: Sequence[Chunk], vectors: np.ndarray,
                tokens: Sequence[Sequence[str]], facts: Sequence[Fact], manifest: dict,
                bigrams: Sequence[Sequence[str]] | None = None) -> dict:
    """Write a complete build into a staging folder, then make it live. Returns the manifest written.

    `manifest` holds what the caller knows (model, pipeline, timings …); documents, counts and
    checksums are added here.
    """
    index_dir = Path(index_dir)
    build_name = f"build-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{os.urandom(3).hex()}"
    staging = index_dir / f".staging-{build_name}"
    staging.mkdir()
    try:
        _write_jsonl(staging / "documents.jsonl", [d.to_dict() for d in documents])
        _write_jsonl(staging / "chunks.jsonl", [c.to_dict() for c in chunks])
        np.save(staging / "vectors.npy", vectors)
        write_dense_index(staging / DENSE_FILE, vectors)  # IVF training at 1M: minutes here, not at every load
        _write_jsonl(staging / "bm25_tokens.jsonl", [{"t": list(t)} for t in tokens])
        if bigrams is None:
            bigrams = [char_bigrams(c.indexed_text) for c in chunks]
        _write_jsonl(staging / BIGRAM_FILE, [{"t": list(t)} for t in bigrams])
        _write_jsonl(staging / "facts.jsonl", [f.to_dict() for f in facts])
        # The lexical matrices are counted here, once, not at every load.
        SparseBM25([list(t) or ["∅"] for t in tokens]).save(staging / "bm25")
        SparseBM25([list(t) or ["∅"] for t in bigrams]).save(staging / "bigram")
        _write_rows(staging, chunks)
        manifest = {
            "format_version": FORMAT_VERSION,
            **manifest,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "n_documents": len(documents),
            "n_chunks": len(chunks),
            "documents": {
                d.doc_id: {
                    "source": d.source,
                    "title": d.title,
                    "region": d.region,
                    "years": list(d.years),
                    "doc_type": d.doc_type,
                    "content_hash": d.content_hash,
                    "signature": manifest.get("signatures", {}).get(d.source, ""),
                }
                for d in documents
            },
            "checksums": {name: _sha256(staging / name) for name in DATA_FILES},
        }
        manifest.pop("signatures", None)
        (staging / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        _write_stamp(staging)
        staging.rename(index_dir / build_name)
        _point_current_at(index_dir, build_name)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError) and not isinstance(exc, IndexWriteError):
            raise IndexWriteError(
                f"Could not write the index in {index_dir} ({exc.strerror or exc}); the previous index is unchanged. "
                "Free some disk space or choose another --index folder, then run `rag index build` again."
            ) from exc
        raise
    _remove_stale_builds(index_dir, keep=build_name)
    return manifest


def _write_rows(folder: Path, chunks: Sequence[Chunk]) -> None:
    """rows/: where each line of chunks.jsonl starts, and each row's document (see ChunkTable)."""
    (folder / "rows").mkdir()
    with (folder / "chunks.jsonl").open("rb") as handle:
        lengths = [len(line) for line in handle]
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(lengths, dtype=np.int64)
    codes, doc_ids = row_documents(chunks)
    np.save(folder / "rows" / "offsets.npy", offsets)
    np.save(folder / "rows" / "doc_codes.npy", codes.astype(np.int32))
    (folder / "rows" / "doc_ids.json").write_text(json.dumps(doc_ids, ensure_ascii=False), encoding="utf-8")


def _file_states(build: Path) -> dict[str, list[int]]:
    states = {}
    for name in ("manifest.json", *DATA_FILES):  # an edited manifest (its checksums) is checked again too
        path = build / name
        if path.is_file():
            stat = path.stat()
            states[name] = [stat.st_size, stat.st_mtime_ns]
    return states


def _write_stamp(build: Path) -> None:
    """Remember the state in which every data file verified, so the next load can skip hashing
    gigabytes; best effort (a read-only index is simply hashed at each load)."""
    with contextlib.suppress(OSError):
        (build / VERIFIED_STAMP).write_text(json.dumps(_file_states(build)), encoding="utf-8")


def _stamp_matches(build: Path) -> bool:
    try:
        stamp = json.loads((build / VERIFIED_STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(stamp, dict) and stamp == _file_states(build)


def _point_current_at(index_dir: Path, build_name: str) -> None:
    tmp = index_dir / f".{CURRENT}.tmp-{os.getpid()}"
    tmp.write_text(build_name + "\n", encoding="utf-8")
    with tmp.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, index_dir / CURRENT)


def _remove_stale_builds(index_dir: Path, keep: str) -> None:
    """Delete builds older than the one just replaced, and staging folders abandoned over an hour ago.

    The build that was live until now is kept: a session that read CURRENT a moment before the
    switch may still be reading its files. A young staging folder may be another build at work.
    """
    builds = sorted((p for p in index_dir.glob("build-*") if p.is_dir() and p.name != keep),
                    key=lambda p: p.stat().st_mtime)
    for path in builds[:-1]:
        shutil.rmtree(path, ignore_errors=True)
    for path in index_dir.glob(".staging-*"):
        if time.time() - path.stat().st_mtime > 3600:
            shutil.rmtree(path, ignore_errors=True)


REBUILD_HINT = "Rebuild it with `rag index build` (add --docs DIR / --index DIR as needed)."
# Files every build of this format has; the others came later within format 2 (optional: derived when absent).
_REQUIRED_FILES = ("documents.jsonl", "chunks.jsonl", "vectors.npy", "bm25_tokens.jsonl", "facts.jsonl")


def _check_manifest_shape(manifest: object, build: Path) -> None:
    """A manifest edited or damaged into another shape is refused by name, not met by an AttributeError."""
    if not isinstance(manifest, dict):
        raise IndexUnavailableError(
            f"The index manifest in {build} is damaged (a JSON {type(manifest).__name__}, not an object). {REBUILD_HINT}"
        )
    shapes = {"documents": dict, "checksums": dict, "model": str, "dimension": int, "n_chunks": int,
              "n_documents": int, "built_at": str}
    wrong = [key for key, kind in shapes.items() if not isinstance(manifest.get(key), kind)]
    if not wrong and not all(isinstance(entry, dict) for entry in manifest["documents"].values()):
        wrong = ["documents"]
    if wrong:
        raise IndexUnavailableError(
            f"The index manifest in {build} is damaged (missing or malformed: {', '.join(wrong)}). {REBUILD_HINT}"
        )


def _verify_checksums(manifest: dict, build: Path, *, trust_stamp: bool = False) -> None:
    """Every data file the build has must match the checksum recorded when it was written.

    A manifest whose checksums were removed or emptied is refused too: an unverifiable build must
    not pass as a verified one (its rows would be reused by the next build). With `trust_stamp`,
    files whose size and mtime are those recorded when they last verified are not hashed again (a
    write to a file changes its mtime); rows reused by a build are always hashed.
    """
    if trust_stamp and _stamp_matches(build):
        return
    _hash_files(manifest, build)
    if trust_stamp:
        _write_stamp(build)


def _hash_files(manifest: dict, build: Path) -> None:
    checksums = manifest["checksums"]
    present = [name for name in DATA_FILES if name in _REQUIRED_FILES or (build / name).exists()]
    for name in present:
        path = build / name
        digest = checksums.get(name)
        if not isinstance(digest, str) or not path.is_file() or _sha256(path) != digest:
            raise IndexUnavailableError(f"Index file {path} is missing or corrupt (checksum mismatch). {REBUILD_HINT}")


class IndexWriteError(OSError):
    """The index folder cannot take a new build (not a folder, read-only, disk full); nothing was changed."""


# A build needs its data files (vectors and text, counted from the documents) plus the previous build,
# kept until the next one; the margin covers JSON overhead and the checkpoint of resumable embedding.
_SPACE_MARGIN = 3.0


def check_writable(index_dir: Path, *, needed_bytes: int = 0) -> None:
    """Refuse, before any embedding, an index folder a build could not be written to.

    Checked for real (a probe file is created and removed), so a read-only mount, a folder owned
    by someone else or a path that is a file are all found, whatever the permission bits say.
    """
    index_dir = Path(index_dir)
    advice = "Choose another folder with --index (or index_dir in rag.toml); the previous index is unchanged."
    existing = next((p for p in (index_dir, *index_dir.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise IndexWriteError(f"Cannot write the index to {index_dir}: {existing} is a file, not a folder. {advice}")
    if (index_dir / CURRENT).exists() and not (index_dir / CURRENT).is_file():
        raise IndexWriteError(f"{index_dir / CURRENT} should be a small file naming the live build, but it is a "
                              "folder; move it away and run `rag index build` again.")
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        probe = index_dir / f".write-probe-{os.getpid()}-{os.urandom(3).hex()}"
        probe.write_bytes(b"probe")
        probe.unlink()
    except OSError as exc:
        raise IndexWriteError(
            f"Cannot write the index to {index_dir} ({exc.strerror or exc}; read-only or not yours?). {advice}"
        ) from exc
    if needed_bytes:
        free = shutil.disk_usage(index_dir).free
        if free < needed_bytes * _SPACE_MARGIN:
            raise IndexWriteError(
                f"Not enough disk space for the index in {index_dir}: about {needed_bytes * _SPACE_MARGIN / 2**20:,.0f} MB "
                f"needed, {free / 2**20:,.0f} MB free. Free some space or choose another --index folder; "
                "the previous index is unchanged."
            )


# --- resumable embedding ---------------------------------------------------------------------------
# Embedding is most of a build's time. While a build embeds, finished vectors are saved in parts
# under index/.embed-checkpoint/<model tag>/, each with a checksum over its keys and vectors; a build
# killed at 95 % is continued by the next one, which reads the parts that verify and re-embeds only
# the rest. The folder is removed once a build is live.
CHECKPOINT_DIR = ".embed-checkpoint"


def checkpoint_folder(index_dir: Path, model: str, dimension: int) -> Path:
    tag = hashlib.sha1(f"{model}\0{dimension}".encode()).hexdigest()[:12]
    return Path(index_dir) / CHECKPOINT_DIR / tag


def _part_digest(keys: np.ndarray, vectors: np.ndarray) -> str:
    digest = hashlib.sha256("\n".join(keys.tolist()).encode("utf-8"))
    digest.update(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())
    return digest.hexdigest()


def write_checkpoint_part(folder: Path, keys: Sequence[str], vectors: np.ndarray) -> bool:
    """Save one part of finished vectors; False (and nothing left behind) when it could not be written.

    Best effort: a checkpoint that cannot be written only loses the ability to resume.
    """
    key_array = np.array(list(keys), dtype="<U40")
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    name = f"part-{time.time_ns()}-{os.getpid()}-{os.urandom(2).hex()}"
    tmp = Path(folder) / f".{name}.tmp.npz"
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        with tmp.open("wb") as handle:
            np.savez(handle, keys=key_array, vectors=vectors, digest=np.array(_part_digest(key_array, vectors)))
        os.replace(tmp, Path(folder) / f"{name}.npz")
        return True
    except OSError:
        tmp.unlink(missing_ok=True)
        return False


def read_checkpoint(folder: Path, dimension: int) -> dict[str, np.ndarray]:
    """text key -> vector from every checkpoint part that verifies; damaged parts are ignored."""
    vectors: dict[str, np.ndarray] = {}
    for part in sorted(Path(folder).glob("part-*.npz")):
        try:
            with np.load(part, allow_pickle=False) as data:
                keys, rows, digest = data["keys"], data["vectors"], str(data["digest"])
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            continue
        if rows.ndim != 2 or rows.shape != (len(keys), dimension) or _part_digest(keys, rows) != digest:
            continue
        vectors.update(zip(keys.tolist(), rows, strict=True))
    return vectors


def clear_checkpoint(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    with contextlib.suppress(OSError):
        folder.parent.rmdir()  # only when no other model's checkpoint is in it


def load_index(index_dir: Path, *, expected_model: str | None = None, verify: bool = True,
               trust_stamp: bool = True) -> LoadedIndex:
    """Load the live build, refusing a corrupt, foreign-format or other-model index with a clear message.

    `trust_stamp=False` hashes every file even when it is unchanged since it last verified (a build
    reusing rows does). If the build vanishes while being read (two rebuilds finished meanwhile),
    the new live build is read instead, once.
    """
    index_dir = Path(index_dir)
    first = live_build(index_dir)
    try:
        return _load_build(index_dir, expected_model, verify, trust_stamp)
    except IndexUnavailableError:
        now = live_build(index_dir)
        if now is None or now == first or not now.is_dir():
            raise  # nothing changed underneath: the index really is broken
        return _load_build(index_dir, expected_model, verify, trust_stamp)


def _load_build(index_dir: Path, expected_model: str | None, verify: bool, trust_stamp: bool) -> LoadedIndex:
    build = live_build(index_dir)
    if build is None or not build.is_dir():
        raise IndexUnavailableError(f"No index found in {index_dir}. {REBUILD_HINT}")
    try:
        manifest = json.loads((build / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # ValueError: bad JSON or bytes that are not UTF-8
        raise IndexUnavailableError(f"The index manifest in {build} is unreadable ({exc}). {REBUILD_HINT}") from exc
    _check_manifest_shape(manifest, build)
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexUnavailableError(
            f"The index in {index_dir} has format version {manifest.get('format_version')}, this program "
            f"reads version {FORMAT_VERSION}. {REBUILD_HINT}"
        )
    if expected_model is not None and manifest.get("model") != expected_model:
        raise IndexUnavailableError(
            f"The index in {index_dir} was built with embedding model {manifest.get('model')!r}, but the "
            f"configured model is {expected_model!r}. {REBUILD_HINT}"
        )
    if verify:
        _verify_checksums(manifest, build, trust_stamp=trust_stamp)
    try:
        documents = {d["doc_id"]: Document.from_dict(d) for d in _read_jsonl(build / "documents.jsonl")}
        chunks = _read_chunks(build)
        vectors = np.load(build / "vectors.npy", mmap_mode="r")
        n = len(chunks)
        tokens: Sequence[Sequence[str]] = TokenRows(build / "bm25_tokens.jsonl", n)
        facts = [Fact.from_dict(row) for row in _read_jsonl(build / "facts.jsonl")]
        bigrams: Sequence[Sequence[str]] = TokenRows(build / BIGRAM_FILE, n) if (build / BIGRAM_FILE).is_file() else []
        dense = read_dense_index(build / DENSE_FILE, expected=vectors.shape) if (build / DENSE_FILE).is_file() else None
        lexical = {name: SparseBM25.load(build / name) for name in LEXICAL_FIELDS if (build / name).is_dir()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise IndexUnavailableError(f"The index in {build} cannot be read ({exc}). {REBUILD_HINT}") from exc
    if vectors.ndim != 2 or vectors.shape[0] != n or any(m.n_docs != n for m in lexical.values()):
        raise IndexUnavailableError(f"The index in {build} is inconsistent (row counts differ). {REBUILD_HINT}")
    return LoadedIndex(build, manifest, documents, chunks, vectors, tokens, facts, bigrams=bigrams, dense=dense,
                       lexical=lexical)


def _read_chunks(build: Path) -> Sequence[Chunk]:
    """The chunks as a ChunkTable when the build has its rows/ files; parsed whole for older builds."""
    if not all((build / name).is_file() for name in ROW_FILES):
        return [Chunk.from_dict(row) for row in _read_jsonl(build / "chunks.jsonl")]
    doc_ids = json.loads((build / "rows" / "doc_ids.json").read_text(encoding="utf-8"))
    if not isinstance(doc_ids, list) or not all(isinstance(d, str) for d in doc_ids):
        raise ValueError("rows/doc_ids.json is not a list of document ids")
    codes = np.load(build / "rows" / "doc_codes.npy", allow_pickle=False)
    if len(codes) and (codes.min() < 0 or codes.max() >= len(doc_ids)):
        raise ValueError("rows/doc_codes.npy names documents that rows/doc_ids.json lacks")
    offsets = np.load(build / "rows" / "offsets.npy", allow_pickle=False)
    return ChunkTable(build / "chunks.jsonl", offsets, codes, doc_ids)
