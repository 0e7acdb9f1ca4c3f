"""Retrieval: BM25 over jieba tokens, dense vectors in FAISS, fused by reciprocal rank.

Queries are normalised exactly like documents (NFKC + Traditional->Simplified), so a question in
either script finds the same passages. Regions and years named in the question boost chunks whose
document metadata match, so 「拱墅2022年…」 prefers the 拱墅 2022 report over 滨江's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import faiss
import numpy as np

from rag.bm25 import SparseBM25
from rag.index_store import LoadedIndex
from rag.query import ParsedQuery, parse_query
from rag.records import Chunk, Hit
from rag.tokenize import tokenize

MODES = ("hybrid", "dense", "bm25")


@dataclass(frozen=True)
class FusionWeights:
    """Defaults chosen by measurement on two sets at once (eval/sweep_fusion.py for the seeds, plus
    DRCD dev): bm25 1.5 / dense 1.0 / k 60 / year boost 0.25 / region boost 0.1 gave seeds hit@5 0.940,
    MRR@10 0.866 and DRCD hit@5 0.986, MRR@10 0.934. Tuning on the seeds alone preferred bm25 0.8 and
    larger boosts (seeds MRR 0.884) but cost DRCD 4 points of hit@1: metadata boosts are strong medicine
    on corpora whose inferred years and places are incidental, so they stay small."""

    bm25: float = 1.5
    dense: float = 1.0
    rrf_k: int = 60
    region_boost: float = 0.1  # in units of a first-place RRF score
    year_boost: float = 0.25
    candidates: int = 100


@dataclass(frozen=True)
class QueryFilters:
    regions: tuple[str, ...] = ()
    years: tuple[int, ...] = ()
    doc_ids: tuple[str, ...] = ()

    def allows(self, chunk: Chunk) -> bool:
        if self.regions and chunk.region not in self.regions:
            return False
        if self.years and not set(self.years) & set(chunk.years):
            return False
        if self.doc_ids and chunk.doc_id not in self.doc_ids:
            return False
        return True


# Up to this many chunks exact search is fast enough (one query: ~16 ms at 50k x 384 on 2 cores,
# ~97 ms at 300k); above it an IVF index answers in about a millisecond, its recall@10 against
# exact search measured by `rag bench`.
EXACT_SEARCH_MAX = 50_000


def dense_index(vectors: np.ndarray, exact_max: int = EXACT_SEARCH_MAX) -> faiss.Index:
    """Exact inner-product search for small corpora, IVF above `exact_max` vectors."""
    n, dim = vectors.shape
    if n <= exact_max:
        index = faiss.IndexFlatIP(dim)
        index.add(vectors)
        return index
    nlist = int(4 * np.sqrt(n))
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(0)
    sample = vectors[rng.choice(n, size=min(n, nlist * 40), replace=False)]
    index.train(sample)
    index.add(vectors)
    # Probing ~6% of the lists keeps recall@10 against exact search high (see `rag bench`) while a
    # query still scans only a few percent of the vectors; 24 probes gave 0.85 at 100k, 0.77 at 1M.
    index.nprobe = max(32, nlist // 16)
    return index


class Retriever:
    def __init__(self, index: LoadedIndex, embedder=None, weights: FusionWeights | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.weights = weights or FusionWeights()
        self.chunks = index.chunks
        # A placeholder token keeps empty rows aligned with chunks (as rank-bm25 needs them non-empty).
        self.bm25 = SparseBM25([t or ["∅"] for t in index.tokens])
        self.faiss = dense_index(index.vectors)
        self.regions = {c.region for c in self.chunks if c.region}

    def parse(self, question: str) -> ParsedQuery:
        return parse_query(question, self.regions)

    # --- individual retrievers -------------------------------------------------------------------
    def bm25_ranking(self, query: str, limit: int) -> list[tuple[int, float]]:
        tokens = tokenize(query)
        if not tokens:
            return []
        return self.bm25.top(tokens, limit)

    def dense_ranking(self, query: str, limit: int) -> list[tuple[int, float]]:
        if self.embedder is None:
            raise RuntimeError("Dense retrieval needs an embedder.")
        vector = self.embedder.encode_query(query).reshape(1, -1)
        scores, ids = self.faiss.search(vector, min(limit, len(self.chunks)))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    # --- the public entry point -------------------------------------------------------------------
    def search(self, question: str, *, mode: str = "hybrid", top_k: int = 10, filters: QueryFilters | None = None) -> list[Hit]:
        if mode not in MODES:
            raise ValueError(f"Unknown mode {mode!r}; choose one of {', '.join(MODES)}.")
        query = self.parse(question)
        if not query.text.strip():
            return []
        w = self.weights
        limit = max(w.candidates, top_k * 5)
        rankings: dict[str, list[tuple[int, float]]] = {}
        if mode in ("hybrid", "bm25"):
            rankings["bm25"] = self.bm25_ranking(query.bm25_text, limit)
        if mode in ("hybrid", "dense"):
            rankings["dense"] = self.dense_ranking(query.text, limit)

        fused: dict[int, float] = {}
        per_mode: dict[int, dict[str, float]] = {}
        for name, ranking in rankings.items():
            weight = w.bm25 if name == "bm25" else w.dense
            for rank, (i, score) in enumerate(ranking, start=1):
                fused[i] = fused.get(i, 0.0) + weight / (w.rrf_k + rank)
                per_mode.setdefault(i, {})[name] = score

        regions, years = query.regions, query.years
        unit = 1.0 / (w.rrf_k + 1)
        for i in fused:
            chunk = self.chunks[i]
            if regions and chunk.region in regions:
                fused[i] += w.region_boost * unit
            if years and years & set(chunk.years):
                fused[i] += w.year_boost * unit

        ordered = sorted(fused.items(), key=lambda item: -item[1])
        hits: list[Hit] = []
        seen_text: set[str] = set()
        for i, score in ordered:
            chunk = self.chunks[i]
            if filters and not filters.allows(chunk):
                continue
            key = re.sub(r"\s+", "", chunk.display_text)
            if key in seen_text:
                continue  # near-identical passages collapse to the best-ranked one
            seen_text.add(key)
            hits.append(Hit(rank=len(hits) + 1, score=score, chunk=chunk, scores=per_mode.get(i, {})))
            if len(hits) >= top_k:
                break
        return hits

    def neighbours(self, chunk: Chunk, before: int = 1, after: int = 1) -> list[Chunk]:
        """The chunk with its neighbours in the same document, for "show more context"."""
        pos = self.index.position(chunk.chunk_id)
        lo, hi = max(0, pos - before), min(len(self.chunks), pos + after + 1)
        return [c for c in self.chunks[lo:hi] if c.doc_id == chunk.doc_id]
