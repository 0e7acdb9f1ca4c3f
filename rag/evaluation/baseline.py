"""The naive pipeline a user would assemble from the same libraries, kept as a yardstick.

Fixed 500-character chunks of the raw files (no cleaning, no structure), multilingual-e5 in FAISS,
rank-bm25 over plain jieba tokens, fused 0.5/0.5 by reciprocal rank. `rag eval` runs it beside our
pipeline so every report shows the gain over it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import faiss
import numpy as np

from rag.ingest.formats import READERS
from rag.ingest.load import iter_document_files
from rag.records import Chunk, Hit

CHUNK_CHARS = 500


def naive_chunks(docs_dir: Path) -> list[Chunk]:
    chunks: list[Chunk] = []
    for path in iter_document_files(Path(docs_dir)):
        try:  # the same readers as ours (a user's naive pipeline has a loader per format too), no cleaning
            raw = READERS[path.suffix.lower()](path).text
        except Exception:  # noqa: BLE001 — a file the naive pipeline cannot read is simply not indexed
            continue
        doc_id = path.relative_to(docs_dir).with_suffix("").as_posix()
        for n, start in enumerate(range(0, len(raw), CHUNK_CHARS)):
            text = raw[start : start + CHUNK_CHARS]
            chunks.append(Chunk(f"{doc_id}#naive{n:04d}", doc_id, "text", start, start + len(text), text, text,
                                source=path.name))
    return chunks


class NaiveRetriever:
    def __init__(self, docs_dir: Path, embedder, cache_dir: Path | None = None) -> None:
        import jieba
        from rank_bm25 import BM25Okapi

        self.embedder = embedder
        self.chunks = naive_chunks(docs_dir)
        self._cut = jieba.lcut
        self.bm25 = BM25Okapi([jieba.lcut(c.body) or ["∅"] for c in self.chunks])
        vectors = self._vectors(cache_dir)
        self.faiss = faiss.IndexFlatIP(vectors.shape[1])
        self.faiss.add(vectors)

    def _vectors(self, cache_dir: Path | None) -> np.ndarray:
        digest = hashlib.sha1("\x00".join(c.body for c in self.chunks).encode()).hexdigest()[:16]
        cache = Path(cache_dir) / f"naive-{digest}.npy" if cache_dir else None
        if cache and cache.is_file():
            return np.load(cache)
        vectors = self.embedder.encode_passages([c.body for c in self.chunks])
        if cache:
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.save(cache, vectors)
        return vectors

    def search(self, question: str, top_k: int = 10, rrf_k: int = 60) -> list[Hit]:
        scores = self.bm25.get_scores(self._cut(question))
        bm25_order = [int(i) for i in np.argsort(-scores)[:100]]
        _, ids = self.faiss.search(self.embedder.encode_query(question).reshape(1, -1), min(100, len(self.chunks)))
        fused: dict[int, float] = {}
        for ranking in (bm25_order, [int(i) for i in ids[0] if i >= 0]):
            for rank, i in enumerate(ranking, start=1):
                fused[i] = fused.get(i, 0.0) + 0.5 / (rrf_k + rank)
        ordered = sorted(fused.items(), key=lambda item: -item[1])[:top_k]
        return [Hit(rank=r, score=s, chunk=self.chunks[i]) for r, (i, s) in enumerate(ordered, start=1)]
