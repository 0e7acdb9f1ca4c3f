"""A document-level lexical signal: documents ranked by how well their titles match the question.

Among many reports that all speak of GDP, jobs and investment, the passage text cannot say which
report a question is about; the title can (「2026年四川省政府工作报告」 for 「四川2025年…」 shares
四川). Titles are scored by bigram BM25 — the same character bigrams as the passage ranker, so it
needs no word list — and every chunk of a document shares its document's rank.
"""

from __future__ import annotations

from collections.abc import Sequence

from rag.index.bm25 import SparseBM25
from rag.records import Chunk, Query
from rag.zh import char_bigrams


class DocumentTitles:
    def __init__(self, chunks: Sequence[Chunk], limit: int = 20) -> None:
        titles: dict[str, str] = {}
        for chunk in chunks:
            titles.setdefault(chunk.doc_id, chunk.title)
        self.doc_ids = list(titles)
        self.limit = limit
        self.bm25 = SparseBM25([char_bigrams(t) or ["∅"] for t in titles.values()])

    def ranks(self, query: Query) -> dict[str, int]:
        """doc_id -> 1-based rank of its title for the question (only documents whose title matches).

        Documents with equal scores share a rank, so that a title matching nothing specific (the
        report type every title has) does not order otherwise identical reports arbitrarily.
        """
        grams = char_bigrams(query.text)
        if not grams or not self.doc_ids:
            return {}
        ranked = self.bm25.top(grams, self.limit)
        out: dict[str, int] = {}
        previous, rank = None, 0
        for n, (row, score) in enumerate(ranked, start=1):
            if score != previous:
                rank, previous = n, score
            out[self.doc_ids[row]] = rank
        return out
