"""Where the retriever's three rankers run: the local build (default) or a Milvus collection.

The retriever parses the question, asks its backend for each signal's ranked (row, score) list —
jieba BM25, bigram BM25, dense — and fuses them itself (rag/search/fusion.py, metadata boosts), so
fusion is the same code whichever backend ranked. A backend:

- `restrict(filters)`  turns QueryFilters into what its rankers filter with inside the search
                        (local: the allowed rows; Milvus: a boolean expression on region/years/doc_id);
                        rankers also take rows (the retriever's scope of named documents), and
- `intersect(rows, allowed)`  narrows rows to a restriction (Milvus: an expression on doc_id, or chunk_id);
- `lexical(field, tokens, limit, allowed)`  one sparse signal ("bm25" or "bigram"), best first;
- `dense(vector, limit, allowed)`           the dense signal, best first;
- `fetch(rows)`        the chunks at those rows.

Writing is each backend's own: the local one writes whole immutable builds (rag/index/build.py,
reusing unchanged documents), Milvus adds and deletes a document's rows (rag/index/milvus.py).

Both order a ranking by score as float32 (what Milvus computes and returns), ties by row, so a tie
between identical passages is broken the same way on both and their rankings compare equal.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import faiss
import numpy as np

from rag.index.store import first_rows, row_documents
from rag.records import Chunk
from rag.search.dense import dense_ranking, filtered_dense_ranking

if TYPE_CHECKING:
    from rag.index.bm25 import SparseBM25
    from rag.index.milvus import MilvusIndex, SyncReport
    from rag.index.store import LoadedIndex, Progress
    from rag.search.retriever import QueryFilters, Retriever

Ranking = list[tuple[int, float]]  # (row, score), best first
Restriction = np.ndarray | str | None  # a backend's form of the filters: local rows, a Milvus expression, or none
LEXICAL_FIELDS = ("bm25", "bigram")


class SearchBackend(Protocol):
    name: str

    def restrict(self, filters: QueryFilters | None) -> Restriction: ...

    def intersect(self, rows: np.ndarray, allowed: Restriction) -> np.ndarray | str: ...

    def lexical(self, field: str, tokens: Sequence[str], limit: int, allowed: Restriction = None) -> Ranking: ...

    def dense(self, vector: np.ndarray, limit: int, allowed: Restriction = None) -> Ranking: ...

    def fetch(self, rows: Sequence[int]) -> list[Chunk]: ...


def by_score_then_row(ranking: Sequence[tuple[int, float]]) -> Ranking:
    """Best first by the float32 score, ties (identical passages, equal scores) by row."""
    if len(ranking) < 2:
        return list(ranking)
    rows = np.fromiter((row for row, _ in ranking), dtype=np.int64, count=len(ranking))
    scores = np.fromiter((score for _, score in ranking), dtype=np.float32, count=len(ranking))
    return [ranking[i] for i in np.lexsort((rows, -scores))]


def allowed_rows(chunks: Sequence[Chunk], filters: QueryFilters | None) -> np.ndarray | None:
    """Rows the filters allow. Filters read region, years and document, which every chunk shares with
    its document: one chunk per document is judged, not every row."""
    if not filters:
        return None
    codes, doc_ids = row_documents(chunks)
    allowed = np.fromiter((filters.allows(chunks[int(row)]) for row in first_rows(codes, len(doc_ids))),
                          dtype=bool, count=len(doc_ids))
    return np.flatnonzero(allowed[codes]).astype(np.int64) if len(codes) else np.zeros(0, dtype=np.int64)


class LocalBackend:
    """The build's sparse BM25 matrices and FAISS index, in this process (what the retriever always did)."""

    name = "local"

    def __init__(self, chunks: Sequence[Chunk], scorers: Mapping[str, SparseBM25], dense_index: faiss.Index,
                 vectors: np.ndarray | None = None) -> None:
        self.chunks = chunks
        self.scorers = scorers
        self.dense_index = dense_index
        self.vectors = vectors  # exact scores for narrow filters (rag/search/dense.filtered_dense_ranking)

    def restrict(self, filters: QueryFilters | None) -> np.ndarray | None:
        return allowed_rows(self.chunks, filters)

    def intersect(self, rows: np.ndarray, allowed: Restriction) -> np.ndarray:
        return rows if allowed is None else np.intersect1d(rows, allowed)

    def lexical(self, field: str, tokens: Sequence[str], limit: int, allowed: Restriction = None) -> Ranking:
        return by_score_then_row(self.scorers[field].top(tokens, limit, allowed))

    def dense(self, vector: np.ndarray, limit: int, allowed: Restriction = None) -> Ranking:
        if allowed is None:
            return by_score_then_row(dense_ranking(self.dense_index, vector, limit))
        return by_score_then_row(filtered_dense_ranking(self.dense_index, self.vectors, vector, limit, allowed))

    def fetch(self, rows: Sequence[int]) -> list[Chunk]:
        return [self.chunks[i] for i in rows]


class FilterExpression(str):
    """A Milvus filter expression that keeps the QueryFilters it says, to narrow rows by them too."""

    filters: QueryFilters

    def __new__(cls, expression: str, filters: QueryFilters) -> FilterExpression:
        made = super().__new__(cls, expression)
        made.filters = filters
        return made


class MilvusBackend:
    """The same rankers on a Milvus collection written from the same build (rag/index/milvus.py).

    Query-side weights (idf × count) come from the build's BM25 statistics, so Milvus's inner product
    is the local BM25 score; hits are mapped back to the build's rows by chunk id.
    """

    name = "milvus"

    def __init__(self, store: MilvusIndex, index: LoadedIndex, scorers: Mapping[str, SparseBM25]) -> None:
        self.store = store
        self.index = index
        self.scorers = scorers
        self._doc_sizes = Counter(c.doc_id for c in index.chunks)

    def restrict(self, filters: QueryFilters | None) -> FilterExpression | None:
        from rag.index.milvus import filter_expression

        if not filters:
            return None
        return FilterExpression(filter_expression(filters.regions, filters.years, filters.doc_ids), filters)

    def intersect(self, rows: np.ndarray, allowed: Restriction) -> np.ndarray | str:
        """Rows narrowed by the filters (as the local backend does: an empty result means no scoped rankers)."""
        if allowed is None:
            return rows
        if isinstance(allowed, FilterExpression):
            chunks = self.index.chunks
            return np.asarray([i for i in rows if allowed.filters.allows(chunks[i])], dtype=np.int64)
        if isinstance(allowed, str):
            return f"({self._expr(rows)}) and ({allowed})"
        return np.intersect1d(rows, allowed)

    def _expr(self, allowed: Restriction) -> str | None:
        """The filter expression of a restriction; rows become whole documents (doc_id in …) where they are."""
        from rag.index.milvus import filter_expression

        if allowed is None or isinstance(allowed, str):
            return allowed
        chunks = self.index.chunks
        per_doc = Counter(chunks[i].doc_id for i in allowed)
        whole = sorted(d for d, n in per_doc.items() if n == self._doc_sizes[d])
        parts = [f"({filter_expression(doc_ids=whole)})"] if whole else []
        partial = sorted(chunks[i].chunk_id for i in allowed if per_doc[chunks[i].doc_id] != self._doc_sizes[chunks[i].doc_id])
        if partial:
            parts.append(f"(chunk_id in {json.dumps(partial, ensure_ascii=False)})")
        return " or ".join(parts) or 'chunk_id == ""'  # no rows: an expression nothing matches

    def lexical(self, field: str, tokens: Sequence[str], limit: int, allowed: Restriction = None) -> Ranking:
        from rag.index.milvus import query_weights

        weights = query_weights(tokens, self.scorers[field])
        if not weights or (allowed is not None and not isinstance(allowed, str) and not len(allowed)):
            return []
        # Only positive scores, as SparseBM25.top returns
        return [(row, score) for row, score in self._rows(self.store.search(field, weights, limit, self._expr(allowed)))
                if score > 0]

    def dense(self, vector: np.ndarray, limit: int, allowed: Restriction = None) -> Ranking:
        if allowed is not None and not isinstance(allowed, str) and not len(allowed):
            return []
        return self._rows(self.store.search("dense", vector, limit, self._expr(allowed)))

    def fetch(self, rows: Sequence[int]) -> list[Chunk]:
        return [self.index.chunks[i] for i in rows]

    def _rows(self, hits: Sequence[tuple[str, float]]) -> Ranking:
        ranking = []
        for chunk_id, score in hits:
            try:
                ranking.append((self.index.position(chunk_id), score))
            except KeyError:
                continue  # not in the live build: check_serves refuses a collection of another build, so only a race
        return by_score_then_row(ranking)


def open_milvus(uri: str, retriever: Retriever) -> MilvusBackend:
    """The Milvus backend for the retriever's index; refuses a collection that does not hold its live build."""
    from rag.index.milvus import MilvusIndex

    store = MilvusIndex.for_index(uri, retriever.index.path.parent)
    store.check_serves(retriever.index)
    return MilvusBackend(store, retriever.index, {"bm25": retriever.bm25, "bigram": retriever.bigram})


def sync_milvus(uri: str, index_dir: Path, *, expected_model: str | None = None, progress: Progress | None = None,
                avgdl_tolerance: float | None = None) -> SyncReport:
    """Write the live build of `index_dir` into its Milvus collection (only what changed)."""
    from rag.index.milvus import AVGDL_TOLERANCE, MilvusIndex
    from rag.index.store import load_index
    from rag.search.retriever import Retriever

    index = load_index(index_dir, expected_model=expected_model)
    retriever = Retriever(index)  # its BM25 statistics are the ones the local backend scores with
    store = MilvusIndex.for_index(uri, index.path.parent)
    tolerance = AVGDL_TOLERANCE if avgdl_tolerance is None else avgdl_tolerance
    return store.sync(index, {"bm25": retriever.bm25, "bigram": retriever.bigram}, progress, avgdl_tolerance=tolerance)
