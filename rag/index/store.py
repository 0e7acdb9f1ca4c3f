"""The on-disk index: write a build atomically, load it with checks, swap the live one.

Layout of an index folder:

    index/
      CURRENT                 name of the live build folder (replaced atomically)
      build-20261124T101500/  one complete build
        manifest.json         format version, model, dimension, documents, file checksums
        documents.jsonl       cleaned documents (display + search text) for showing and expanding
        chunks.jsonl          one `Chunk` per line, row i = vector i
        vectors.npy           float32 [n_chunks, dim], L2-normalised
        bm25_tokens.jsonl     the tokenised chunks (never re-tokenised per query)
        facts.jsonl           indicator facts extracted from the chunks (rag/facts)

A build writes a new build folder and only then points CURRENT at it, so a failed or killed build
leaves the previous index untouched. What goes into a build is decided in rag/index/build.py.
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

from rag.records import Chunk, Document, Fact

FORMAT_VERSION = 2  # 2: chunks carry breadcrumb parts, body and cells; facts stored beside them
CURRENT = "CURRENT"
DATA_FILES = ("documents.jsonl", "chunks.jsonl", "vectors.npy", "bm25_tokens.jsonl", "facts.jsonl")

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
    facts: list[Fact] = field(default_factory=list)
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
                tokens: Sequence[Sequence[str]], facts: Sequence[Fact], manifest: dict) -> dict:
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
        _write_jsonl(staging / "bm25_tokens.jsonl", [{"t": list(t)} for t in tokens])
        _write_jsonl(staging / "facts.jsonl", [f.to_dict() for f in facts])
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
        staging.rename(index_dir / build_name)
        _point_current_at(index_dir, build_name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _remove_stale_builds(index_dir, keep=build_name)
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
        documents = {d["doc_id"]: Document.from_dict(d) for d in _read_jsonl(build / "documents.jsonl")}
        chunks = [Chunk.from_dict(row) for row in _read_jsonl(build / "chunks.jsonl")]
        vectors = np.load(build / "vectors.npy")
        tokens = [row["t"] for row in _read_jsonl(build / "bm25_tokens.jsonl")]
        facts = [Fact.from_dict(row) for row in _read_jsonl(build / "facts.jsonl")]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexUnavailableError(f"The index in {build} cannot be read ({exc}). {REBUILD_HINT}") from exc
    if not (len(chunks) == len(tokens) == vectors.shape[0]):
        raise IndexUnavailableError(f"The index in {build} is inconsistent (row counts differ). {REBUILD_HINT}")
    return LoadedIndex(build, manifest, documents, chunks, vectors, tokens, facts)
