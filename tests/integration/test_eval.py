"""The eval set runs end to end, and retrieval quality never falls below the measured floor."""

from __future__ import annotations

import json

from rag.config import PROJECT_ROOT
from rag.evaluation.metrics import Question, aggregate, by_kind, judge, load_questions, run_questions
from rag.evaluation.run import markdown_report, write_report
from rag.records import Chunk, Hit

QUESTIONS = PROJECT_ROOT / "eval" / "questions.jsonl"
# Regression floors, set a little below the values measured when they were last raised
# (see eval/reports/latest.md): a change that loses retrieval quality fails here.
# Raised with the in-scope rankers and the query-adaptive lexical weight (issue 14): measured hit@1 0.828,
# hit@5 0.993, MRR@10 0.894 on these kinds; then with report parts read right (「计划执行情况」 reviews its
# year): 0.866 / 0.993 / 0.918; then with rows named by indicator and column (「…完成率」) and everyday words
# reworded: 0.903 / 0.993 / 0.942; unanswerable declined 1.000 (rag eval, eval/reports/latest.md).
HYBRID_HIT1_FLOOR = 0.88
HYBRID_HIT5_FLOOR = 0.98
HYBRID_MRR10_FLOOR = 0.92
UNANSWERABLE_DECLINED_FLOOR = 0.90
# The retrieval floors are measured on the first nine kinds; the answer-oriented kinds added later
# (paraphrase, multi_part, compare, …) are measured by the answer evaluation.
RETRIEVAL_KINDS = {"number", "table_cell", "list", "trad_source", "trad_query", "cross_doc", "policy", "ambiguous",
                   "unanswerable"}


def _hit(rank: int, doc_id: str, text: str) -> Hit:
    return Hit(rank, 1.0 / rank, Chunk(f"{doc_id}#{rank}", doc_id, "text", 0, len(text), text, text))


def test_eval_set_is_well_formed():
    questions = load_questions(QUESTIONS)
    assert len(questions) >= 120
    kinds = {q.kind for q in questions}
    assert kinds >= {"number", "table_cell", "list", "trad_source", "trad_query", "cross_doc", "policy", "ambiguous",
                     "unanswerable"}
    for kind in kinds:
        assert sum(q.kind == kind for q in questions) >= 10, kind
    assert len({q.id for q in questions}) == len(questions)
    assert all(not q.evidence and not q.gold_docs for q in questions if q.kind == "unanswerable")


def test_metrics_on_a_hand_made_ranking():
    q = Question("x", "问题", "list", ("d1",), ("甲乙", "丙丁"))
    hits = [_hit(1, "d2", "甲乙丙丁"), _hit(2, "d1", "前言 甲乙"), _hit(3, "d1", "丙 丁")]  # d2 is not gold
    result = judge(q, hits, latency_ms=5.0)
    assert result.found_at == [set(), {0}, {1}]  # whitespace is ignored when matching evidence
    m = aggregate([result])
    assert m.hit == {1: 0.0, 3: 1.0, 5: 1.0, 10: 1.0}
    assert m.mrr10 == 0.5
    assert abs(m.ndcg10 - (0.5 / 1.5849625 + 0.5 / 2.0)) < 1e-6
    assert m.coverage10 == 1.0


def test_hybrid_quality_floor_on_seeds(engine, tmp_path):
    questions = [q for q in load_questions(QUESTIONS) if q.kind in RETRIEVAL_KINDS]
    results = run_questions(questions, lambda text: engine.search(text, mode="hybrid", top_k=10))
    overall = aggregate(results)
    assert overall.hit[1] >= HYBRID_HIT1_FLOOR, by_kind(results)
    assert overall.hit[5] >= HYBRID_HIT5_FLOOR, by_kind(results)
    assert overall.mrr10 >= HYBRID_MRR10_FLOOR

    unanswerable = [q for q in questions if not q.evidence]
    declined = sum(not engine.ask(q.question).found for q in unanswerable) / len(unanswerable)
    assert declined >= UNANSWERABLE_DECLINED_FLOOR

    report = {"set": "seeds", "n_questions": len(questions), "created": "test", "model": "e5", "n_chunks": 1,
              "modes": {"hybrid": {"overall": overall.to_dict(),
                                   "by_kind": {k: m.to_dict() for k, m in by_kind(results).items()}}}}
    paths = write_report(report, tmp_path)
    assert "| hybrid |" in markdown_report(report)
    assert paths["png"].stat().st_size > 10_000
    assert json.loads(paths["json"].read_text())["modes"]["hybrid"]["overall"]["n"] == len(questions) - len(unanswerable)
