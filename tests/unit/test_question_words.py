"""What a question asks, read from its words (rag.search.query, rag.zh): real DRCD/CMRC and seed questions."""

from __future__ import annotations

import pytest

from rag.ingest.metadata import _district_counts
from rag.search.query import measure_asked, parse_query
from rag.zh import expand_two_digit_years, normalize_query


@pytest.mark.parametrize(("text", "expanded"), [
    ("滨江21年GDP", "滨江2021年GDP"),
    ("2021年实际和22年目标", "2021年实际和2022年目标"),
    ("民主党失去了在国会两院长达40年的多数派地位", "民主党失去了在国会两院长达40年的多数派地位"),  # DRCD: a span of time
    ("近20年来", "近20年来"),
    ("30年代", "30年代"),
    ("满10年", "满10年"),
])
def test_a_two_digit_year_is_a_year_and_a_span_of_time_is_not(text: str, expanded: str) -> None:
    assert expand_two_digit_years(text) == expanded


@pytest.mark.parametrize("question", [
    "哪一個人為賓州大學的創建人?",  # 大 of 大学 is no comparison
    "誰認為高爾在選舉中採取了民粹主義的風格?",  # 高 of 高尔
    "哪一個事件是日本現代史上最大規模的社會運動?",
    "最早投入夜間作戰的單發動機戰機效率低、折損率高，故後面多採用哪種方式提高效率?",
    "幾何光學，又稱為什麼?",
])
def test_a_question_for_a_person_a_thing_or_a_way_asks_for_no_figure(question: str) -> None:
    assert measure_asked(normalize_query(question)) != "value"


@pytest.mark.parametrize(("question", "measure"), [
    ("滨江2021年GDP是多少", "value"),
    ("钱塘新区2019年GDP和滨江2021年GDP哪个高", "value"),
    ("谁的GDP更高", "value"),
    ("余杭2021年一般公共预算收入", "value"),  # a telegraphic question for a figure
    ("哪个区2021年财政收入多少", "value"),
])
def test_questions_for_a_figure_still_ask_for_one(question: str, measure: str) -> None:
    assert measure_asked(normalize_query(question)) == measure


def test_question_words_are_not_topic_terms() -> None:
    query = parse_query("海南島黎族的紡織技術是由何人引進的?")
    assert query.topic == ("黎族", "纺织", "技术", "引进")
    assert "一个" not in parse_query("哪一個人為賓州大學的創建人?").topic
    assert parse_query("拱墅2022年哪些指标未完成", ["拱墅区"]).topic == ("指标", "未完成")


def test_a_phrase_ending_in_qu_is_no_region_of_a_document() -> None:
    # DRCD paragraphs: 分布區, 華人區, 自治區 were read as the paragraph's district
    text = "客家语是客家民系的母语，分布区域非常广泛。海外华人区。自治区。拱墅区经济稳步增长，拱墅区。"
    assert dict(_district_counts(text)) == {"拱墅区": 2}


def test_national_as_the_scale_of_a_ranking_is_no_place_asked() -> None:
    regions = ["全国", "甘肃省"]
    assert parse_query("甘肃2024年外贸增速在全国排第几", regions).regions == {"甘肃省"}
    assert parse_query("甘肃增速居全国第几位", regions).regions == {"甘肃省"}
    assert parse_query("2024年全国国内生产总值是多少", regions).regions == {"全国"}
