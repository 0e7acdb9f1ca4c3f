"""Retrieval: lexical rankers and dense vectors, fused by reciprocal rank, region/year aware.

Queries are parsed once (`QueryParser`) and normalised exactly like documents, so a question in
either script finds the same passages. Regions and years named in the question boost chunks whose
document metadata match, so 「拱墅2022年…」 prefers the 拱墅 2022 report over 滨江's. Filters are
applied inside each ranker, before any cut, so a narrow filter still gets its best passages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from rag.index.store import BIGRAM_FILE, LoadedIndex
from rag.records import Chunk, Hit, Query
from rag.search.bm25 import cached_bm25
from rag.search.dense import dense_index, dense_ranking
from rag.search.fusion import SURE_METADATA, MetadataBoosts, period_matches, reciprocal_rank_fusion
from rag.search.passages import Passages
from rag.search.query import QueryParser
from rag.search.titles import DocumentTitles
from rag.zh import char_bigrams, tokenize

MODES = ("hybrid", "dense", "bm25")  # the one list of search modes, default first


@dataclass(frozen=True)
class FusionWeights:
    """Weights of the fused rankers and of the document-level signals, in RRF units.

    Three rankers are fused: jieba BM25, character-bigram BM25 (immune to segmentation choices) and
    dense vectors. Region and year matches add a share of a first-place vote, larger when the
    document's metadata is sure (named in a manifest or in its own title) than when it was only
    inferred from passing mentions in the text — incidental places and years must not outvote the
    text (DRCD), while a title that says 四川省 2026 decides between 62 reports that all speak of GDP.
    `title` weighs a document ranker (bigram BM25 over document titles) whose rank every chunk of
    the document shares; it gained nothing measurable and is off.

    Chosen with eval/sweep_fusion.py on DRCD dev, CMRC dev, the seed eval and the corpus eval (seeds
    + 62 provincial + 2 national reports) together: bigram 2.0 over 1.0 gave DRCD hit@1 0.920 -> 0.928,
    CMRC 0.977 -> 0.980; sure region 3.0 and the period boost took the corpus eval's right report at
    rank 1 from 0.80 to 0.94 without touching DRCD/CMRC (whose metadata is never sure).
    """

    bm25: float = 1.5
    dense: float = 1.0
    bigram: float = 2.0
    rrf_k: int = 60
    region_boost: float = 0.1  # in units of a first-place RRF score; metadata inferred from the text
    year_boost: float = 0.25
    sure_region_boost: float = 3.0  # metadata from a manifest or the document's own title
    sure_year_boost: float = 0.5
    title: float = 0.0  # weight of the document-title ranker
    # An annual report reviews the years before its latest and plans its latest (2026 report: 2025
    # results, 2026 targets). A question for year Y's results prefers a report that reviews Y; one for
    # Y's targets, the report that plans Y. Only for documents with sure metadata.
    period_boost: float = 2.0
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

    def __bool__(self) -> bool:
        return bool(self.regions or self.years or self.doc_ids)


def _matrix_cache(index: LoadedIndex, token_file: str) -> Path | None:
    """Where the BM25 matrix of a build's token file is cached; None for an index not read from disk."""
    digest = index.manifest.get("checksums", {}).get(token_file)
    if not digest or not index.path.is_dir() or not (index.path / token_file).is_file():
        return None
    return index.path / f"{Path(token_file).stem}.bm25-{digest[:16]}.npz"


class Retriever:
    def __init__(self, index: LoadedIndex, embedder=None, weights: FusionWeights | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.weights = weights or FusionWeights()
        self.chunks = index.chunks
        # Sparse matrices are cached inside the build (named by their token file's checksum), so a
        # second load skips counting every token; older builds without bigrams derive them from the text.
        n = len(self.chunks)
        self.bm25 = cached_bm25(lambda: index.tokens, _matrix_cache(index, "bm25_tokens.jsonl"), n)
        self.bigram = cached_bm25(lambda: index.bigrams or [char_bigrams(c.indexed_text) for c in self.chunks],
                                  _matrix_cache(index, BIGRAM_FILE) if index.bigrams else None, n)
        # The build's persisted FAISS index when it has one (an IVF index takes minutes to train at 1M chunks).
        self.faiss = index.dense if index.dense is not None else dense_index(index.vectors)
        self.regions = frozenset(c.region for c in self.chunks if c.region)
        self.parser = QueryParser(self.regions)
        self.sure_metadata = np.fromiter(
            (getattr(index.documents.get(c.doc_id), "metadata_source", "") in SURE_METADATA for c in self.chunks),
            dtype=bool, count=len(self.chunks))
        self.titles = DocumentTitles(self.chunks)
        self.passages = Passages(self.chunks)

    def parse(self, question: str) -> Query:
        return self.parser.parse(question)

    # --- individual rankers ------------------------------------------------------------------------
    def allowed_rows(self, filters: QueryFilters | None) -> np.ndarray | None:
        if not filters:
            return None
        return np.fromiter((i for i, c in enumerate(self.chunks) if filters.allows(c)), dtype=np.int64)

    def bm25_ranking(self, query: Query, limit: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        tokens = tokenize(query.lexical_text)
        if not tokens:
            return []
        return self.bm25.top(tokens, limit, allowed)

    def bigram_ranking(self, query: Query, limit: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        grams = char_bigrams(query.lexical_text)
        if not grams:
            return []
        return self.bigram.top(grams, limit, allowed)

    def rankings(self, query: Query, mode: str, limit: int, allowed: np.ndarray | None = None,
                 ) -> dict[str, list[tuple[int, float]]]:
        """Each ranker's (row, score) list for the mode: hybrid fuses jieba BM25, bigram BM25 and dense."""
        rankings: dict[str, list[tuple[int, float]]] = {}
        if mode in ("hybrid", "bm25"):
            rankings["bm25"] = self.bm25_ranking(query, limit, allowed)
        if mode == "hybrid":
            rankings["bigram"] = self.bigram_ranking(query, limit, allowed)
        if mode in ("hybrid", "dense"):
            rankings["dense"] = self.dense_ranking(query, limit, allowed)
        return rankings

    def dense_ranking(self, query: Query, limit: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        if self.embedder is None:
            raise RuntimeError("Dense retrieval needs an embedder.")
        vector = self.embedder.encode_query(query.text)
        if allowed is None:
            return dense_ranking(self.faiss, vector, limit)
        if len(allowed) == 0:
            return []
        params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))
        scores, ids = self.faiss.search(vector.reshape(1, -1).astype(np.float32), min(limit, len(allowed)), params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    # --- the public entry point ----------------------------------------------------------------------
    def search(self, question: str | Query, *, mode: str = "hybrid", top_k: int = 10,
               filters: QueryFilters | None = None) -> list[Hit]:
        if mode not in MODES:
            raise ValueError(f"Unknown mode {mode!r}; choose one of {', '.join(MODES)}.")
        query = question if isinstance(question, Query) else self.parse(question)
        if not query.text.strip():
            return []
        w = self.weights
        limit = max(w.candidates, top_k * 5)
        allowed = self.allowed_rows(filters)
        rankings = self.rankings(query, mode, limit, allowed)
        fused, per_ranker = self.fuse(query, rankings)
        return self.hits(fused, per_ranker, top_k)

    def hits(self, fused: dict[int, float], per_ranker: dict[int, dict[str, float]], top_k: int) -> list[Hit]:
        """The `top_k` best fused rows as hits, near-identical passages collapsed."""
        ordered = sorted(fused.items(), key=lambda item: -item[1])
        hits: list[Hit] = []
        seen_text: set[str] = set()
        for i, score in ordered:
            chunk = self.chunks[i]
            key = re.sub(r"\s+", "", chunk.display_text)
            if key in seen_text:
                continue  # near-identical passages collapse to the best-ranked one
            seen_text.add(key)
            passage = self.passages.around(chunk)
            hits.append(Hit(rank=len(hits) + 1, score=score, chunk=chunk, scores=per_ranker.get(i, {}),
                            passage=passage if len(passage) > 1 else ()))
            if len(hits) >= top_k:
                break
        return hits

    def fuse(self, query: Query, rankings: dict[str, list[tuple[int, float]]],
             ) -> tuple[dict[int, float], dict[int, dict[str, float]]]:
        """RRF of the rankers, plus the document-level signals (title rank, region and year metadata)."""
        w = self.weights
        fused, per_ranker = reciprocal_rank_fusion(
            rankings, {"bm25": w.bm25, "dense": w.dense, "bigram": w.bigram}, w.rrf_k)
        doc_ranks = self.titles.ranks(query) if w.title and "bigram" in rankings else {}  # hybrid only
        boosts = MetadataBoosts(w.region_boost, w.year_boost, w.sure_region_boost, w.sure_year_boost)
        unit = 1.0 / (w.rrf_k + 1)
        for i in fused:
            chunk = self.chunks[i]
            sure = bool(self.sure_metadata[i])
            fused[i] += unit * boosts.score(query.regions, query.years, chunk, sure)
            if w.period_boost and sure and period_matches(query.measure, query.years, chunk.years):
                fused[i] += w.period_boost * unit
            rank = doc_ranks.get(chunk.doc_id)
            if rank is not None:
                fused[i] += w.title / (w.rrf_k + rank)
        return fused, per_ranker

    def passage_text(self, chunk: Chunk) -> str:
        """The whole-answer passage a hit on this chunk shows (rag.search.passages)."""
        return self.passages.text(chunk)

    def neighbours(self, chunk: Chunk, before: int = 1, after: int = 1) -> list[Chunk]:
        """The chunk with its neighbours in the same document, for "show more context"."""
        pos = self.index.position(chunk.chunk_id)
        lo, hi = max(0, pos - before), min(len(self.chunks), pos + after + 1)
        return [c for c in self.chunks[lo:hi] if c.doc_id == chunk.doc_id]
