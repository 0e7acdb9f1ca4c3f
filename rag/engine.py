"""The one facade over the pipeline, shared by the CLI, the app and the eval: build an index, load it, ask it.

Loading the model and the index is the slow part (seconds), so one `Engine` is made per process
and reused for every question. A question is parsed once (`Engine.parse`) and the same `Query`
goes to the retriever and to the answer router.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from rag.answer.router import AnswerRouter
from rag.config import Settings
from rag.embed.model import Embedder
from rag.embed.onnx import one_request
from rag.index.store import Progress, load_index
from rag.records import Answer, Document, Fact, Hit, Query
from rag.search.retriever import FusionWeights, QueryFilters, Retriever

if TYPE_CHECKING:
    from rag.index.milvus import SyncReport
    from rag.ingest.load import LoadReport


@dataclass(frozen=True)
class BuildResult:
    manifest: dict
    reports: list[LoadReport]
    milvus: SyncReport | None = None  # what the write to Milvus did, for backend "milvus"


def build(
    settings: Settings,
    *,
    docs_dir: Path | None = None,
    index_dir: Path | None = None,
    embedder: Embedder | None = None,
    progress: Progress | None = None,
    backend: str | None = None,
) -> BuildResult:
    """Index a folder: files whose content, metadata and pipeline are unchanged are not read again.

    With backend "milvus" (default: settings.backend) the new build is then written to its Milvus
    collection too, only the documents that changed (rag/index/milvus.py).
    """
    # Imported here, not at the top: loading an engine to search must not pay for chunking and ingest
    # imports (langchain's splitters, format readers) — a cold `rag search` is timed end to end.
    from rag.index.build import BuildPlan, build_index
    from rag.ingest.load import load_folder

    explicit_docs = docs_dir
    docs_dir = Path(docs_dir or settings.docs_dir)
    index_dir = Path(index_dir or settings.index_dir)
    embedder = embedder or Embedder(settings)
    plan = BuildPlan.from_previous(index_dir, model=settings.embed_model, dimension=embedder.dimension)
    signatures: dict[str, str] = {}

    def reuse(rel: str, signature: str):
        signatures[rel] = signature
        return plan.reusable_document(rel, signature)

    documents, reports = load_folder(docs_dir, reuse=reuse)
    if explicit_docs is None:  # the configured collection: the documents folder plus the app's uploads
        documents, reports = _add_user_documents(settings, docs_dir, documents, reports, reuse)
    if not documents:
        problems = "; ".join(r.message for r in reports if not r.ok) or "no supported files"
        raise ValueError(f"No documents could be loaded from {docs_dir} ({problems}).")
    manifest = build_index(
        documents,
        index_dir,
        embed=embedder.encode_passages,
        model_name=settings.embed_model,
        dimension=embedder.dimension,
        progress=progress,
        backend=embedder.backend,
        signatures=signatures,
        plan=plan,
    )
    if (backend or settings.backend) == "milvus":
        from rag.search.backends import sync_milvus

        synced = sync_milvus(settings.milvus_uri, index_dir, expected_model=settings.embed_model, progress=progress)
        return BuildResult(manifest, reports, synced)
    return BuildResult(manifest, reports)


USER_DOCS_PREFIX = "userdocs/"  # doc ids and sources of uploaded documents, so they never clash with docs_dir's


def _add_user_documents(settings: Settings, docs_dir: Path, documents: list[Document], reports: list[LoadReport],
                        reuse: Callable[[str, str], Document | None]) -> tuple[list[Document], list[LoadReport]]:
    """Documents uploaded in the app (settings.user_docs_dir), indexed beside docs_dir under their own prefix."""
    from rag.ingest.load import load_folder

    user_dir = Path(settings.user_docs_dir)
    if not user_dir.is_dir() or user_dir.resolve() == docs_dir.resolve() or not any(user_dir.iterdir()):
        return documents, reports
    found, user_reports = load_folder(user_dir, reuse=lambda rel, sig: reuse(USER_DOCS_PREFIX + rel, sig))
    prefixed = [
        d if d.doc_id.startswith(USER_DOCS_PREFIX)  # reused from the previous build: already prefixed
        else replace(d, doc_id=USER_DOCS_PREFIX + d.doc_id, source=USER_DOCS_PREFIX + d.source)
        for d in found
    ]
    return documents + prefixed, reports + [replace(r, path=USER_DOCS_PREFIX + r.path) for r in user_reports]


WARM_UP_QUESTION = "余杭区2021年地区生产总值是多少"  # any question: it only loads the lazy parts once


class Engine:
    """A loaded index and model, ready to answer questions."""

    def __init__(self, settings: Settings, *, index_dir: Path | None = None, embedder: Embedder | None = None,
                 weights: FusionWeights | None = None, need_dense: bool = True, backend: str | None = None) -> None:
        self.settings = settings
        self.index_dir = Path(index_dir or settings.index_dir)
        self.index = load_index(self.index_dir, expected_model=settings.embed_model)
        self.embedder = embedder or (Embedder(settings) if need_dense else None)
        self.retriever = Retriever(self.index, self.embedder, weights)
        if (backend or settings.backend) == "milvus":  # the same rankers on the index's Milvus collection
            from rag.search.backends import open_milvus

            self.retriever.backend = open_milvus(settings.milvus_uri, self.retriever)
        self.router = AnswerRouter(settings, self.index.facts, self.index.chunks, embedder=self.embedder,
                                   position=self.index.position)
        self._warm_up()

    def _warm_up(self) -> None:
        """Load now what the first question would load (jieba's dictionary, OpenCC, the place list, ONNX
        Runtime's first-run buffers): no user's first answer pays for it, and sessions that start
        together do not queue behind it."""
        self.parse(WARM_UP_QUESTION)
        if self.embedder is not None:
            self.embedder.encode_query(WARM_UP_QUESTION)

    def warm_up_for_sessions(self) -> None:
        """For a long-lived process (the app, the load test): also load the full tokenizer that sentence
        choice embeds passages with. Its 0.6 s load holds the GIL, so paid by the first answer it would
        stall every session waiting meanwhile; a one-shot `rag ask` is quicker without it."""
        if self.embedder is not None and self.router.embedder is not None:
            self.embedder.encode_passages([WARM_UP_QUESTION, WARM_UP_QUESTION + "。"])

    @property
    def facts(self) -> list[Fact]:
        return self.index.facts

    def parse(self, question: str) -> Query:
        return self.retriever.parse(question)

    def search(self, question: str | Query, *, mode: str = "hybrid", top_k: int = 10,
               filters: QueryFilters | None = None) -> list[Hit]:
        return self.retriever.search(question, mode=mode, top_k=top_k, filters=filters)

    def ask(self, question: str, *, mode: str = "hybrid", top_k: int = 8, filters: QueryFilters | None = None,
            on_token: Callable[[str], None] | None = None, llm: bool = True) -> Answer:
        """Answer a question; `llm=False` gives the extractive answer even when an LLM is configured (the eval
        scores both)."""
        with one_request():  # its inferences are served before those of answers begun later
            query = self.parse(question)
            hits = self.search(query, mode=mode, top_k=top_k, filters=filters)
            return self.router.run(query, hits, allows=filters.allows if filters else None, on_token=on_token,
                                   use_llm=llm,
                                   search=lambda part: self.search(part, mode=mode, top_k=top_k, filters=filters))

    def status_facts(self, question: str, filters: QueryFilters | None = None) -> list[Fact]:
        """The facts a status question (哪些指标未完成 …) is about; [] for any other question."""
        return self.router.status_facts(self.parse(question), filters.allows if filters else None)
