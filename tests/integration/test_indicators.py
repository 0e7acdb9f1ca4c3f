"""Indicator records from the real seeds' tables: extraction, status rules, status questions, CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter

import pytest

from rag.answer.status import match_status_question
from rag.chunking import chunk_document
from rag.config import PROJECT_ROOT
from rag.facts.extract import extract_facts
from rag.facts.values import AWAITING_DATA, DONE, EXCEEDED, IN_PROGRESS, NOT_DONE, NOT_STARTED, UNKNOWN, parse_value
from rag.ingest.load import load_folder
from rag.search.query import parse_query

# Read off 001's annex: rows 低于目标X个百分点 or under 100% completion (完成目标 and exactly 100% are done).
SEEDS = PROJECT_ROOT / "seeds"
GONGSHU_NOT_DONE = [
    "地区生产总值增长", "规上工业增加值增长", "服务业增加值增长", "R&D经费支出力争增长", "社会消费品零售总额增长",
    "商贸业增加值增长", "金融产业增加值增长", "企业上市(家)", "数字经济核心产业增加值增长", "生命健康产业增加值增长",
    "文化产业增加值增长", "实际利用外资(亿美元)",
]


@pytest.fixture(scope="module")
def by_doc():
    documents, _ = load_folder(SEEDS)
    return {d.doc_id[:3]: (chunk_document(d), extract_facts(chunk_document(d))) for d in documents}


def _table_records(records):
    return [r for r in records if r.kind != "target"]


# --- parse_value on real cells ---------------------------------------------------------------------------
def test_parse_value_real_cells():
    v = parse_value("7.5%以上, 力争8%")
    assert (v.number, v.unit, v.comparator, v.stretch) == (7.5, "%", "以上", 8.0)
    v = parse_value("与经济增长同步")
    assert v.number is None and v.relative == "与经济增长同步"
    v = parse_value("1000以上")
    assert (v.number, v.unit, v.comparator) == (1000.0, "", "以上")
    v = parse_value("占全国比重0.31%")
    assert (v.number, v.unit, v.qualifier) == (0.31, "%", "占全国比重")
    v = parse_value("-4.2%")
    assert (v.number, v.unit) == (-4.2, "%")
    v = parse_value("6以上")
    assert (v.number, v.comparator, v.stretch) == (6.0, "以上", None)


# --- extraction ------------------------------------------------------------------------------------------
def test_gongshu_2022_annex(by_doc):
    chunks, records = by_doc["001"]
    records = _table_records(records)
    assert len(records) == 30 and {(r.region, r.year) for r in records} == {("拱墅区", 2022)}
    assert Counter(r.status for r in records) == {NOT_DONE: 12, EXCEEDED: 12, DONE: 6}
    not_done = [r for r in records if r.status == NOT_DONE]
    assert [r.indicator for r in not_done] == GONGSHU_NOT_DONE
    rows = {c.chunk_id: c for c in chunks}
    for r in not_done:  # each record points at its own row chunk
        assert rows[r.chunk_id].kind == "table_row" and f"指标名称: {r.indicator} |" in rows[r.chunk_id].display_text
    gdp, revenue = records[0], records[1]
    assert (gdp.target, gdp.actual, gdp.gap_points) == ("7%", "1.5%", -5.5)
    assert (revenue.indicator, revenue.status) == ("地方一般公共预算收入", DONE)  # 「完成目标」
    fdi = next(r for r in records if r.indicator == "实际利用外资(亿美元)")
    assert (fdi.unit, fdi.rate, fdi.status) == ("亿美元", 62.12, NOT_DONE)
    assert next(r for r in records if r.indicator == "学校竣工(所)").status == DONE  # exactly 100%
    assert all(r.table == "2022年拱墅区主要指标(工作)执行情况表" for r in records)


def test_binjiang_2021_district_and_city_targets(by_doc):
    records = _table_records(by_doc["000"][1])
    assert {(r.region, r.year) for r in records} == {("滨江区", 2021)}
    # 9 indicator rows; a record per target column that holds a target (区年度目标 and 市下达年度目标)
    assert len(records) == 14 and len({r.chunk_id for r in records}) == 9
    gdp = [r for r in records if r.indicator == "地区生产总值"]
    assert [(r.target_source, r.target, r.actual, r.status) for r in gdp] == [
        ("区年度目标(%)", "7.5%以上, 力争8%", "11.3", EXCEEDED), ("市下达年度目标(%)", "8", "11.3", EXCEEDED)]
    assert gdp[0].chunk_id == gdp[1].chunk_id
    invest = [r for r in records if r.name == "固定资产投资"]
    assert [(r.target_source, r.target, r.actual) for r in invest] == [("市下达年度目标(%)", "7", "14.2")]
    export = next(r for r in records if r.name == "自营出口额")  # shares of the national total compared
    assert (export.target, export.actual, export.status) == ("占全国比重0.31%", "占全国比重0.34%", EXCEEDED)
    # 实际利用外资(亿美元): the row reports only its level (9.1, 增幅 —), so its targets under the (%) columns are
    # levels in the row's unit (9, 7.5 亿美元), and the status says it read them so
    fdi = [r for r in records if r.name == "实际利用外资"]
    assert [(r.target, r.actual, r.status) for r in fdi] == [("9", "9.1", EXCEEDED), ("7.5", "9.1", EXCEEDED)]
    assert all("目标按亿美元读" in r.status_basis for r in fdi)
    # a bare 8 beside a GDP of 2022.6 亿元 would be a rate, not a level: never read so far from the result
    assert Counter(r.status for r in records) == {EXCEEDED: 13, UNKNOWN: 1}


def test_binjiang_2025_expected_indicators_and_tasks(by_doc):
    records = _table_records(by_doc["003"][1])
    assert len(records) == 154 and {(r.region, r.year) for r in records} == {("滨江区", 2025)}
    main = [r for r in records if r.kind == "indicator"]
    assert [(r.indicator, r.target, r.status) for r in main] == [
        ("地区生产总值增长", "5.6%", AWAITING_DATA),  # 二季度数据未出
        ("一般公共预算收入", "与经济增长同步", IN_PROGRESS),  # 1-6月 figures, the year not over
        ("城镇居民人均可支配收入", "与经济增长同步", AWAITING_DATA),
        ("规上工业增加值增长", "7.0%", IN_PROGRESS),
        ("固定资产投资", "300亿元以上", IN_PROGRESS),
        ("社会消费品零售总额增长", "5.0%", IN_PROGRESS),
        ("全社会R&D经费投入强度保持全省首位", "", AWAITING_DATA),  # 年度错年指标
    ]
    assert all(r.note for r in main)  # every status rests on the progress text
    tasks = [r for r in records if r.kind == "task"]
    assert len(tasks) == 147
    # 144 序时推进; 该数据为年度数据; 已完成年度计划; 此项工作将于今年下半年开展 (not started)
    assert Counter(r.status for r in tasks) == {IN_PROGRESS: 144, AWAITING_DATA: 1, DONE: 1, NOT_STARTED: 1}


def test_documents_without_tables_give_only_target_records(by_doc):
    assert _table_records(by_doc["002"][1]) == [] and _table_records(by_doc["004"][1]) == []


# --- status questions ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("question", "statuses"), [
    ("拱墅2022年哪些指标未完成", (NOT_DONE,)),
    ("拱墅22年哪些指标没完成", (NOT_DONE,)),
    ("拱墅2022年哪些指标未达标", (NOT_DONE,)),
    ("滨江2021年哪些指标超额完成", (EXCEEDED,)),
    ("拱墅2022年完成了哪些指标", (DONE, EXCEEDED)),
])
def test_match_status_question(question, statuses):
    query = match_status_question(parse_query(question, {"拱墅区", "滨江区"}))
    assert query is not None and query.statuses == statuses
    assert query.years in (frozenset({2022}), frozenset({2021}))


def test_other_questions_are_not_status_questions():
    for question in ("余杭区2021年地区生产总值是多少", "开办首家公立托育园由哪个单位牵头", "滨江2025年主要预期指标有哪些"):
        assert match_status_question(parse_query(question, {"余杭区", "滨江区"})) is None
    query = match_status_question(parse_query("拱墅2022年完成率最低的是哪个指标", {"拱墅区"}))
    assert query is not None and query.lowest and query.regions == {"拱墅区"}


def test_engine_answers_not_done_from_records(engine):
    answer = engine.ask("拱墅2022年哪些指标未完成", mode="bm25")
    assert answer.found
    rows = [line for line in answer.text.splitlines() if line.startswith("| ") and not line.startswith("| 指标")]
    assert [row.split(" | ")[0].lstrip("| ") for row in rows] == GONGSHU_NOT_DONE
    cited = {c.number: c.hit.chunk for c in answer.citations}
    for name, row in zip(GONGSHU_NOT_DONE, rows, strict=True):
        marker = re.search(r"\[(\d+)\] \|$", row)
        assert marker, row
        chunk = cited[int(marker.group(1))]
        assert chunk.kind == "table_row" and f"指标名称: {name} |" in chunk.display_text
    assert len(answer.citations) >= 12  # retrieved passages follow the record citations


def test_engine_lowest_completion_and_named_indicator(engine):
    lowest = engine.ask("拱墅2022年完成率最低的是哪个指标", mode="bm25")
    assert "企业上市(家)" in lowest.text.splitlines()[4]
    fdi = engine.ask("拱墅2022年实际利用外资完成率多少", mode="bm25")
    assert "62.12%" in fdi.text and "[1]" in fdi.text
    other = engine.ask("余杭区2021年地区生产总值是多少", mode="bm25")  # not a status question: extractive
    assert "| 指标 |" not in other.text


def test_cli_indicators_json(seed_index):
    out = subprocess.run(
        [sys.executable, "-m", "rag.cli", "indicators", "--region", "拱墅区", "--year", "2022", "--status", "未完成",
         "--json", "--index", str(seed_index)],
        capture_output=True, text=True, check=True, timeout=120,
    )
    records = json.loads(out.stdout)
    assert [r["indicator"] for r in records] == GONGSHU_NOT_DONE
    keys = {"indicator", "unit", "target", "actual", "completion", "status", "note", "region", "year", "doc_id", "chunk_id"}
    assert all(keys <= set(r) and r["status"] == "未完成" and r["year"] == 2022 for r in records)


def test_target_lists_in_running_text_become_target_records(by_doc):
    """「主要预期目标」 lists, inline (002, 004) or one per line (000, 001): a target, no result, status 未知."""
    targets = {doc: [r for r in records if r.kind == "target"] for doc, (_, records) in by_doc.items()}
    qiantang = {r.indicator: r for r in targets["004"]}
    assert qiantang["地区生产总值增长"].target == "7%以上" and qiantang["地区生产总值增长"].year == 2020
    assert len(qiantang) == 10
    yuhang = {r.indicator: r for r in targets["002"]}
    assert yuhang["R&D经费支出相当于生产总值比例"].target_parsed["number"] == 4.15
    assert {r.year for r in yuhang.values()} == {2022}  # 「建议今年」 in the 2022 report
    gongshu = {r.indicator: r for r in targets["001"]}
    assert gongshu["固定资产投资"].target == "735亿元" and gongshu["固定资产投资"].year == 2023
    assert len(targets["000"]) == 9
    assert all(r.status == "未知" and not r.actual for rs in targets.values() for r in rs)
