"""Dense vectors in FAISS: exact inner-product search for small corpora, IVF above a size."""

from __future__ import annotations

import faiss
import numpy as np

# How the index is made (exact up to EXACT_SEARCH_MAX, IVF above) lives with the build that persists it.
from rag.index.ann import EXACT_SEARCH_MAX, dense_index

__all__ = ["EXACT_SEARCH_MAX", "dense_index", "dense_ranking", "filtered_dense_ranking"]

EXACT_FILTERED_MAX = 20_000  # a filter this narrow is scored exactly from the vectors (a few ms, no ANN recall loss)


def dense_ranking(index: faiss.Index, query_vector: np.ndarray, limit: int) -> list[tuple[int, float]]:
    if index.ntotal == 0 or limit <= 0:
        return []  # an index whose documents gave no chunks (a lone heading)
    scores, ids = index.search(query_vector.reshape(1, -1).astype(np.float32), min(limit, index.ntotal))
    return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]


def filtered_dense_ranking(index: faiss.Index, vectors: np.ndarray | None, query_vector: np.ndarray, limit: int,
                           allowed: np.ndarray) -> list[tuple[int, float]]:
    """The best `limit` of the `allowed` rows: exactly from the vectors when few, else FAISS with an id
    selector (an IVF index needs its own parameter type, and keeps its nprobe)."""
    if len(allowed) == 0:
        return []
    query = query_vector.reshape(-1).astype(np.float32)
    if vectors is not None and len(allowed) <= EXACT_FILTERED_MAX:
        rows = np.sort(np.asarray(allowed, dtype=np.int64))
        scores = np.asarray(vectors[rows], dtype=np.float32) @ query
        top = np.argsort(-scores, kind="stable")[:limit]
        return [(int(rows[i]), float(scores[i])) for i in top]
    selector = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
    ivf = index if isinstance(index, faiss.IndexIVF) else None
    params = (faiss.SearchParametersIVF(sel=selector, nprobe=ivf.nprobe) if ivf is not None
              else faiss.SearchParameters(sel=selector))
    scores, ids = index.search(query.reshape(1, -1), min(limit, len(allowed)), params=params)
    return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]
