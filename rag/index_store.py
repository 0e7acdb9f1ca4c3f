"""The on-disk index: build it atomically, load it with checks.

Layout of an index folder:

    index/
      CURRENT                 name of the live build folder (replaced atomically)
      build-20261124T101500/  one complete build
        manifest.json         format version, model, dimension, documents, file checksums
        documents.jsonl       cleaned documents (display + search text) for showing and expanding
        chunks.jsonl          one `Chunk` per line, row i = vector i
        vectors.npy           float32 [n_chunks, dim], L2-normalised
        bm25_tokens.jsonl     the tokenised chunks (never re-tokenised per query)

A build writes a new build folder and only then points CURRENT at it, so a failed or killed build
leaves the previous index untouched. Embeddings of unchanged chunks are reused from the previous
build (keyed by the hash of the text that was embedded), so re-indexing after adding one document
costs only that document.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag.chunk import chunk_document
from rag.records import Chunk, Document
from rag.tokenize import tokenize

FORMAT_VERSION = 1
CURRENT = "CURRENT"
DATA_FILES = ("documents.jsonl", "chunks.jsonl", "vectors.npy", "bm25_tokens.jsonl")

Progress = Callable[[str, float], None]  # (step description, fraction done 0..1)


class IndexUnavailableError(RuntimeError):
    """The index is missing, corrupt or incompatible; the message says which command fixes it."""


@dataclass
class LoadedIndex:
    path: Path
    manifest: dict
    documents: dict[str, Document]
    chunks: list[Chunk]
    vectors: np.ndarray
    tokens: list[list[str]]
    _chunk_pos: dict[str, int] = field(default_factory=dict)

    def position(self, chunk_id: str) -> int:
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


def _document_to_dict(doc: Document) -> dict:
    data = doc.__dict__.copy()
    data["years"] = list(doc.years)
    return data


def live_build(index_dir: Path) -> Path | None:
    pointer = Path(index_dir) / CURRENT
    if not pointer.is_file():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    return Path(index_dir) / name if name else None


_PIPELINE_SOURCES = ("chunk.py", "tables.py", "tokenize.py", "data/userdict.txt")


def pipeline_fingerprint() -> str:
    """Hash of the code and data that turn a document into chunks and tokens.

    Chunks of an unchanged document are reused from the previous build only when this matches, so
    a new chunker or dictionary never leaves stale chunks behind.
    """
    digest = hashlib.sha1()
    root = Path(__file__).parent
    for name in _PIPELINE_SOURCES:
        path = root / name
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@dataclass
class _Previous:
    """What a new build may reuse from the live one."""

    vectors: dict[str, np.ndarray] = field(default_factory=dict)  # embedded text -> vector
    chunks: dict[str, tuple[list[Chunk], list[list[str]]]] = field(default_factory=dict)  # content hash -> rows


def previous_documents(index_dir: Path) -> dict[str, tuple[str, Document]]:
    """source -> (file signature, Document) of the live build, for skipping unchanged files."""
    try:
        old = load_index(index_dir, verify=False)
    except IndexUnavailableError:
        return {}
    entries = old.manifest.get("documents", {})
    return {d.source: (entries.get(doc_id, {}).get("signature", ""), d) for doc_id, d in old.documents.items()}


def _previous_build(index_dir: Path, model: str, dimension: int) -> _Previous:
    try:
        old = load_index(index_dir, expected_model=model, verify=False)
    except IndexUnavailableError:
        return _Previous()
    previous = _Previous()
    if old.vectors.shape[1] == dimension:
        previous.vectors = {text_key(c.search_text): old.vectors[i] for i, c in enumerate(old.chunks)}
    if old.manifest.get("pipeline") == pipeline_fingerprint():
        for i, chunk in enumerate(old.chunks):
            doc = old.documents.get(chunk.doc_id)
            if doc is not None:
                rows = previous.chunks.setdefault(f"{doc.doc_id}:{doc.content_hash}:{doc.title}:{doc.region}", ([], []))
                rows[0].append(chunk)
                rows[1].append(old.tokens[i])
    return previous


def build_index(
    documents: Sequence[Document],
    index_dir: Path,
    *,
    embed: Callable[[list[str]], np.ndarray],
    model_name: str,
    dimension: int,
    progress: Progress | None = None,
    backend: str = "",
    signatures: dict[str, str] | None = None,
) -> dict:
    """Chunk, tokenise and embed `documents` into a new build, then make it live. Returns its manifest."""
    if not documents:
        raise ValueError("No documents to index.")
    report = progress or (lambda _step, _fraction: None)
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}

    started = time.perf_counter()
    report("切分文档 chunking", 0.0)
    previous = _previous_build(index_dir, model_name, dimension)
    chunks: list[Chunk] = []
    tokens: list[list[str]] = []
    for doc in documents:
        key = f"{doc.doc_id}:{doc.content_hash}:{doc.title}:{doc.region}"
        if key in previous.chunks and tuple(previous.chunks[key][0][0].years) == doc.years:
            old_chunks, old_tokens = previous.chunks[key]
            chunks.extend(old_chunks)
            tokens.extend(old_tokens)
            continue
        new_chunks = chunk_document(doc)
        chunks.extend(new_chunks)
        tokens.extend(tokenize(c.search_text) for c in new_chunks)
    timings["chunk_and_tokenize_s"] = time.perf_counter() - started

    started = time.perf_counter()
    cached = previous.vectors
    vectors = np.zeros((len(chunks), dimension), dtype=np.float32)
    todo = [i for i, c in enumerate(chunks) if text_key(c.search_text) not in cached]
    for i, c in enumerate(chunks):
        key = text_key(c.search_text)
        if key in cached:
            vectors[i] = cached[key]
    batch = 64
    for done in range(0, len(todo), batch):
        ids = todo[done : done + batch]
        report(f"向量化 embedding {done}/{len(todo)}", 0.1 + 0.85 * done / max(1, len(todo)))
        vectors[ids] = embed([chunks[i].search_text for i in ids])
    timings["embed_s"] = time.perf_counter() - started

    started = time.perf_counter()
    report("写入索引 writing", 0.95)
    build_name = f"build-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{os.urandom(3).hex()}"
    staging = index_dir / f".staging-{build_name}"
    staging.mkdir()
    try:
        _write_jsonl(staging / "documents.jsonl", [_document_to_dict(d) for d in documents])
        _write_jsonl(staging / "chunks.jsonl", [c.to_dict() for c in chunks])
        np.save(staging / "vectors.npy", vectors)
        _write_jsonl(staging / "bm25_tokens.jsonl", [{"t": t} for t in tokens])
        manifest = {
            "format_version": FORMAT_VERSION,
            "pipeline": pipeline_fingerprint(),
            "model": model_name,
            "embed_backend": backend,
            "dimension": dimension,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "n_documents": len(documents),
            "n_chunks": len(chunks),
            "embedded_now": len(todo),
            "reused_embeddings": len(chunks) - len(todo),
            "documents": {
                d.doc_id: {
                    "source": d.source,
                    "title": d.title,
                    "region": d.region,
                    "years": list(d.years),
                    "doc_type": d.doc_type,
                    "content_hash": d.content_hash,
                    "signature": (signatures or {}).get(d.source, ""),
                }
                for d in documents
            },
            "checksums": {name: _sha256(staging / name) for name in DATA_FILES},
            "timings": timings,
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        final = index_dir / build_name
        staging.rename(final)
        _point_current_at(index_dir, build_name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    timings["write_s"] = time.perf_counter() - started
    _remove_stale_builds(index_dir, keep=build_name)
    report("完成 done", 1.0)
    return manifest


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


def load_index(index_dir: Path, *, expected_model: str | None = None, verify: bool = True) -> LoadedIndex:
    """Load the live build, refusing a corrupt, foreign-format or other-model index with a clear message.

    If the build vanishes while being read (two rebuilds finished meanwhile), the new live build is
    read instead, once.
    """
    index_dir = Path(index_dir)
    first = live_build(index_dir)
    try:
        return _load_build(index_dir, expected_model, verify)
    except IndexUnavailableError:
        now = live_build(index_dir)
        if now is None or now == first or not now.is_dir():
            raise  # nothing changed underneath: the index really is broken
        return _load_build(index_dir, expected_model, verify)


def _load_build(index_dir: Path, expected_model: str | None, verify: bool) -> LoadedIndex:
    build = live_build(index_dir)
    if build is None or not build.is_dir():
        raise IndexUnavailableError(f"No index found in {index_dir}. {REBUILD_HINT}")
    try:
        manifest = json.loads((build / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise IndexUnavailableError(f"The index manifest in {build} is unreadable ({exc}). {REBUILD_HINT}") from exc
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
        for name, digest in manifest.get("checksums", {}).items():
            path = build / name
            if not path.is_file() or _sha256(path) != digest:
                raise IndexUnavailableError(f"Index file {path} is missing or corrupt (checksum mismatch). {REBUILD_HINT}")
    try:
        documents = {d["doc_id"]: Document(**{**d, "years": tuple(d["years"])}) for d in _read_jsonl(build / "documents.jsonl")}
        chunks = [Chunk.from_dict(row) for row in _read_jsonl(build / "chunks.jsonl")]
        vectors = np.load(build / "vectors.npy")
        tokens = [row["t"] for row in _read_jsonl(build / "bm25_tokens.jsonl")]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexUnavailableError(f"The index in {build} cannot be read ({exc}). {REBUILD_HINT}") from exc
    if not (len(chunks) == len(tokens) == vectors.shape[0]):
        raise IndexUnavailableError(f"The index in {build} is inconsistent (row counts differ). {REBUILD_HINT}")
    return LoadedIndex(build, manifest, documents, chunks, vectors, tokens)
