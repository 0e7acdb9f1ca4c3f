"""Answers a person can use, on the real seeds and the whole eval set (real model, real index).

The eval's answer strings are the ground truth: the direct answer line leads with the asked figure,
every number an answer shows is in the passage it cites, questions about places no document covers
are declined, no answer gives another place's figure, and `ask` stays fast.
"""

from __future__ import annotations

import pytest

from rag.config import PROJECT_ROOT
from rag.evaluation.metrics import (
    NOT_FOUND,
    contains_answer,
    evaluate_answers,
    judge_answer,
    load_questions,
    unsupported_numbers,
)

QUESTIONS = load_questions(PROJECT_ROOT / "eval" / "questions.jsonl")


@pytest.fixture(scope="module")
def answers(engine):
    """Every eval question asked once (extractive), with its answer."""
    return {q.id: engine.ask(q.question, llm=False) for q in QUESTIONS}


def test_every_number_shown_is_in_the_passage_it_cites(answers) -> None:
    bad = {qid: unsupported_numbers(a) for qid, a in answers.items() if a.found and unsupported_numbers(a)}
    assert not bad, bad


def test_no_answer_gives_another_places_figure(answers) -> None:
    wrong = [q.id for q in QUESTIONS if judge_answer(q, answers[q.id]).other_place]
    assert wrong == []


def test_answer_accuracy_on_the_seed_eval(answers) -> None:
    judged = [judge_answer(q, answers[q.id]) for q in QUESTIONS]
    answerable = [j for j in judged if not j.question.must_decline]
    declining = [j for j in judged if j.question.must_decline]
    # Measured 0.992 / 1.000 on the seeds, every kind >= 0.94 (issue 15; before: 0.617 / 0.857, then 0.864 / 0.929,
    # 0.911 / 1.000, 0.928 / 1.000); these floors are the and catch a regression.
    assert sum(j.correct for j in answerable) / len(answerable) >= 0.95
    assert sum(j.correct for j in declining) / len(declining) >= 0.95
    by_kind = {}
    for j in judged:
        by_kind.setdefault(j.question.kind, []).append(j.correct)
    for kind, results in by_kind.items():
        assert sum(results) / len(results) >= 0.9, kind


def test_the_answer_leads_with_the_figure_asked(engine) -> None:
    answer = engine.ask("滨江2021年GDP是多少", llm=False)
    first = answer.text.splitlines()[0]
    assert first.startswith("滨江区") and "2021年" in first and first.endswith("[1]")
    assert contains_answer(first, "2022.6亿元") and "目标" not in first  # the result asked, not the targets
    growth = engine.ask("余杭2021年GDP实际增长多少", llm=False).text.splitlines()[0]
    assert contains_answer(growth, "7.5%") and contains_answer(growth, "地区生产总值")


def test_two_places_are_answered_each_with_its_citation_and_compared(engine) -> None:
    answer = engine.ask("滨江和余杭2021年谁的GDP更高", llm=False)
    assert contains_answer(answer.text, "2022.6亿元") and contains_answer(answer.text, "2502.2亿元")
    verdict = [line for line in answer.text.splitlines() if line.startswith("比较")]
    assert verdict and ("余杭区（2502.2亿元" in verdict[0] and "高于滨江区" in verdict[0]
                        or "滨江区（2022.6亿元" in verdict[0] and "低于余杭区" in verdict[0])
    regions = {c.hit.chunk.region for c in answer.citations}
    assert {"滨江区", "余杭区"} <= regions


def test_a_city_no_document_covers_is_declined_with_what_is_covered(engine) -> None:
    for question in ("广州市2025年地区生产总值是多少", "杭州市2021年GDP是多少", "西湖区2021年地区生产总值是多少"):
        answer = engine.ask(question, llm=False)
        assert not answer.found and answer.text.startswith(NOT_FOUND), question
        assert "文档覆盖" in answer.text


def test_status_questions_beyond_the_gongshu_annex(engine) -> None:
    none_missed = engine.ask("滨江2021年主要指标有哪些没完成目标", llm=False)
    assert none_missed.found and "没有未完成的指标" in none_missed.text and none_missed.facts
    no_table = engine.ask("余杭2021年哪些指标没有完成", llm=False)
    assert no_table.found and "没有指标完成情况表" in no_table.text


def test_a_list_question_gets_every_item(engine) -> None:
    answer = engine.ask("拱墅2023年主要措施从哪几个方面展开", llm=False)
    for item in ("发展新活力", "增长新潜能", "城区新形象", "共富新期待"):
        assert item in answer.text


def test_answer_evaluation_report_and_latency(engine) -> None:
    sample = [q for q in QUESTIONS if q.kind in ("number", "unanswerable")]
    report = evaluate_answers(sample, lambda q: engine.ask(q, llm=False))
    assert report["other_place_figures"] == 0 and report["unsupported_numbers"] == 0
    assert report["by_kind"]["number"]["accuracy"] >= 0.9
    assert report["latency_p95_ms"] <= 150


def test_a_measures_question_gets_its_paragraph_and_a_figure_not_out_is_declined(engine) -> None:
    measures = engine.ask("拱墅2023年优化营商环境有哪些措施", llm=False)
    assert measures.found and "一号改革工程" in measures.text and "1call" in measures.text
    not_out = engine.ask("滨江2025年上半年GDP增长多少", llm=False)
    assert not not_out.found and not_out.text.startswith(NOT_FOUND) and "尚未" in not_out.text
