"""Retrieval: lexical rankers and dense vectors, fused by reciprocal rank, region/year aware.

Queries are parsed once (`QueryParser`) and normalised exactly like documents, so a question in
either script finds the same passages. Regions and years named in the question boost chunks whose
document metadata match, so 「拱墅2022年…」 prefers the 拱墅 2022 report over 滨江's; when that metadata
is sure (a manifest, the document's own title) and the texts agree, the rankers also run inside
those documents alone, so their best passages compete among themselves, not with 61 other reports'
GDP sentences. Filters are applied inside each ranker, before any cut, so a narrow filter still gets
its best passages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from rag.index.bm25 import cached_bm25
from rag.index.store import BIGRAM_FILE, LoadedIndex, first_rows, row_documents
from rag.lexicon import lexicon
from rag.records import Chunk, Hit, Query
from rag.search.backends import LocalBackend, Restriction, SearchBackend, allowed_rows
from rag.search.dense import dense_index
from rag.search.fusion import (
    SCOPED,
    SURE_METADATA,
    MetadataBoosts,
    document_votes,
    names_row_and_column,
    period_matches,
    reciprocal_rank_fusion,
    section_matches,
    sums_up_years,
)
from rag.search.passages import Passages
from rag.search.query import QueryParser, report_years
from rag.search.titles import DocumentTitles
from rag.zh import char_bigrams, tokenize

MODES = ("hybrid", "dense", "bm25")  # the one list of search modes, default first
HYBRID_RANKERS = 3  # jieba BM25, character-bigram BM25, dense


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

    Then four query-adaptive mechanisms, each measured on the four sets at once (corpus hit@1 0.617 ->
    0.826, right report 0.94 -> 0.99; seeds hit@5 0.875 -> 0.909; DRCD 0.926 -> 0.930; CMRC 0.980 ->
    0.982): scoped rankings inside the documents a question names by sure metadata (`scope_agreement`),
    the lexical weight shrunk by the share of the question's words no passage uses (`unknown_words`),
    short documents ranked as one passage (`short_document`), and the report part whose heading
    reviews or plans the year asked (`section_boost`); bigram 2.25 over 2.0 with them.

    Dense 0.8 over 1.0 (`--grid dense`, after documents' guessed districts became real places only): the
    objective ties (0.8864 both), DRCD hit@1 0.929 -> 0.931, seeds and corpus hit@1 unchanged, CMRC
    unchanged; seed hit@5 0.940 -> 0.927 is its cost.

    A heading on how a plan went (「一、2021年…计划执行情况」) reviews its year though it says 计划 first;
    with that read right, `--grid section` chose section 0.5 (seed hit@1 0.711 -> 0.750, nine kinds 0.828 ->
    0.866) and `--grid years` a several-years summary's demotion 0.25 (corpus hit@1 0.832 -> 0.852, MRR 0.894
    -> 0.903; seeds unchanged; DRCD/CMRC have no sure metadata and are untouched). Then `--grid adaptive`
    on all four sets: bigram 2.25 -> 2.0 and scope agreement 10 -> 5 (objective 0.8984 -> 0.8995: corpus hit@1
    0.846 -> 0.852, seed hit@5 0.944 -> 0.953, DRCD 0.931 -> 0.930, CMRC unchanged).
    """

    bm25: float = 1.5
    dense: float = 0.8
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
    # Within a report, the part whose top heading reviews (results) or plans (targets) the year asked
    # (rag.search.fusion.section_matches): 「2024年全国城镇新增就业」 -> 「一、2024年工作回顾」, not the 2025 targets.
    section_boost: float = 0.5
    # A passage summing up several years (「这五年…」「年均增长」) loses this for a question about one year's
    # results (rag.search.fusion.sums_up_years); only in reports with sure metadata.
    multi_year: float = 0.25
    # A table row the question names by its indicator and by one of its columns (「实际利用外资完成率」: the row
    # 实际利用外资, the column 目标完成率) states exactly what is asked (rag.search.fusion.names_row_and_column).
    row_column: float = 0.5
    # The documents a question names by sure metadata are searched on their own (`scoped_rankings`) and
    # boosted as sure when one of them has a passage in this many best of a corpus-wide ranking (of each of
    # hybrid's three; a one-ranker mode looks three times as deep).
    scope_agreement: int = 5
    # The lexical rankers' weights shrink by this times the share of the question's words no passage uses
    # (`Retriever.lexical_trust`), to no less than `lexical_floor` of their weight.
    unknown_words: float = 1.0
    lexical_floor: float = 0.1
    # A document of at most `short_document_chunks` rows (a DRCD paragraph, a short notice) is also ranked
    # as one passage: each of its rows gains this times the document's best vote from each ranker.
    short_document: float = 1.0
    short_document_chunks: int = 10
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
    return index.path / f"{Path(token_file).stem}.bm25-{digest[:16]}"


class Retriever:
    def __init__(self, index: LoadedIndex, embedder=None, weights: FusionWeights | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.weights = weights or FusionWeights()
        self.chunks = index.chunks
        n = len(self.chunks)
        # The build's BM25 matrices, memory-mapped (rag/index/store.py). Builds from before they were
        # part of the build count them once and cache them inside it, named by the token file's checksum.
        self.bm25 = index.lexical["bm25"] if "bm25" in index.lexical else cached_bm25(
            lambda: index.tokens, _matrix_cache(index, "bm25_tokens.jsonl"), n)
        self.bigram = index.lexical["bigram"] if "bigram" in index.lexical else cached_bm25(
            lambda: index.bigrams or [char_bigrams(c.indexed_text) for c in self.chunks],
            _matrix_cache(index, BIGRAM_FILE) if index.bigrams else None, n)
        # The build's persisted FAISS index when it has one (an IVF index takes minutes to train at 1M chunks).
        self.faiss = index.dense if index.dense is not None else dense_index(index.vectors)
        # Where the three rankers run (rag/search/backends.py); the Engine swaps in Milvus when configured.
        self.backend: SearchBackend = LocalBackend(self.chunks, {"bm25": self.bm25, "bigram": self.bigram}, self.faiss,
                                                    index.vectors)
        # Region, years, title and metadata are the document's (every chunk carries its document's), so
        # whole-index passes read one chunk per document, not every row (at 1M rows they are not parsed).
        self.row_docs, self.doc_ids = row_documents(self.chunks)
        self.doc_chunks = [self.chunks[int(row)] for row in first_rows(self.row_docs, len(self.doc_ids))]
        self.regions = frozenset(c.region for c in self.doc_chunks if c.region)
        self.parser = QueryParser(self.regions)
        doc_sure = np.fromiter(
            (getattr(index.documents.get(c.doc_id), "metadata_source", "") in SURE_METADATA for c in self.doc_chunks),
            dtype=bool, count=len(self.doc_chunks))
        self.sure_metadata = doc_sure[self.row_docs] if n else np.zeros(0, dtype=bool)
        self.passages = Passages(self.chunks, position=index.position)

    @cached_property
    def titles(self) -> DocumentTitles:
        return DocumentTitles(self.doc_chunks)

    def parse(self, question: str) -> Query:
        return self.parser.parse(question)

    # --- individual rankers ------------------------------------------------------------------------
    def allowed_rows(self, filters: QueryFilters | None) -> np.ndarray | None:
        return allowed_rows(self.chunks, filters)

    # `allowed`: rows, or what self.backend.restrict(filters) made of the filters (a Milvus expression).
    def bm25_ranking(self, query: Query, limit: int, allowed: Restriction = None) -> list[tuple[int, float]]:
        tokens = tokenize(query.lexical_text)
        if not tokens:
            return []
        return self.backend.lexical("bm25", tokens, limit, allowed)

    def bigram_ranking(self, query: Query, limit: int, allowed: Restriction = None) -> list[tuple[int, float]]:
        grams = char_bigrams(query.lexical_text)
        if not grams:
            return []
        return self.backend.lexical("bigram", grams, limit, allowed)

    def rankings(self, query: Query, mode: str, limit: int, allowed: Restriction = None,
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

    def dense_ranking(self, query: Query, limit: int, allowed: Restriction = None) -> list[tuple[int, float]]:
        if self.embedder is None:
            raise RuntimeError("Dense retrieval needs an embedder.")
        # a colloquial question is embedded as a report would word it (「腰包鼓了多少」 -> 人均可支配收入)
        return self.backend.dense(self.embedder.encode_query(query.reworded or query.text), limit, allowed)

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
        allowed = self.backend.restrict(filters)  # local: rows; Milvus: an expression filtered inside the search
        rankings = self.candidate_rankings(query, mode, limit, allowed)
        fused, per_ranker = self.fuse(query, rankings)
        return self.hits(fused, per_ranker, top_k)

    def candidate_rankings(self, query: Query, mode: str, limit: int, allowed: np.ndarray | None = None,
                           ) -> dict[str, list[tuple[int, float]]]:
        """Every ranking `fuse` reads: the rankers over the corpus, and over the documents in scope when
        the corpus-wide rankings agree with the scope (`scope_agrees`)."""
        rankings = self.rankings(query, mode, limit, allowed)
        if self.scope_agrees(query, rankings):
            rankings |= self.scoped_rankings(query, mode, limit, allowed)
        return rankings

    # --- scope: the documents a question names by sure metadata -----------------------------------------
    @cached_property
    def _sure_codes_by_region(self) -> dict[str, frozenset[int]]:
        """region -> the documents (codes into `doc_ids`) whose sure metadata names it."""
        codes: dict[str, set[int]] = {}
        for code, chunk in enumerate(self.doc_chunks):
            if chunk.region and getattr(self.index.documents.get(chunk.doc_id), "metadata_source", "") in SURE_METADATA:
                codes.setdefault(chunk.region, set()).add(code)
        return {region: frozenset(c) for region, c in codes.items()}

    def _scope_codes(self, query: Query) -> frozenset[int]:
        """The documents whose sure metadata (a manifest, the document's own title) names a region the
        question names; none when there are none, or when they are the whole index. Decided per
        document, so the cost does not grow with the rows."""
        codes = frozenset().union(*(self._sure_codes_by_region.get(r, frozenset()) for r in query.regions))
        return codes if len(codes) < len(self.doc_ids) else frozenset()

    def scope_rows(self, query: Query) -> np.ndarray | None:
        """Rows of the documents of `_scope_codes`; None when there are none."""
        codes = self._scope_codes(query)
        if not codes:
            return None
        return np.flatnonzero(np.isin(self.row_docs, np.fromiter(codes, dtype=self.row_docs.dtype))).astype(np.int64)

    def in_scope(self, query: Query) -> frozenset[str]:
        """The documents of `scope_rows`, by id."""
        return frozenset(self.doc_ids[c] for c in self._scope_codes(query))

    def scope_agrees(self, query: Query, rankings: dict[str, list[tuple[int, float]]]) -> bool:
        """Do the texts agree with the metadata? One of the documents in scope has a passage in the top
        `scope_agreement` of a corpus-wide ranking. A report titled 四川省… surely has one for a question
        about 四川; a paragraph whose title line was misread as national (DRCD's 重庆: 「…中华人民共和国直辖市」)
        has none for a question that only says 全国性, and then neither scope nor sure boost applies."""
        codes = self._scope_codes(query) if query.regions else frozenset()
        if not codes:
            return False
        corpus_wide = [ranking for name, ranking in rankings.items() if not name.startswith(SCOPED)]
        if not corpus_wide:
            return False
        # the same number of candidates whatever the mode: `scope_agreement` from each of hybrid's three
        # rankers, or three times as deep in the one ranking of a bm25 or dense search
        top = -(-self.weights.scope_agreement * HYBRID_RANKERS // len(corpus_wide))
        return any(int(self.row_docs[row]) in codes for ranking in corpus_wide for row, _ in ranking[:top])

    def scoped_rankings(self, query: Query, mode: str, limit: int, allowed: np.ndarray | None = None,
                        ) -> dict[str, list[tuple[int, float]]]:
        """The rankers again, inside the documents the question names by sure metadata (a filter applied
        inside each ranker, so the best passages of 四川's reports are candidates even when the corpus-wide
        top 100 is full of other reports' GDP sentences). The lexical rankers read the question without
        the place's names — inside its own reports they match every passage and rank none — and keep
        its years, which tell the review of a year from the plan for it; dense reads the whole question."""
        rows = self.scope_rows(query)
        if rows is None:
            return {}
        if allowed is not None:
            rows = self.backend.intersect(rows, allowed)
        if not len(rows):
            return {}
        lexical = self._without_regions(query)
        out: dict[str, list[tuple[int, float]]] = {}
        if mode in ("hybrid", "bm25"):
            out[SCOPED + "bm25"] = self.bm25_ranking(lexical, limit, rows)
        if mode == "hybrid":
            out[SCOPED + "bigram"] = self.bigram_ranking(lexical, limit, rows)
        if mode in ("hybrid", "dense"):
            out[SCOPED + "dense"] = self.dense_ranking(query, limit, rows)
        return out

    def _without_regions(self, query: Query) -> Query:
        names = sorted({a for r in query.regions for a in self.parser.aliases(r)}, key=len, reverse=True)
        def without(text: str) -> str:
            for name in names:
                text = text.replace(name, " ")
            return re.sub(r"\s+", " ", text).strip()

        text = without(query.text)
        return replace(query, text=text, reworded=without(query.reworded)) if text else query

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
                            passage=passage if len(passage) > 1 else (),
                            sure_metadata=bool(self.sure_metadata[i])))
            if len(hits) >= top_k:
                break
        return hits

    def fuse(self, query: Query, rankings: dict[str, list[tuple[int, float]]],
             ) -> tuple[dict[int, float], dict[int, dict[str, float]]]:
        """RRF of the rankers, plus the document-level signals (title rank, region and year metadata)."""
        w = self.weights
        # The documents the question names by sure metadata count as sure only when the texts agree.
        trusted = self.scope_agrees(query, rankings)
        in_scope = None
        if trusted and any(name.startswith(SCOPED) for name in rankings):
            codes = self._scope_codes(query)
            in_scope = lambda row: int(self.row_docs[row]) in codes  # noqa: E731
        # colloquial questions lean on dense, literal ones keep lexical (only where there is dense to lean on)
        lexical = self.lexical_trust(query) if "dense" in rankings else 1.0
        weights = {"bm25": w.bm25 * lexical, "dense": w.dense, "bigram": w.bigram * lexical}
        fused, per_ranker = reciprocal_rank_fusion(rankings, weights, w.rrf_k, in_scope)
        if w.short_document:  # a short document (a paragraph, a notice) also ranks as one passage
            short = self._short_documents
            votes = document_votes(rankings, weights, w.rrf_k, lambda row: self._short_doc(short, row), in_scope)
            for i in fused:
                doc = self._short_doc(short, i)
                if doc is not None:
                    fused[i] += w.short_document * votes.get(doc, 0.0)
        doc_ranks = self.titles.ranks(query) if w.title and "bigram" in rankings else {}  # hybrid only
        boosts = MetadataBoosts(w.region_boost, w.year_boost, w.sure_region_boost if trusted else w.region_boost,
                                w.sure_year_boost)
        unit = 1.0 / (w.rrf_k + 1)
        named_reports = report_years(query.text)
        for i in fused:
            chunk = self.chunks[i]
            sure = bool(self.sure_metadata[i])
            fused[i] += unit * boosts.score(query.regions, query.years, chunk, sure)
            if w.period_boost and sure and period_matches(query.measure, query.years, chunk.years, named_reports):
                fused[i] += w.period_boost * unit
            if w.section_boost and section_matches(query.measure, query.years, chunk.breadcrumb):
                fused[i] += w.section_boost * unit
            if w.multi_year and sure and sums_up_years(query.measure, query.years, query.text, chunk.body):
                fused[i] -= w.multi_year * unit
            if w.row_column and chunk.search_cells and names_row_and_column(query.topic, chunk.search_cells):
                fused[i] += w.row_column * unit
            rank = doc_ranks.get(chunk.doc_id)
            if rank is not None:
                fused[i] += w.title / (w.rrf_k + rank)
        return fused, per_ranker

    @cached_property
    def _short_documents(self) -> np.ndarray:
        """Per document code: whether it has at most `short_document_chunks` rows."""
        sizes = np.bincount(np.asarray(self.row_docs, dtype=np.int64), minlength=len(self.doc_ids))
        return sizes <= self.weights.short_document_chunks

    def _short_doc(self, short: np.ndarray, row: int) -> int | None:
        code = int(self.row_docs[row])
        return code if short[code] else None

    def lexical_trust(self, query: Query) -> float:
        """How far the lexical rankers can read the question: 1 − `unknown_words` × the share of its
        content words (place names, years, numbers and question words aside) that no indexed passage
        uses, at least `lexical_floor`. 「余杭人2021年腰包鼓了多少」 asks in words the reports never write
        (腰包, 鼓): BM25 then ranks on the leftovers and outvotes dense, which reads the meaning;
        「余杭2021年地区生产总值」 is all report words and keeps its full lexical weight (DRCD, CMRC)."""
        w = self.weights
        vocabulary = getattr(self.bm25, "vocabulary", None)
        if not w.unknown_words or vocabulary is None:
            return 1.0
        lex = lexicon()
        text = self._without_regions(query).text if query.regions else query.text
        words = [t for t in dict.fromkeys(tokenize(text)) if len(t) >= 2 and not t.isdigit()
                 and t not in lex.question_words and t not in lex.stopwords]
        if not words:
            return 1.0
        unknown = sum(1 for t in words if t not in vocabulary and t not in lex.synonyms)
        return max(w.lexical_floor, 1.0 - w.unknown_words * unknown / len(words))

    def passage_text(self, chunk: Chunk) -> str:
        """The whole-answer passage a hit on this chunk shows (rag.search.passages)."""
        return self.passages.text(chunk)

    def neighbours(self, chunk: Chunk, before: int = 1, after: int = 1) -> list[Chunk]:
        """The chunk with its neighbours in the same document, for "show more context"."""
        pos = self.index.position(chunk.chunk_id)
        lo, hi = max(0, pos - before), min(len(self.chunks), pos + after + 1)
        return [c for c in self.chunks[lo:hi] if c.doc_id == chunk.doc_id]
