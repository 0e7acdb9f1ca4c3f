"""The router: one parsed question and its hits in, one `Answer` out, from the answerer that fits.

Status questions (哪些指标未完成 …) are answered from the index's facts; a question of several parts
(two places, two years, two indicators) is answered part by part, each part retrieved on its own
(`search`) and cited, with the comparison when one is asked; otherwise an LLM writes the answer when
one is configured (falling back to the extractive answer if it fails), else the extractive answerer
leads with the figure asked and quotes the sentences and rows that answer.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np

from rag.answer.extractive import compose, decline
from rag.answer.lists import Lister, answer_list
from rag.answer.llm import answer_with_fallback
from rag.answer.parts import merge_parts
from rag.answer.status import answer_status_question, match_status_question, no_status_answer, select_records
from rag.config import Settings
from rag.index.store import first_rows, row_documents
from rag.records import Answer, Chunk, Citation, Fact, Hit, Query

EXTRA_PASSAGES = 3  # retrieved passages shown after a status table's own citations
SENTENCE_CACHE = 20000  # sentence vectors kept between questions (the same passages come back often)
SearchFn = Callable[[Query], list[Hit]]


class RowLookup:
    """chunk id -> row, through the index's own lookup when given (`.get` like a dict)."""

    def __init__(self, chunks: Sequence[Chunk], position: Callable[[str], int] | None) -> None:
        self._position = position or {c.chunk_id: i for i, c in enumerate(chunks)}.__getitem__

    def get(self, chunk_id: str, default: int | None = None) -> int | None:
        try:
            return self._position(chunk_id)
        except KeyError:
            return default


class ChunkLookup(Mapping[str, Chunk]):
    """chunk id -> chunk, read by row on demand (a dict of every chunk costs seconds at 1M chunks)."""

    def __init__(self, chunks: Sequence[Chunk], rows: RowLookup) -> None:
        self._chunks, self._rows = chunks, rows

    def __getitem__(self, chunk_id: str) -> Chunk:
        row = self._rows.get(chunk_id)
        if row is None:
            raise KeyError(chunk_id)
        return self._chunks[row]

    def __iter__(self) -> Iterator[str]:
        return (c.chunk_id for c in self._chunks)

    def __len__(self) -> int:
        return len(self._chunks)


class AnswerRouter:
    def __init__(self, settings: Settings, facts: Sequence[Fact], chunks: Sequence[Chunk], embedder=None,
                 semantic_sentences: bool = True, position: Callable[[str], int] | None = None) -> None:
        self.settings = settings
        self.facts = list(facts)
        # The index's chunks are read by row (rag/index/store.ChunkTable): nothing here walks them all.
        self.chunks = chunks
        self.positions = RowLookup(chunks, position)
        self.chunks_by_id = ChunkLookup(chunks, self.positions)
        row_docs, doc_ids = row_documents(chunks)
        doc_chunks = [chunks[int(row)] for row in first_rows(row_docs, len(doc_ids))]  # region, years: the document's
        self.embedder = embedder if semantic_sentences else None
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self.covered = _coverage(doc_chunks)
        self.lister = Lister(chunks, row_docs, doc_ids)
        self.region_years: dict[str, set[int]] = {}
        for c in doc_chunks:
            if c.region:
                self.region_years.setdefault(c.region, set()).update(c.years)

    # --- helpers the extractive answerer is given ---------------------------------------------------------
    def semantic(self, question: str, sentences: Sequence[str]) -> list[float]:
        """Cosine of the question with each sentence (e5 query/passage prompts), sentence vectors cached."""
        assert self.embedder is not None
        missing = [s for s in dict.fromkeys(sentences) if s not in self._vectors]
        if missing:
            for text, vector in zip(missing, self.embedder.encode_passages(missing)):
                self._vectors[text] = vector
            while len(self._vectors) > SENTENCE_CACHE:
                self._vectors.popitem(last=False)
        q = self.embedder.encode_query(question)  # cached by the Embedder
        return [float(np.dot(q, self._vectors[s])) for s in sentences]

    def chunks_after(self, chunk: Chunk, limit: int = 12) -> list[Chunk]:
        """The items an announcing chunk introduces: the rest of its list, else the passages below its heading
        (chunks that follow it in the document while their breadcrumb extends its own)."""
        pos = self.positions.get(chunk.chunk_id)
        if pos is None:
            return []
        out: list[Chunk] = []
        if chunk.list_id:
            for nxt in self.chunks[pos + 1 : pos + 1 + limit]:
                if nxt.doc_id != chunk.doc_id or nxt.list_id != chunk.list_id:
                    break
                out.append(nxt)
            return out
        depth = len(chunk.breadcrumb)
        heading = chunk.breadcrumb + ((chunk.body.strip(),) if chunk.kind == "heading" else ())
        child = len(heading) - (chunk.kind == "heading") + 1  # the breadcrumb length that names a child heading
        for nxt in self.chunks[pos + 1 : pos + 1 + 10 * limit]:
            if nxt.doc_id != chunk.doc_id or nxt.breadcrumb[:depth] != chunk.breadcrumb:
                break
            if nxt.kind == "heading" or (len(nxt.breadcrumb) >= child and nxt.breadcrumb[-1:] != chunk.breadcrumb[-1:]):
                # a child heading starts an item: keep its first passage (or the heading itself); the passages
                # of its own sub-headings belong to that item
                if not out or out[-1].breadcrumb[:child] != nxt.breadcrumb[:child] or nxt.kind == "heading":
                    out.append(nxt)
            if len(out) >= limit:
                break
        return out

    def section_rest(self, chunk: Chunk, limit: int = 2) -> list[Chunk]:
        """The passages that continue a passage's section: the next chunks of its document under the same headings."""
        pos = self.positions.get(chunk.chunk_id)
        if pos is None or not chunk.breadcrumb:
            return []
        out = []
        for nxt in self.chunks[pos + 1 : pos + 1 + limit]:
            if nxt.doc_id != chunk.doc_id or nxt.breadcrumb != chunk.breadcrumb or nxt.kind not in ("text", "list_item"):
                break
            out.append(nxt)
        return out

    def _year_not_covered(self, query: Query, hits: Sequence[Hit]) -> bool:
        """No document of the asked place covers the asked year (「滨江2024年…」 with reports of 2021 and 2025),
        and no retrieved passage of that place names the year (a 2021 report may state a 2020 figure)."""
        if not query.years or not query.regions:
            return False
        covered = set().union(*(self.region_years.get(r, set()) for r in query.regions))
        if not covered or covered & set(query.years):
            return False
        written = {f"{y}年" for y in query.years}
        return not any(w in h.chunk.indexed_text for h in hits if h.chunk.region in query.regions for w in written)

    # --- routing -------------------------------------------------------------------------------------------
    def status_facts(self, query: Query, allows: Callable[[Chunk], bool] | None = None) -> list[Fact]:
        """The facts a status question is about; [] for any other question."""
        status = match_status_question(query)
        if status is None:
            return []
        return select_records(status, self._allowed(allows))

    def _allowed(self, allows: Callable[[Chunk], bool] | None) -> list[Fact]:
        return [f for f in self.facts if allows is None or allows(self.chunks_by_id[f.chunk_id])]

    def extractive(self, query: Query, hits: list[Hit], *, part: bool = False):
        return compose(query, hits, semantic=self.semantic if self.embedder is not None else None,
                       chunks_after=self.chunks_after, covered=self.covered, section_rest=self.section_rest,
                       veto=not part)

    def run(self, query: Query, hits: list[Hit], *, allows: Callable[[Chunk], bool] | None = None,
            on_token: Callable[[str], None] | None = None, use_llm: bool = True,
            search: SearchFn | None = None) -> Answer:
        if not query.parts and self._year_not_covered(query, hits):
            years = "、".join(f"{y}年" for y in sorted(query.years))
            return decline(query, hits, f"已索引的{'、'.join(sorted(query.regions))}文档不涉及{years}。{self.covered}")
        # A place no document is about: only sentences naming it may answer (extractive), never a table's facts
        # or a list of another place's report.
        elsewhere = bool(query.unknown_places) and not query.regions
        status = None if elsewhere else match_status_question(query)
        if status is not None:
            facts = self._allowed(allows)
            answer = answer_status_question(status, facts, self.chunks_by_id, query.raw)
            if answer is not None:
                return _with_passages(answer, hits, query)
            fallback, _ = self.extractive(query, hits)
            answer = no_status_answer(status, facts, self.chunks_by_id, query, fallback)
            if answer is not None:
                return answer
        if query.parts and search is not None:
            parts = []
            for part in query.parts:
                part_hits = search(part)
                parts.append((part, *self.extractive(part, part_hits, part=True)))
            return merge_parts(query, parts)
        if use_llm and self.settings.llm_enabled:
            # Streams pieces to on_token; falls back to the extractive answer (with a notice) if the LLM fails.
            return answer_with_fallback(query, hits, self.settings, on_token=on_token)
        listed = None if elsewhere else answer_list(query, hits, self.lister)
        if listed is not None:
            return listed
        return self.extractive(query, hits)[0]


def _coverage(chunks: Sequence[Chunk]) -> str:
    """What the indexed documents cover, for a decline: 「文档覆盖：滨江区（2021、2022年）…」."""
    years: dict[str, set[int]] = {}
    for c in chunks:
        if c.region:
            years.setdefault(c.region, set()).update(c.years)
    if not years or len(years) > 12:
        return ""
    parts = [f"{r}（{'、'.join(str(y) for y in sorted(ys))}年）" if ys else r for r, ys in sorted(years.items())]
    return "文档覆盖：" + "；".join(parts) + "。"


def _with_passages(answer: Answer, hits: list[Hit], query: Query) -> Answer:
    """The fact citations first, then the retrieved passages not already cited, numbered on."""
    cited = {c.hit.chunk.chunk_id for c in answer.citations}
    extra = [h for h in hits if h.chunk.chunk_id not in cited]
    start = len(answer.citations)
    more = tuple(Citation(start + k + 1, h) for k, h in enumerate(extra[:EXTRA_PASSAGES]))
    return Answer(answer.question, answer.text, answer.citations + more, answer.found, answer.notice,
                  facts=answer.facts, evidence=answer.evidence, query=query, method=answer.method)

