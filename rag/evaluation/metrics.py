"""Retrieval evaluation: evidence-scored metrics per mode and per kind of question.

A retrieved passage is relevant when, after normalisation (NFKC, Traditional->Simplified, no
whitespace), it contains one of the question's evidence strings and comes from a gold document.
Scoring by evidence rather than by chunk id keeps the set valid whatever the chunker does.

- hit@k: some evidence in the top k.           - MRR@10: 1 / rank of the first relevant passage.
- nDCG@10: each passage gains the share of evidence strings it adds, discounted by log2(rank+1);
  the ideal is one passage holding all evidence at rank 1.
- coverage@10: share of evidence strings found in the top 10 (list and cross-document questions).
- doc hit@5: a gold document among the documents of the top 5.
Unanswerable questions (no gold) are left out of retrieval metrics; the answer layer is scored on
them instead: does `ask` say 「未在文档中找到」?
"""

from __future__ import annotations

import json
import math
import re
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from rag.records import Hit
from rag.zh import to_simplified

K_VALUES = (1, 3, 5, 10)
LIST_KINDS = ("list", "cross_doc")


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    kind: str
    gold_docs: tuple[str, ...]
    evidence: tuple[str, ...]

    @property
    def answerable(self) -> bool:
        return bool(self.evidence)


def load_questions(path) -> list[Question]:
    questions = []
    with open(path, encoding="utf-8") as handle:
        for n, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                questions.append(
                    Question(row["id"], row["question"], row.get("kind", "other"), tuple(row.get("gold_docs", ())),
                             tuple(row.get("evidence", ())))
                )
            except (json.JSONDecodeError, KeyError) as exc:
                raise ValueError(f"{path}:{n}: not a valid question line ({exc}).") from exc
    return questions


@lru_cache(maxsize=65536)
def normalize_for_match(text: str) -> str:
    import unicodedata

    return re.sub(r"\s+", "", to_simplified(unicodedata.normalize("NFKC", text)))


def _doc_matches(doc_id: str, gold: Sequence[str]) -> bool:
    return not gold or any(doc_id == g or doc_id.endswith("/" + g) or doc_id.startswith(g) for g in gold)


@dataclass
class QuestionResult:
    question: Question
    found_at: list[set[int]]  # per rank: indices of evidence strings found in that passage
    doc_ids: list[str]
    latency_ms: float

    def first_relevant(self) -> int | None:
        for rank, found in enumerate(self.found_at, start=1):
            if found:
                return rank
        return None


def judge(question: Question, hits: Sequence[Hit], latency_ms: float) -> QuestionResult:
    evidence = [normalize_for_match(e) for e in question.evidence]
    found_at = []
    for hit in hits:
        if not _doc_matches(hit.chunk.doc_id, question.gold_docs):
            found_at.append(set())
            continue
        text = normalize_for_match(hit.chunk.display_text)
        found_at.append({i for i, e in enumerate(evidence) if e and e in text})
    return QuestionResult(question, found_at, [h.chunk.doc_id for h in hits], latency_ms)


@dataclass
class Metrics:
    n: int = 0
    hit: dict[int, float] = field(default_factory=dict)
    mrr10: float = 0.0
    ndcg10: float = 0.0
    coverage10: float | None = None
    doc_hit5: float = 0.0
    latency_p50_ms: float = 0.0
    latency_p95_ms: float = 0.0

    def to_dict(self) -> dict:
        out = {"n": self.n, **{f"hit@{k}": round(v, 4) for k, v in self.hit.items()}, "mrr@10": round(self.mrr10, 4),
               "ndcg@10": round(self.ndcg10, 4), "doc_hit@5": round(self.doc_hit5, 4),
               "latency_p50_ms": round(self.latency_p50_ms, 1), "latency_p95_ms": round(self.latency_p95_ms, 1)}
        out["coverage@10"] = None if self.coverage10 is None else round(self.coverage10, 4)
        return out


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def aggregate(results: Sequence[QuestionResult]) -> Metrics:
    scored = [r for r in results if r.question.answerable]
    m = Metrics(n=len(scored))
    if not scored:
        return m
    for k in K_VALUES:
        m.hit[k] = sum(1 for r in scored if any(r.found_at[:k])) / len(scored)
    mrr, ndcg, doc_hit = 0.0, 0.0, 0
    for r in scored:
        first = r.first_relevant()
        if first is not None and first <= 10:
            mrr += 1.0 / first
        seen: set[int] = set()
        total = len(r.question.evidence)
        for rank, found in enumerate(r.found_at[:10], start=1):
            new = found - seen
            seen |= found
            ndcg += (len(new) / total) / math.log2(rank + 1)
        doc_hit += any(_doc_matches(d, r.question.gold_docs) for d in r.doc_ids[:5])
    m.mrr10, m.ndcg10, m.doc_hit5 = mrr / len(scored), ndcg / len(scored), doc_hit / len(scored)
    lists = [r for r in scored if r.question.kind in LIST_KINDS]
    if lists:
        m.coverage10 = statistics.fmean(
            len(set().union(*r.found_at[:10])) / len(r.question.evidence) if r.found_at else 0.0 for r in lists
        )
    latencies = [r.latency_ms for r in results]
    m.latency_p50_ms, m.latency_p95_ms = _percentile(latencies, 0.5), _percentile(latencies, 0.95)
    return m


SearchFn = Callable[[str], list[Hit]]


def run_questions(questions: Sequence[Question], search: SearchFn) -> list[QuestionResult]:
    results = []
    for q in questions:
        started = time.perf_counter()
        hits = search(q.question)
        results.append(judge(q, hits, (time.perf_counter() - started) * 1000))
    return results


def by_kind(results: Sequence[QuestionResult]) -> dict[str, Metrics]:
    groups: dict[str, list[QuestionResult]] = defaultdict(list)
    for r in results:
        groups[r.question.kind].append(r)
    return {kind: aggregate(rs) for kind, rs in sorted(groups.items())}
