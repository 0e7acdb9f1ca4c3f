"""Retrieval evaluation: evidence-scored metrics per mode and per kind of question.

A retrieved passage is relevant when, after normalisation (NFKC, Traditional->Simplified, no
whitespace), it contains one of the question's evidence strings and comes from a gold document; a
passage is its text and the headings shown above it (not the document title).
Scoring by evidence rather than by chunk id keeps the set valid whatever the chunker does.

- hit@k: some evidence in the top k.           - MRR@10: 1 / rank of the first relevant passage.
- nDCG@10: each passage gains the share of evidence strings it adds, discounted by log2(rank+1);
  the ideal is one passage holding all evidence at rank 1.
- coverage@10: share of evidence strings found in the top 10 (list and cross-document questions).
- doc hit@1 / @5: a gold document first / among the documents of the top 5 (the right report).
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

from rag.ingest.clean import strip_pinyin_ruby
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
    answer: tuple[str, ...] = ()  # strings a correct answer must contain, all of them
    expect: str = ""  # no_table, all_met, partial: what a correct answer does beyond `answer`
    note: str = ""

    @property
    def answerable(self) -> bool:
        return bool(self.evidence)

    @property
    def must_decline(self) -> bool:
        """No document answers it and nothing else is expected: the answer must be 「未在文档中找到」."""
        return not self.gold_docs and not self.answer and self.expect not in ("no_table", "all_met")


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
                             tuple(row.get("evidence", ())), tuple(row.get("answer", ())), row.get("expect", ""),
                             row.get("note", ""))
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
        # What a hit shows: its headings (above it in the chat and the CLI; the document title aside)
        # and its text. An enumeration whose items are sub-headings is found under them, though no
        # chunk body repeats a heading.
        text = normalize_for_match("\n".join((*hit.chunk.display_breadcrumb, hit.chunk.display_text)))
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
    doc_hit1: float = 0.0  # the right document (report) at rank 1
    latency_p50_ms: float = 0.0
    latency_p95_ms: float = 0.0

    def to_dict(self) -> dict:
        out = {"n": self.n, **{f"hit@{k}": round(v, 4) for k, v in self.hit.items()}, "mrr@10": round(self.mrr10, 4),
               "ndcg@10": round(self.ndcg10, 4), "doc_hit@1": round(self.doc_hit1, 4), "doc_hit@5": round(self.doc_hit5, 4),
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
    mrr, ndcg, doc_hit, doc_first = 0.0, 0.0, 0, 0
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
        doc_first += bool(r.doc_ids) and _doc_matches(r.doc_ids[0], r.question.gold_docs)
    m.mrr10, m.ndcg10, m.doc_hit5 = mrr / len(scored), ndcg / len(scored), doc_hit / len(scored)
    m.doc_hit1 = doc_first / len(scored)
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


# --- answer-level evaluation --------------------------------------------------------------------
# An answer is judged on what a person reads: does its text contain every expected string, does each
# figure's citation point at a passage that holds that figure, is a question no document answers
# declined, and does it never give a figure for another place than the one asked.

NOT_FOUND = "未在文档中找到"
_MARKER = re.compile(r"\[(\d+)\]")
_FIGURE = re.compile(r"(?<![\d.])\d+(?:\.\d+)?")  # unsigned: a list bullet 「- 」 is no minus sign
_NO_TABLE = re.compile(r"没有.{0,12}(?:完成情况|完成率|目标完成|指标完成|完成).{0,6}表|(?:不含|未列|没有列出|无).{0,8}(?:完成情况|完成率)")
_ALL_MET = re.compile(r"(?:均|全部|都)(?:已?(?:完成|达到|超过|达标))|没有(?:未完成|没完成)|无未完成|未完成的指标共\s*0")
_COMPARISON = re.compile(r"(?:更|略|明显|较)(?:高|低|多|少|快|慢|大|小)|高于|低于|多于|少于|快于|慢于|大于|小于|相同|相等|持平|不可比")


def normalize_answer(text: str) -> str:
    """Like `normalize_for_match`, and pinyin ruby annotations removed."""
    return normalize_for_match(strip_pinyin_ruby(text))  # 區(qū) -> 区, as cleaning does


def _bounded(needle: str) -> re.Pattern[str]:
    """A pattern for `needle` that, where it begins or ends with a digit, does not match inside a longer number."""
    start = r"(?<![\d.])" if needle[:1].isdigit() else ""
    end = r"(?![\d.]?\d)" if needle[-1:].isdigit() else ""
    return re.compile(start + re.escape(needle) + end)


def contains_answer(text: str, expected: str) -> bool:
    """Does the answer text contain `expected` (normalised), on number boundaries (「2%」 is not in 「11.2%」)?"""
    needle = normalize_answer(expected)
    return bool(needle) and bool(_bounded(needle).search(normalize_answer(text)))


def answer_contains_gold(answer_text: str, gold: Sequence[str]) -> bool:
    """SQuAD-style benchmarks (DRCD, CMRC): does the shown answer contain one of the gold answer spans?"""
    return any(contains_answer(answer_text, g) for g in gold if g)


def declined(answer) -> bool:
    """The answer says the documents do not answer (a partial answer that names a missing part is not a decline)."""
    return not answer.found or answer.text.strip().startswith(NOT_FOUND)


def _passages(answer) -> dict[int, str]:
    return {c.number: normalize_answer(c.hit.chunk.display_text) for c in answer.citations}


def _holds(passage: str, figure: str) -> bool:
    """The passage holds the figure: as written, or — a table row states units in its name or header
    (「实际利用外资(亿美元) | 9.1」) — its number on number boundaries and its unit."""
    if figure in passage:
        return True
    number = _FIGURE.match(figure)
    if number is None:
        return False
    unit = figure[number.end():]
    return bool(_bounded(number.group(0)).search(passage)) and (not unit or unit in passage)


def cited_for(answer, expected: str) -> bool:
    """Is the figure `expected` followed, on its line, by a citation to a passage that holds it?"""
    needle = normalize_answer(expected)
    passages = _passages(answer)
    for line in answer.text.split("\n"):
        text = normalize_answer(line)
        for match in _bounded(needle).finditer(text):
            marker = _MARKER.search(text, match.end())
            if marker and _holds(passages.get(int(marker.group(1)), ""), needle):
                return True
    return False


def unsupported_numbers(answer) -> list[str]:
    """Numbers shown in an answer's cited segments that the passages they cite do not contain verbatim.

    A segment is the text of a line between two citation markers (or the line's start and a marker); every
    figure in it — years written as 「2021年」 aside, they may come from the document's date — must appear
    in one of the passages its closing markers (「[1][2]」) cite.
    """
    passages = _passages(answer)
    bad = []
    for line in normalize_answer(answer.text.replace("\n", "¶")).split("¶"):
        start = 0
        markers = list(_MARKER.finditer(line))
        for i, marker in enumerate(markers):
            segment = line[start : marker.start()]
            start = marker.end()
            if not segment:
                continue  # 「[1][2]」: the second marker closes the same segment
            closing = [int(marker.group(1))]
            for nxt in markers[i + 1 :]:
                if nxt.start() != closing_end(markers, i, len(closing)):
                    break
                closing.append(int(nxt.group(1)))
            cited = [passages.get(n, "") for n in closing]
            for figure in _FIGURE.finditer(segment):
                if segment[figure.end() : figure.end() + 1] == "年" and len(figure.group(0)) == 4:
                    continue
                value = figure.group(0).lstrip("+")
                if not any(_bounded(value).search(p) for p in cited):
                    bad.append(value)
    return bad


def closing_end(markers: list[re.Match[str]], i: int, count: int) -> int:
    """Where the run of `count` markers starting at markers[i] ends."""
    return markers[i + count - 1].end()


@dataclass
class AnswerJudgement:
    question: Question
    correct: bool
    declined: bool
    missing: list[str]
    uncited: list[str]
    other_place: bool
    unsupported: list[str]
    latency_ms: float
    text: str


def _other_place(question: Question, answer) -> bool:
    """A figure given for a place the question did not ask about: a decline-expected question about a place no
    document covers answered with a number, or a figure cited from a passage of another region than the one asked."""
    if declined(answer):
        return False
    query = answer.query
    has_figure = bool(_FIGURE.search(_MARKER.sub("", normalize_answer(answer.text))))
    if not has_figure:
        return False
    if query is not None and query.unknown_places and question.must_decline:
        return True
    if query is None or not query.regions:
        return False
    numbers = {int(n) for n in _MARKER.findall(answer.text)}
    return any(c.number in numbers and c.hit.chunk.region and c.hit.chunk.region not in query.regions
               for c in answer.citations)


def judge_answer(question: Question, answer, latency_ms: float = 0.0) -> AnswerJudgement:
    text = answer.text
    is_declined = declined(answer)
    missing = [a for a in question.answer if not contains_answer(text, a)]
    uncited = [a for a in question.answer if a not in missing and any(ch.isdigit() for ch in a)
               and not cited_for(answer, a)]
    if question.must_decline:
        correct = is_declined
    elif question.expect == "no_table":
        correct = bool(_NO_TABLE.search(normalize_answer(text)))
    elif question.expect == "all_met":
        correct = not is_declined and bool(_ALL_MET.search(normalize_answer(text)))
    else:
        correct = not is_declined and not missing and not uncited
        if question.expect == "partial":
            correct = correct and NOT_FOUND in text
        if correct and question.kind == "compare":
            correct = bool(_COMPARISON.search(normalize_answer(text)))
    return AnswerJudgement(question, correct, is_declined, missing, uncited, _other_place(question, answer),
                           unsupported_numbers(answer) if not is_declined else [], latency_ms, text)


def answer_summary(judgements: Sequence[AnswerJudgement]) -> dict:
    """Answer accuracy overall, on answerable questions, per kind; declines; other-place figures; latency."""
    def rate(items: Sequence[AnswerJudgement]) -> float | None:
        return round(sum(j.correct for j in items) / len(items), 4) if items else None

    answerable = [j for j in judgements if not j.question.must_decline]
    declining = [j for j in judgements if j.question.must_decline]
    kinds: dict[str, list[AnswerJudgement]] = defaultdict(list)
    for j in judgements:
        kinds[j.question.kind].append(j)
    latencies = [j.latency_ms for j in judgements]
    return {
        "n": len(judgements),
        "accuracy": rate(judgements),
        "answerable_n": len(answerable),
        "answerable_accuracy": rate(answerable),
        "decline_n": len(declining),
        "declined": rate(declining),
        "answerable_declined": round(sum(j.declined for j in answerable) / max(1, len(answerable)), 4),
        "other_place_figures": sum(j.other_place for j in judgements),
        "unsupported_numbers": sum(bool(j.unsupported) for j in judgements),
        "by_kind": {k: {"n": len(v), "accuracy": rate(v)} for k, v in sorted(kinds.items())},
        "latency_p50_ms": round(_percentile(latencies, 0.5), 1),
        "latency_p95_ms": round(_percentile(latencies, 0.95), 1),
        "failures": [{"id": j.question.id, "missing": j.missing, "uncited": j.uncited, "declined": j.declined,
                      "other_place": j.other_place} for j in judgements if not j.correct or j.other_place],
    }


def evaluate_answers(questions: Sequence[Question], ask: Callable) -> dict:
    """Run every question through `ask` (question -> Answer) and judge the answers."""
    judgements = []
    for q in questions:
        started = time.perf_counter()
        answer = ask(q.question)
        judgements.append(judge_answer(q, answer, (time.perf_counter() - started) * 1000))
    return answer_summary(judgements)
