"""The direct answer line, question parts, comparisons and list counts, on real sentences of the seeds."""

from __future__ import annotations

import pytest

from rag.answer.extractive import Sentence, lead_line
from rag.answer.lists import asked_count
from rag.answer.parts import compare_line
from rag.records import Answer, Chunk, Hit
from rag.search.query import parse_query

REGIONS = ["滨江区", "余杭区", "拱墅区", "钱塘新区"]
BINJIANG = "地区生产总值首次突破2000亿元大关、达2022.6亿元,增长11.3%,实现五年翻番;规上工业增加值771.1亿元,增长16.6%,总量全市第1。"
YUHANG = "全年實現地區生產總值2502.2億元、增長7.5%;完成財政總收入745.31億元、一般公共預算收入375.69億元,分別增長15.23%、14.01%。"
YUHANG_S = "全年实现地区生产总值2502.2亿元、增长7.5%;完成财政总收入745.31亿元、一般公共预算收入375.69亿元,分别增长15.23%、14.01%。"


def _hit(display: str, search: str, region: str, cid: str) -> Hit:
    return Hit(1, 1.0, Chunk(cid, cid.split("#")[0], "text", 0, len(display), display, search, region=region,
                             years=(2021, 2022)))


def _lead(question: str, display: str, search: str, region: str):
    query = parse_query(question, REGIONS)
    hit = _hit(display, search, region, f"{region}#1")
    return query, lead_line(query, Sentence(hit, display, 1.0, search))


def test_the_lead_states_value_and_growth_in_the_passage_words() -> None:
    _q, lead = _lead("滨江2021年GDP是多少", BINJIANG, BINJIANG, "滨江区")
    assert lead is not None
    assert lead.text.startswith("滨江区2021年地区生产总值")
    assert "2022.6亿元" in lead.text and "11.3%" in lead.text and "771.1" not in lead.text
    assert lead.figure == "2022.6亿元" and lead.unit == "亿元"  # not the threshold 「突破2000亿元」


def test_the_lead_picks_the_growth_rate_when_growth_is_asked() -> None:
    _q, lead = _lead("余杭2021年GDP增长多少", YUHANG, YUHANG_S, "余杭区")
    assert lead is not None and lead.figure == "7.5%"
    assert "2502.2億元" in lead.text  # the document's own characters are kept


@pytest.mark.parametrize(("question", "parts"), [
    ("滨江和余杭2021年GDP各是多少", {"余杭2021年GDP各是多少", "滨江2021年GDP各是多少"}),
    ("余杭2021年财政总收入和一般公共预算收入分别多少", {"余杭2021年财政总收入多少", "余杭2021年一般公共预算收入多少"}),
    ("余杭2021年新增城镇就业多少,2022年目标多少", {"余杭2021年新增城镇就业多少", "余杭2022年新增城镇就业目标多少"}),
    ("钱塘新区2019年和滨江2021年一般公共预算收入谁高", {"滨江2021年一般公共预算收入", "钱塘新区2019年一般公共预算收入"}),
    ("余杭2021年城镇和农村居民人均可支配收入各多少", {"余杭2021年城镇居民人均可支配收入多少", "余杭2021年农村居民人均可支配收入多少"}),
])
def test_a_question_of_two_parts_is_split_into_questions_of_their_own(question: str, parts: set[str]) -> None:
    query = parse_query(question, REGIONS)
    assert {p.raw for p in query.parts} == parts
    assert all(len(p.regions) <= 1 and len(p.years) <= 1 for p in query.parts)


def test_one_part_questions_have_no_parts() -> None:
    assert parse_query("滨江2021年GDP是多少", REGIONS).parts == ()
    assert parse_query("滨江2021年规上工业增加值区里定的年度目标是多少", REGIONS).unknown_places == frozenset()


def test_comparison_only_of_figures_with_the_same_unit() -> None:
    whole = parse_query("滨江和余杭2021年谁的GDP更高", REGIONS)
    by_region = {next(iter(p.regions)): p for p in whole.parts}
    q1, lead_b = _lead("滨江2021年GDP是多少", BINJIANG, BINJIANG, "滨江区")
    q2, lead_y = _lead("余杭2021年GDP是多少", YUHANG, YUHANG_S, "余杭区")
    found = Answer("q", "x", (), True)
    numbers = iter(range(1, 10))
    line = compare_line(whole, [(by_region["滨江区"], found, lead_b), (by_region["余杭区"], found, lead_y)],
                        lambda hit: next(numbers))
    assert "低于" in line and "2022.6亿元" in line and "2502.2亿元" in line
    _q, growth = _lead("余杭2021年GDP增长多少", YUHANG, YUHANG_S, "余杭区")
    line = compare_line(whole, [(by_region["滨江区"], found, lead_b), (by_region["余杭区"], found, growth)],
                        lambda hit: 1)
    assert "不可直接比较" in line


@pytest.mark.parametrize(("text", "count"), [("余杭2022年要抓好哪八方面工作", 8), ("实施十大战略", 10),
                                             ("哪几个方面", None), ("重点抓好12个方面工作", 12)])
def test_the_number_of_items_a_question_names(text: str, count: int | None) -> None:
    assert asked_count(text) == count
