"""Places a question names (rag.search.query): real divisions only, and questions of several parts."""

from __future__ import annotations

import pytest

from rag.search.query import QueryParser, parse_query, plausible_region

REGIONS = ["滨江区", "余杭区", "拱墅区", "钱塘新区"]
# regions a metadata reader took from phrases of encyclopedia paragraphs (DRCD), beside real ones
NOISY_REGIONS = ["一个区", "主要区", "发球区", "控制区", "行政区", "信义区", "北京市", "台湾省", "渝中区"]


@pytest.mark.parametrize("question", [
    "广州市2025年地区生产总值是多少",
    "西湖区2021年GDP",
    "西湖2021年GDP是多少",
    "临平区2022年新增城镇就业多少",
])
def test_a_real_place_no_document_covers_is_still_unknown(question: str) -> None:
    query = parse_query(question, REGIONS)
    assert query.unknown_places, question
    assert not query.regions


@pytest.mark.parametrize("question", [
    "發球區位於球場的哪一側?",  # generic 「X区」 words
    "控制區的面積有多大?",
    "主要區的人口是多少?",
    "一個區有多少人口?",
    "第一區的選民有多少?",
    "國家區的範圍包括哪些?",
    "哪一區的施工被規劃為第一階段施工?",
    "嘉義升格省轄市後初不設區，但於民國幾年將市區劃分為東區、西區等二區?",
    "中國黑龍江省伊春市是著名的林業城市，但自何時開始各林區開時逐漸禁伐?",
])
def test_generic_district_shaped_words_are_not_places(question: str) -> None:
    query = parse_query(question, REGIONS)
    shaped = {p for p in query.unknown_places if not p.endswith(("省", "市"))}
    assert not shaped, shaped


@pytest.mark.parametrize(("question", "piece"), [
    ("羅馬文學史上的白銀時代，是指在誰去世後的一百年間?", "白银"),  # 白银(市) inside 白银时代
    ("天特會議為什麼要重申傳統的西方正典？", "方正"),  # 西方|正典
    ("盧安達境內的最低點位在何處?", "安达"),
    ("蔣中正在哪一年日本投降後乘機欲行削藩之舉?", "中正"),
    ("閻錫山在哪一年被任命為國民革命軍北路總司令?", "锡山"),
    ("阿拉巴馬州自南北戰爭起至第二次世界大戰為止，其產業類型都以生產哪類產品為主?", "巴马"),
    ("釣魚臺島上的第二座燈塔符合哪一個規範?", "鱼台"),
    ("突厥武功最為強盛的時期是哪一個可汗在位的時候?", "武功"),
])
def test_a_division_name_inside_other_words_is_not_a_place(question: str, piece: str) -> None:
    query = parse_query(question, REGIONS)
    assert piece not in query.unknown_places and piece not in query.places


@pytest.mark.parametrize(("question", "place"), [
    ("舟山與大陸相連的為哪個高速公路?", "舟山"),
    ("重慶簡稱渝是從哪個皇帝在位開始?", "重庆"),
    ("杭州市区人口有多少", "杭州市"),
    ("中國黑龍江省伊春市是著名的林業城市", "伊春市"),
])
def test_a_division_named_as_a_place_is_read(question: str, place: str) -> None:
    assert place in parse_query(question, REGIONS).unknown_places


def test_regions_taken_from_phrases_are_not_matched() -> None:
    parser = QueryParser(REGIONS + NOISY_REGIONS)
    assert {"一个区", "主要区", "发球区", "控制区", "行政区"}.isdisjoint(parser.known_regions)
    assert {"信义区", "北京市", "台湾省", "渝中区", "钱塘新区"} <= parser.known_regions
    assert parser.parse("一個區有多少人口?").regions == frozenset()
    assert parser.parse("控制在多少以内").regions == frozenset()
    assert plausible_region("全国") and not plausible_region("一个区")


# --------------------------------------------------------------------------- parts


def _parts(question: str) -> list[tuple[str, frozenset[str], frozenset[int]]]:
    return [(p.raw, p.regions, p.years) for p in parse_query(question, REGIONS).parts]


def test_each_place_with_its_own_year_and_indicator_is_its_own_part() -> None:
    query = parse_query("钱塘新区2019年GDP和滨江2021年GDP哪个高", REGIONS)
    assert [(p.raw, p.regions, p.years) for p in query.parts] == [
        ("钱塘新区2019年GDP", frozenset({"钱塘新区"}), frozenset({2019})),
        ("滨江2021年GDP", frozenset({"滨江区"}), frozenset({2021})),
    ]
    assert all(p.measure == "value" for p in query.parts)  # the parts ask for the figures compared
    assert query.measure == "value" and "哪个高" in query.text  # the whole keeps the comparison


@pytest.mark.parametrize(("question", "parts"), [
    ("滨江2021年GDP和余杭2021年GDP哪个高", ["滨江2021年GDP", "余杭2021年GDP"]),
    ("滨江2021年GDP与余杭2022年GDP相比哪个高", ["滨江2021年GDP", "余杭2022年GDP"]),
    ("2021年滨江的GDP比余杭的高吗", ["2021年滨江的GDP", "2021年余杭的GDP"]),
    ("滨江2021年GDP是多少，余杭呢", ["滨江2021年GDP是多少", "余杭2021年GDP是多少"]),
])
def test_a_clause_per_place(question: str, parts: list[str]) -> None:
    assert [raw for raw, _r, _y in _parts(question)] == parts


def test_places_side_by_side_share_the_question() -> None:
    assert {raw for raw, _r, _y in _parts("滨江和余杭2021年GDP各是多少")} == {"滨江2021年GDP各是多少",
                                                                          "余杭2021年GDP各是多少"}


def test_a_later_year_part_keeps_the_indicator_it_shortens() -> None:
    query = parse_query("滨江2021年新增绿化面积多少,2022年打算新增多少", REGIONS)
    assert [p.raw for p in query.parts] == ["滨江2021年新增绿化面积多少", "滨江2022年打算新增绿化面积多少"]
    later = query.parts[1]
    assert later.regions == {"滨江区"} and later.years == {2022}
    assert {"绿化", "面积"} <= set(later.topic)


def test_a_phrase_before_qu_is_not_a_place() -> None:
    query = parse_query("蔣中正於何年重兵包圍了豫西、中原、豫皖蘇匪占區?", REGIONS)
    assert "苏匪占" not in query.places and "中正" not in query.places


def test_a_short_name_inside_another_divisions_full_name_does_not_name_the_region() -> None:
    parser = QueryParser(["台北县", "台湾省", "滨江区"])
    assert parser.parse("全台灣除了臺北市之外第一個導入「YouBike」的城市為?").regions == {"台湾省"}
    assert parser.parse("台北县2010年人口").regions == {"台北县"}
    assert parser.parse("滨江区和滨江2021年GDP").regions == {"滨江区"}



def test_a_place_not_after_a_joining_word_opens_no_clause() -> None:
    parser = QueryParser(["滨江区", "余杭区"])
    parts = [p.raw for p in parser.parse("除了滨江之外余杭2021年GDP哪个高").parts]
    assert "除了滨江之外" not in parts and "除了滨江" not in parts
