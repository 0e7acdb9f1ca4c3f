"""The assembled pipeline, shared by the CLI, the app and the eval: build an index, load it, ask it.

Loading the model and the index is the slow part (seconds), so one `Engine` is made per process
and reused for every question.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from rag.answer import answer_question
from rag.config import Settings
from rag.embed import Embedder
from rag.index_store import Progress, build_index, load_index, previous_documents
from rag.indicators import (
    IndicatorRecord,
    answer_status_question,
    extract_indicators,
    match_status_question,
    select_records,
)
from rag.llm import answer_with_fallback
from rag.load import LoadReport, load_folder
from rag.records import Answer, Chunk, Citation, Document, Hit
from rag.retrieve import FusionWeights, QueryFilters, Retriever


@dataclass(frozen=True)
class BuildResult:
    manifest: dict
    reports: list[LoadReport]


def build(
    settings: Settings,
    *,
    docs_dir: Path | None = None,
    index_dir: Path | None = None,
    embedder: Embedder | None = None,
    progress: Progress | None = None,
) -> BuildResult:
    docs_dir = Path(docs_dir or settings.docs_dir)
    index_dir = Path(index_dir or settings.index_dir)
    previous = previous_documents(index_dir)
    signatures: dict[str, str] = {}

    def reuse(rel: str, signature: str) -> Document | None:
        signatures[rel] = signature
        entry = previous.get(rel)
        return entry[1] if entry and entry[0] == signature else None

    documents, reports = load_folder(docs_dir, reuse=reuse)
    if not documents:
        problems = "; ".join(r.message for r in reports if not r.ok) or "no supported files"
        raise ValueError(f"No documents could be loaded from {docs_dir} ({problems}).")
    embedder = embedder or Embedder(settings)
    manifest = build_index(
        documents,
        index_dir,
        embed=lambda texts: embedder.encode_passages(texts),
        model_name=settings.embed_model,
        dimension=embedder.dimension,
        progress=progress,
        backend=embedder.backend,
        signatures=signatures,
    )
    return BuildResult(manifest, reports)


class Engine:
    """A loaded index and model, ready to answer questions."""

    def __init__(self, settings: Settings, *, index_dir: Path | None = None, embedder: Embedder | None = None,
                 weights: FusionWeights | None = None, need_dense: bool = True) -> None:
        self.settings = settings
        self.index_dir = Path(index_dir or settings.index_dir)
        self.index = load_index(self.index_dir, expected_model=settings.embed_model)
        self.embedder = embedder or (Embedder(settings) if need_dense else None)
        self.retriever = Retriever(self.index, self.embedder, weights)

    def search(self, question: str, *, mode: str = "hybrid", top_k: int = 10, filters: QueryFilters | None = None) -> list[Hit]:
        return self.retriever.search(question, mode=mode, top_k=top_k, filters=filters)

    def ask(self, question: str, *, mode: str = "hybrid", top_k: int = 8, filters: QueryFilters | None = None,
            on_token: Callable[[str], None] | None = None) -> Answer:
        hits = self.search(question, mode=mode, top_k=top_k, filters=filters)
        regions = frozenset(self.retriever.regions)
        # --- indicator status questions (rag/indicators.py): answered from the extracted records ---
        if (from_records := self._status_answer(question, filters)) is not None:
            return _with_passages(from_records, hits)
        # --- end indicator status questions ---
        if self.settings.llm_enabled:
            # Streams pieces to on_token; falls back to the extractive answer (with a notice) if the LLM fails.
            return answer_with_fallback(question, hits, self.settings, on_token=on_token, known_regions=regions)
        return answer_question(question, hits, regions)


    # --- indicator records (rag/indicators.py) ---------------------------------------------------------
    @cached_property
    def indicators(self) -> list[IndicatorRecord]:
        """Indicator records of every table row in the index (computed once; ~10 ms on the seeds)."""
        return extract_indicators(self.index.chunks)

    @cached_property
    def _chunks_by_id(self) -> dict[str, Chunk]:
        return {c.chunk_id: c for c in self.index.chunks}

    def status_records(self, question: str, filters: QueryFilters | None = None) -> list[IndicatorRecord]:
        """The records a status question (哪些指标未完成 …) is about; [] for any other question."""
        query = match_status_question(question, frozenset(self.retriever.regions))
        if query is None:
            return []
        records = [r for r in self.indicators if filters is None or filters.allows(self._chunks_by_id[r.chunk_id])]
        return select_records(query, records)

    def _status_answer(self, question: str, filters: QueryFilters | None) -> Answer | None:
        query = match_status_question(question, frozenset(self.retriever.regions))
        if query is None:
            return None
        records = [r for r in self.indicators if filters is None or filters.allows(self._chunks_by_id[r.chunk_id])]
        return answer_status_question(query, records, self._chunks_by_id, question)


def _with_passages(answer: Answer, hits: list[Hit]) -> Answer:
    """The record citations first, then the retrieved passages not already cited, numbered on."""
    cited = {c.hit.chunk.chunk_id for c in answer.citations}
    extra = [h for h in hits if h.chunk.chunk_id not in cited]
    start = len(answer.citations)
    more = tuple(Citation(start + k + 1, h) for k, h in enumerate(extra[:3]))
    return Answer(answer.question, answer.text, answer.citations + more, answer.found, answer.notice)
