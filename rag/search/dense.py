"""Dense vectors in FAISS: exact inner-product search for small corpora, IVF above a size."""

from __future__ import annotations

import faiss
import numpy as np

# How the index is made (exact up to EXACT_SEARCH_MAX, IVF above) lives with the build that persists it.
from rag.index.ann import EXACT_SEARCH_MAX, dense_index

__all__ = ["EXACT_SEARCH_MAX", "dense_index", "dense_ranking"]


def dense_ranking(index: faiss.Index, query_vector: np.ndarray, limit: int) -> list[tuple[int, float]]:
    scores, ids = index.search(query_vector.reshape(1, -1).astype(np.float32), min(limit, index.ntotal))
    return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]
