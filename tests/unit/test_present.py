"""rag.present: safe rendering of documents and answers, source labels, highlighting, exports (no model)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from rag.ingest.load import document_from_text
from rag.present import (
    HIT_ID,
    MAX_QUESTION_CHARS,
    answer_figures,
    built_at_label,
    conversation_markdown,
    document_html,
    escape_markdown,
    example_questions,
    fact_rows,
    feedback_record,
    highlight_html,
    index_summary,
    passage_html,
    safe_answer_markdown,
    source_label,
    trim_question,
)
from rag.records import Chunk, Fact

HOSTILE = "见![t](http://example.invalid/p.png)与[官网](http://example.invalid)及 http://example.invalid/x 和 www.example.invalid"


def _row(chunk_id: str, cells: tuple[tuple[str, str], ...], start: int = 0, end: int = 10) -> Chunk:
    return Chunk(chunk_id=chunk_id, doc_id="d", kind="table_row", start=start, end=end, display_text="",
                 body="", breadcrumb=("主要指标",), display_breadcrumb=("主要指标",), title="某区报告",
                 region="拱墅区", years=(2022,), cells=cells)


def _fact(**changes) -> Fact:
    base = dict(indicator="地区生产总值增长", name="地区生产总值增长", unit="%", target="7%", actual="1.5%",
                completion="低于目标5.5个百分点", status="未完成", gap_points=-5.5, rate=None, note="疫情",
                region="拱墅区", year=2022, doc_id="d", chunk_id="d#0003", table="主要指标执行情况表")
    return Fact(**(base | changes))


def test_answer_markdown_has_no_live_link_or_image():
    out = safe_answer_markdown(HOSTILE)
    assert "![" not in out and "](" not in out  # no Markdown image or link syntax survives
    assert "http://" not in out and "www.ex" not in out  # bare URLs cannot be autolinked
    assert "官网" in out and "example.invalid" in out  # the words stay readable as text


def test_answer_markdown_escapes_html_and_math_but_keeps_tables():
    out = safe_answer_markdown("<img src=x onerror=alert(1)> 增长$5$\n\n| 指标 | 状态 |\n|---|---|\n| GDP | 未完成 [1] |")
    assert "<img" not in out and "&lt;img" in out
    assert "\\$5\\$" in out
    assert "| 指标 | 状态 |" in out and "|---|---|" in out


def test_citations_become_in_page_anchors_only_when_known():
    out = safe_answer_markdown("增长7.5% [1]，另见 [2]", lambda n: ("#m1-src-1", "余杭 · 第 3 段") if n == 1 else None)
    assert '<a class="rag-cite" href="#m1-src-1" title="余杭 · 第 3 段"' in out
    assert "\\[2\\]" in out  # an unknown number stays text, never a reference link
    in_table = safe_answer_markdown("| 指标 | 状态 [1] |", lambda n: ("#a", "序号: 1 | 指标\n下一行"))
    assert in_table.count("|") == 3 and "\n" not in in_table  # the preview cannot cut a table row


def test_escape_markdown_shows_document_text_literally():
    out = escape_markdown("[官网](http://example.invalid) *粗* <b>")
    assert "\\[官网\\]\\(http\\://example.invalid\\)" in out and "\\*粗\\*" in out and "&lt;b&gt;" in out


def test_passage_html_escapes_and_marks_in_traditional_text():
    html = passage_html(Chunk("d#1", "d", "text", 0, 9, "地區生產總值<b>2502.2億元", "地区生产总值<b>2502.2亿元"),
                        ["地区生产总值", "2502.2"])
    assert "<mark>地區生產總值</mark>" in html and "<mark>2502.2</mark>" in html and "&lt;b&gt;" in html


def test_passage_html_table_row_is_a_table_with_its_caption():
    html = passage_html(_row("d#2", (("序号", "1"), ("指标", "地区生产总值增长"), ("状态", "未完成"))), ["未完成"])
    assert "<caption>主要指标</caption>" in html and "<th>状态</th>" in html and "<mark>未完成</mark>" in html


def test_source_label_names_document_section_row_and_paragraph():
    doc = document_from_text("2022年拱墅区国民经济和社会发展计划执行情况\n正文", doc_id="d", source="d.txt")
    chunk = _row("d#2", (("序号", "1"), ("指标", "地区生产总值增长")))
    label = source_label(chunk, doc, paragraph=75)
    assert label.place == "主要指标 · 地区生产总值增长"  # the row by its indicator, not its serial number
    assert label.text.endswith("第 75 段") and "d.txt" not in label.text


def test_only_the_answers_figures_are_highlighted():
    figures = answer_figures(["2021年全年实现地区生产总值2502.2亿元、增长7.5% [1]"])
    assert figures == ["2502.2", "7.5%"]  # the citation's 1 and other passage numbers are not the answer's
    html = highlight_html("生产总值2502.2亿元，增长7.5%，人口120万", figures)
    assert html.count("<mark>") == 2 and "<mark>120" not in html


def test_document_html_renders_tables_and_marks_the_target():
    text = "一、总体情况\n今年增长较快。\n序号 指标 状态\n1 地区生产总值增长 未完成\n2 服务业增长 完成\n结语。"
    doc = document_from_text(text, doc_id="d", source="d.txt")
    start = doc.display_text.index("1 地区")
    mid = doc.display_text.index("2 服务")
    chunks = [
        _row("d#1", (("序号", "1"), ("指标", "地区生产总值增长"), ("状态", "未完成")), start, mid),
        _row("d#2", (("序号", "2"), ("指标", "服务业增长"), ("状态", "完成")), mid, doc.display_text.index("结语")),
    ]
    body = doc.display_text.index("今年")
    chunks.append(Chunk("d#0", "d", "text", body, body + 7, "今年增长较快。", "今年增长较快。",
                        display_breadcrumb=("一、总体情况",)))
    html = document_html(doc, chunks, "d#2", ["服务业"])
    assert "<h4>一、总体情况</h4>" in html  # a heading line of the document is shown as a heading
    assert html.count("<table") == 1 and "<caption>主要指标</caption>" in html
    assert f'<tr id="{HIT_ID}" class="rag-hit">' in html and "<mark>服务业</mark>" in html
    assert "今年增长较快" in html and "结语" in html  # the text around the table is kept
    assert "<h4>主要指标</h4>" not in html  # only lines that are headings become headings


def test_trim_question():
    assert trim_question("   \n ")[0] == "" and "请输入" in trim_question(" ")[1]
    question, notice = trim_question("问" * 5000)
    assert len(question) == MAX_QUESTION_CHARS and "5000" in notice
    assert trim_question(" 拱墅2022年 ") == ("拱墅2022年", "")


def test_built_at_label_is_not_iso():
    assert built_at_label("2026-11-24T10:15:00+0000") == "2026-11-24 10:15"


def test_fact_rows_name_their_source_not_a_chunk_id():
    rows = fact_rows([_fact()], {"d#0003": "[1] 拱墅区 2022 计划执行报告 · 主要指标"})
    assert rows[0]["出处"] == "[1] 拱墅区 2022 计划执行报告 · 主要指标" and rows[0]["状态"] == "未完成"
    assert not any("#" in str(v) for v in rows[0].values())


MANIFEST = {"n_documents": 2, "n_chunks": 40, "documents": {
    "a": {"title": "2022年拱墅区计划执行情况", "region": "拱墅区", "years": [2022, 2023], "doc_type": "计划执行报告"},
    "b": {"title": "余杭区政府工作报告", "region": "余杭区", "years": [2021], "doc_type": "政府工作报告"}}}


def test_index_summary_and_examples_come_from_the_index():
    summary = index_summary(MANIFEST)
    assert summary.regions == ("余杭区", "拱墅区") and summary.years == (2021, 2022, 2023)
    facts = [_fact(), _fact(indicator="服务业增加值", region="余杭区", year=2021, status="完成", chunk_id="x")]
    questions = example_questions(MANIFEST, facts)
    assert questions[0] == "拱墅区2022年哪些指标未完成"
    assert "余杭区2021年服务业增加值完成了多少" in questions
    assert 2 <= len(questions) <= 6 and len(set(questions)) == len(questions)
    assert all(re.search(r"(拱墅区|余杭区)20\d\d年", q) for q in questions)


def test_conversation_markdown_and_feedback_record():
    source = {"number": 1, "cited": True, "label": "余杭区 2021 政府工作报告 · 第 3 段", "chunk": {"chunk_id": "b#3"}}
    messages = [{"role": "user", "content": "余杭2021年GDP"},
                {"role": "assistant", "content": "2502.2亿元 [1]", "question": "余杭2021年GDP",
                 "context": "检索方式：综合检索", "sources": [source], "mode": "hybrid"}]
    md = conversation_markdown(messages)
    assert "## 问：余杭2021年GDP" in md and "2502.2亿元 [1]" in md and "- [1] 余杭区 2021 政府工作报告" in md
    record = json.loads(feedback_record(messages[1], "up", datetime(2026, 1, 2, tzinfo=UTC)))
    assert record["rating"] == "up" and record["question"] == "余杭2021年GDP"
    assert record["citations"] == [{"number": 1, "source": source["label"], "chunk_id": "b#3"}]


def test_highlight_terms_are_the_statements_figures_not_the_quoted_sentences():
    from rag.present import terms_to_highlight

    evidence = "全年实现地区生产总值2502.2亿元、增长7.5%;完成财政总收入745.31亿元"
    text = f"余杭区2021年实现地区生产总值2502.2亿元 [1]\n\n依据：\n- {evidence} [1]"
    terms = terms_to_highlight(None, text, [evidence])
    assert "2502.2" in terms and "745.31" not in terms
