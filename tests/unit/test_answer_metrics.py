"""The answer evaluation: expected strings on number boundaries, citations that hold their figure, declines."""

from __future__ import annotations

from rag.evaluation.metrics import (
    Question,
    answer_contains_gold,
    cited_for,
    contains_answer,
    declined,
    judge_answer,
    unsupported_numbers,
)
from rag.records import Answer, Chunk, Citation, Hit

# Real sentences of the seeds: 000 (滨江, Simplified) and 002 (余杭, Traditional).
BINJIANG = "地区生产总值首次突破2000亿元大关、达2022.6亿元,增长11.3%,实现五年翻番;规上工业增加值771.1亿元,增长16.6%。"
YUHANG = "全年實現地區生產總值2502.2億元、增長7.5%;完成財政總收入745.31億元。"


def _chunk(cid: str, text: str) -> Chunk:
    return Chunk(cid, cid.split("#")[0], "text", 0, len(text), text, text, region="滨江区")


def _answer(text: str, *passages: str, found: bool = True) -> Answer:
    cites = tuple(Citation(i + 1, Hit(i + 1, 1.0, _chunk(f"d#{i}", p))) for i, p in enumerate(passages))
    return Answer("q", text, cites, found=found)


def _question(answer: tuple[str, ...] = (), kind: str = "number", gold: tuple[str, ...] = ("d",),
              expect: str = "") -> Question:
    return Question("x-001", "q", kind, gold, ("e",) if gold else (), answer, expect)


def test_a_short_figure_does_not_match_inside_a_longer_one() -> None:
    assert not contains_answer("社零增长11.2%", "2%")
    assert not contains_answer("增长17%", "7%")
    assert contains_answer("增长7%,", "7%")
    assert not contains_answer("1596.2亿元", "596.2亿元")
    assert contains_answer("余杭区2021年地区生产总值2502.2亿元", "2502.2亿元")


def test_answers_are_normalised_like_evidence() -> None:
    assert contains_answer(YUHANG, "2502.2亿元")  # Traditional answer, Simplified expected string
    assert contains_answer("２０２２．６ 亿元", "2022.6亿元")  # full-width digits, a space
    assert contains_answer("區(qū)域生產總值", "区域生产总值")  # pinyin ruby dropped


def test_a_figure_counts_only_when_its_citation_holds_it() -> None:
    right = _answer("滨江区2021年地区生产总值2022.6亿元，增长11.3%。[1]", BINJIANG)
    assert cited_for(right, "2022.6亿元") and cited_for(right, "11.3%")
    wrong = _answer("余杭区2021年地区生产总值2502.2亿元。[1]", BINJIANG)
    assert not cited_for(wrong, "2502.2亿元")
    assert not judge_answer(_question(("2502.2亿元",)), wrong).correct
    assert judge_answer(_question(("2022.6亿元", "11.3%")), right).correct


def test_every_shown_number_must_be_in_the_passage_it_cites() -> None:
    good = _answer("- 滨江区2021年地区生产总值2022.6亿元，增长11.3%。[1]\n- 比较：余杭（2502.2亿元[2]）高于滨江（2022.6亿元[1]）。",
                   BINJIANG, YUHANG)
    assert unsupported_numbers(good) == []
    made_up = _answer("滨江区2021年地区生产总值2022.6亿元，相差479.6亿元。[1]", BINJIANG)
    assert unsupported_numbers(made_up) == ["479.6"]


def test_declines_are_judged_by_kind() -> None:
    no = _answer("未在文档中找到能直接回答该问题的内容。", BINJIANG, found=False)
    assert declined(no)
    assert judge_answer(_question(kind="unanswerable", gold=()), no).correct
    partial = _answer("- 3.4万人 [1]\n- 城镇登记失业率：未在文档中找到。", "新增城镇就业3.4万人。")
    assert not declined(partial)
    assert judge_answer(_question(("3.4万人",), kind="multi_part", expect="partial"), partial).correct
    no_table = _answer("余杭区2021年的文档中没有指标完成情况表（目标与实际值的对照）。", YUHANG)
    assert judge_answer(_question(kind="status", expect="no_table"), no_table).correct


def test_a_comparison_needs_its_verdict() -> None:
    both = "- 余杭2502.2亿元。[1]\n- 滨江2022.6亿元。[2]"
    q = _question(("2502.2亿元", "2022.6亿元"), kind="compare")
    assert not judge_answer(q, _answer(both, YUHANG, BINJIANG)).correct
    assert judge_answer(q, _answer(both + "\n比较：余杭高于滨江。", YUHANG, BINJIANG)).correct


def test_gold_span_inside_the_shown_answer() -> None:
    assert answer_contains_gold("- 全年實現地區生產總值2502.2億元 [1]", ["2502.2億元", "7.5%"])
    assert not answer_contains_gold("未在文档中找到", ["2502.2亿元"])
