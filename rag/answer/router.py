"""The router: one parsed question and its hits in, one `Answer` out, from the answerer that fits.

Status questions (哪些指标未完成 …) are answered from the index's facts; otherwise an LLM writes the
answer when one is configured (falling back to the extractive answer if it fails), else the
extractive answerer quotes the sentences and rows that answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rag.answer.extractive import answer_question
from rag.answer.llm import answer_with_fallback
from rag.answer.status import answer_status_question, match_status_question, select_records
from rag.config import Settings
from rag.records import Answer, Chunk, Citation, Fact, Hit, Query

EXTRA_PASSAGES = 3  # retrieved passages shown after a status table's own citations


class AnswerRouter:
    def __init__(self, settings: Settings, facts: Sequence[Fact], chunks: Sequence[Chunk]) -> None:
        self.settings = settings
        self.facts = list(facts)
        self.chunks_by_id = {c.chunk_id: c for c in chunks}

    def status_facts(self, query: Query, allows: Callable[[Chunk], bool] | None = None) -> list[Fact]:
        """The facts a status question is about; [] for any other question."""
        status = match_status_question(query)
        if status is None:
            return []
        return select_records(status, self._allowed(allows))

    def _allowed(self, allows: Callable[[Chunk], bool] | None) -> list[Fact]:
        return [f for f in self.facts if allows is None or allows(self.chunks_by_id[f.chunk_id])]

    def run(self, query: Query, hits: list[Hit], *, allows: Callable[[Chunk], bool] | None = None,
            on_token: Callable[[str], None] | None = None) -> Answer:
        status = match_status_question(query)
        if status is not None:
            answer = answer_status_question(status, self._allowed(allows), self.chunks_by_id, query.raw)
            if answer is not None:
                return _with_passages(answer, hits, query)
        if self.settings.llm_enabled:
            # Streams pieces to on_token; falls back to the extractive answer (with a notice) if the LLM fails.
            return answer_with_fallback(query, hits, self.settings, on_token=on_token)
        return answer_question(query, hits)


def _with_passages(answer: Answer, hits: list[Hit], query: Query) -> Answer:
    """The fact citations first, then the retrieved passages not already cited, numbered on."""
    cited = {c.hit.chunk.chunk_id for c in answer.citations}
    extra = [h for h in hits if h.chunk.chunk_id not in cited]
    start = len(answer.citations)
    more = tuple(Citation(start + k + 1, h) for k, h in enumerate(extra[:EXTRA_PASSAGES]))
    return Answer(answer.question, answer.text, answer.citations + more, answer.found, answer.notice,
                  facts=answer.facts, evidence=answer.evidence, query=query, method=answer.method)
