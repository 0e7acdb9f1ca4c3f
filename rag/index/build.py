"""Building an index: plan what can be reused, chunk and embed only what is new, then write.

1. `BuildPlan.from_previous` reads the live build — verified against its checksums; a damaged build
   is never reused, so a corrupt vector or an edited text cannot be laundered into a new build.
2. `build_index` chunks each document (reusing the chunks, tokens and facts of a document whose
   content and metadata are unchanged and whose pipeline fingerprint matches), embeds only the texts
   no verified build has a vector for, and writes a new build through `rag.index.store`.

The pipeline fingerprint hashes every source file and lexicon data file that shapes documents,
chunks, tokens and facts, so a fix to cleaning, metadata or chunking reaches unchanged files too.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag.chunking import chunk_document
from rag.facts.extract import extract_facts
from rag.index.store import (
    CURRENT,
    REBUILD_HINT,
    IndexUnavailableError,
    Progress,
    check_writable,
    checkpoint_folder,
    clear_checkpoint,
    load_index,
    read_checkpoint,
    text_key,
    write_build,
    write_checkpoint_part,
)
from rag.lexicon import data_files
from rag.records import Chunk, Document, Fact
from rag.zh import char_bigrams, tokenize

_ROOT = Path(__file__).resolve().parent.parent
# Everything that turns a file into documents, chunks, tokens and facts.
_BUILD_SOURCES = ("ingest", "chunking", "facts", "zh.py", "records.py", "lexicon/__init__.py", "lexicon/places.py")


def build_sources() -> list[Path]:
    """Every source and data file that shapes documents, chunks, tokens and facts."""
    paths: list[Path] = []
    for name in _BUILD_SOURCES:
        path = _ROOT / name
        paths.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return [p for p in [*paths, *data_files()] if p.is_file()]


def pipeline_fingerprint() -> str:
    """Hash of the code and data that turn a file into documents, chunks, tokens and facts."""
    digest = hashlib.sha1()
    for path in build_sources():
        digest.update(path.relative_to(_ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _document_key(doc: Document) -> str:
    return f"{doc.doc_id}:{doc.content_hash}:{doc.title}:{doc.region}:{doc.years}:{doc.metadata_source}"


@dataclass
class BuildPlan:
    """What a new build may take from the live one: only from a build that verifies."""

    documents: dict[str, tuple[str, Document]] = field(default_factory=dict)  # source -> (file signature, doc)
    vectors: dict[str, np.ndarray] = field(default_factory=dict)  # text key of indexed text -> vector
    chunks: dict[str, tuple[list[Chunk], list[list[str]], list[Fact]]] = field(default_factory=dict)
    note: str = ""  # why nothing was reused, when that is so
    resumable: set[str] = field(default_factory=set)  # text keys whose vectors come from a killed build's checkpoint

    @classmethod
    def from_previous(cls, index_dir: Path, *, model: str | None = None, dimension: int | None = None) -> BuildPlan:
        plan = cls._from_live_build(Path(index_dir), model=model, dimension=dimension)
        if model is not None and dimension is not None:
            plan._add_checkpoint(Path(index_dir), model, dimension)
        return plan

    def _add_checkpoint(self, index_dir: Path, model: str, dimension: int) -> None:
        """Vectors an interrupted build of the same model already computed (verified parts only)."""
        for key, vector in read_checkpoint(checkpoint_folder(index_dir, model, dimension), dimension).items():
            if key not in self.vectors:
                self.vectors[key] = vector
                self.resumable.add(key)

    @classmethod
    def _from_live_build(cls, index_dir: Path, *, model: str | None, dimension: int | None) -> BuildPlan:
        try:
            old = load_index(index_dir, verify=True, trust_stamp=False)  # reused rows are hashed, always
        except IndexUnavailableError as exc:
            # A damaged live build (corrupt file, unreadable CURRENT, manifest of another shape) is
            # never a source of rows: the build starts fresh and says why.
            damaged = index_dir.is_dir() and (any(index_dir.glob("build-*")) or (index_dir / CURRENT).exists())
            reason = str(exc).replace(REBUILD_HINT, "").strip()
            return cls(note=f"the previous index was not reused, building fresh: {reason}" if damaged else "")
        plan = cls()
        same_pipeline = old.manifest.get("pipeline") == pipeline_fingerprint()
        if same_pipeline:
            entries = old.manifest.get("documents", {})
            plan.documents = {d.source: (entries.get(doc_id, {}).get("signature", ""), d) for doc_id, d in old.documents.items()}
            facts_by_chunk: dict[str, list[Fact]] = {}
            for fact in old.facts:
                facts_by_chunk.setdefault(fact.chunk_id, []).append(fact)
            for i, chunk in enumerate(old.chunks):
                doc = old.documents.get(chunk.doc_id)
                if doc is not None:
                    rows = plan.chunks.setdefault(_document_key(doc), ([], [], []))
                    rows[0].append(chunk)
                    rows[1].append(old.tokens[i])
                    rows[2].extend(facts_by_chunk.get(chunk.chunk_id, []))
        if (model is None or old.manifest.get("model") == model) and (dimension is None or old.vectors.shape[1] == dimension):
            plan.vectors = {text_key(c.indexed_text): old.vectors[i] for i, c in enumerate(old.chunks)}
        return plan

    def reusable_document(self, source: str, signature: str) -> Document | None:
        entry = self.documents.get(source)
        return entry[1] if entry and entry[0] == signature else None


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
    plan: BuildPlan | None = None,
) -> dict:
    """Chunk, tokenise, extract facts and embed `documents` into a new build, then make it live."""
    if not documents:
        raise ValueError("No documents to index.")
    report = progress or (lambda _step, _fraction: None)
    index_dir = Path(index_dir)
    check_writable(index_dir)  # before hours of embedding, not after
    plan = plan or BuildPlan.from_previous(index_dir, model=model_name, dimension=dimension)
    timings: dict[str, float] = {}

    started = time.perf_counter()
    report("切分文档 chunking", 0.0)
    chunks: list[Chunk] = []
    tokens: list[list[str]] = []
    facts: list[Fact] = []
    skipped: list[str] = []
    kept: list[Document] = []
    for doc in documents:
        reused = plan.chunks.get(_document_key(doc))
        if reused is not None:
            chunks.extend(reused[0])
            tokens.extend(reused[1])
            facts.extend(reused[2])
            kept.append(doc)
            continue
        new_chunks = chunk_document(doc)
        if len(new_chunks) > MAX_CHUNKS_PER_DOCUMENT:
            skipped.append(_too_many_chunks(doc, len(new_chunks)))
            continue
        kept.append(doc)
        chunks.extend(new_chunks)
        tokens.extend(tokenize(c.indexed_text) for c in new_chunks)
        facts.extend(extract_facts(new_chunks))
    # Bigrams are cheap to derive (one regex pass) and shaped only by zh.py, so they are not cached per document.
    bigrams = [char_bigrams(c.indexed_text) for c in chunks]
    timings["chunk_and_tokenize_s"] = time.perf_counter() - started
    if not kept:
        raise ValueError("No documents left to index: " + " ".join(skipped))
    documents = kept
    check_writable(index_dir, needed_bytes=_build_bytes(documents, len(chunks), dimension))

    started = time.perf_counter()
    vectors = np.zeros((len(chunks), dimension), dtype=np.float32)
    todo = []
    resumed = 0
    for i, chunk in enumerate(chunks):
        key = text_key(chunk.indexed_text)
        cached = plan.vectors.get(key)
        if cached is None:
            todo.append(i)
        else:
            vectors[i] = cached
            resumed += key in plan.resumable
    checkpoint = checkpoint_folder(index_dir, model_name, dimension)
    _embed_with_checkpoints(todo, chunks, vectors, embed, checkpoint, report)
    timings["embed_s"] = time.perf_counter() - started

    started = time.perf_counter()
    report("写入索引 writing", 0.95)
    manifest = write_build(
        index_dir,
        documents=documents,
        chunks=chunks,
        vectors=vectors,
        tokens=tokens,
        bigrams=bigrams,
        facts=facts,
        manifest={
            "pipeline": pipeline_fingerprint(),
            "model": model_name,
            "embed_backend": backend,
            "dimension": dimension,
            "embedded_now": len(todo),
            "reused_embeddings": len(chunks) - len(todo),
            "reuse_note": plan.note,
            "resumed_embeddings": resumed,
            "skipped_documents": skipped,
            "signatures": signatures or {},
            "timings": timings,
        },
    )
    clear_checkpoint(checkpoint)  # its vectors are in the live build now
    timings["write_s"] = time.perf_counter() - started
    report("完成 done", 1.0)
    return manifest


# A report gives hundreds of chunks; tens of thousands mean a data dump (a CSV of every row of a
# statistics table, say), whose embedding would take hours and whose rows would crowd out the reports.
MAX_CHUNKS_PER_DOCUMENT = 20_000


def _too_many_chunks(doc: Document, n: int) -> str:
    return (f"{doc.source}: {n:,} passages is more than the limit of {MAX_CHUNKS_PER_DOCUMENT:,} per document; "
            "not indexed. Split it into one file per report and add them again.")


def _build_bytes(documents: Sequence[Document], n_chunks: int, dimension: int) -> int:
    """A rough size of the build to write: vectors, plus the text stored about three times as UTF-8 JSON."""
    text_chars = sum(len(d.display_text) for d in documents)
    return n_chunks * dimension * 4 + text_chars * 3 * 3


# Finished vectors are saved at most this often (seconds), so a killed build loses at most this much work.
CHECKPOINT_SECONDS = 10.0
_EMBED_BATCH = 64


def _embed_with_checkpoints(todo: list[int], chunks: Sequence[Chunk], vectors: np.ndarray,
                            embed: Callable[[list[str]], np.ndarray], checkpoint: Path, report: Progress) -> None:
    """Embed the chunks at positions `todo` into `vectors`, saving finished ones to `checkpoint` as it goes.

    Also saved when embedding stops with an error or Ctrl-C, so the next build continues from there.
    """
    pending: list[int] = []
    last_save = time.monotonic()

    def save() -> None:
        nonlocal last_save
        if pending:
            write_checkpoint_part(checkpoint, [text_key(chunks[i].indexed_text) for i in pending], vectors[pending])
            pending.clear()
        last_save = time.monotonic()

    try:
        for done in range(0, len(todo), _EMBED_BATCH):
            ids = todo[done : done + _EMBED_BATCH]
            report(f"向量化 embedding {done}/{len(todo)}", 0.1 + 0.85 * done / max(1, len(todo)))
            vectors[ids] = embed([chunks[i].indexed_text for i in ids])
            pending.extend(ids)
            if time.monotonic() - last_save >= CHECKPOINT_SECONDS:
                save()
    finally:
        save()  # also on an error or Ctrl-C, and before writing, which can still fail (disk full)

