"""Chunking along the seeds' own structure; each expectation was read off the seed documents."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from rag.chunking import chunk_document
from rag.chunking.builder import MAX_CHARS
from rag.cli import main
from rag.config import PROJECT_ROOT
from rag.ingest.load import LoadError, document_from_text, load_folder
from rag.records import Chunk, Document

SEEDS = PROJECT_ROOT / "seeds"


@pytest.fixture(scope="module")
def seeds() -> dict[str, tuple[Document, list[Chunk]]]:
    docs, _ = load_folder(SEEDS)
    return {doc.doc_id[:3]: (doc, chunk_document(doc)) for doc in docs}


def _rows(chunks: list[Chunk]) -> list[Chunk]:
    return [c for c in chunks if c.kind == "table_row"]


def _field(chunk: Chunk, name: str) -> str:
    """The value of `name: value` in a rendered table row."""
    match = re.search(rf"(?:^| \| ){re.escape(name)}: (.*?)(?: \| |$)", chunk.display_text)
    return match.group(1) if match else ""


# --- invariants every document must satisfy -----------------------------------------------------
def _check_invariants(doc: Document, chunks: list[Chunk]) -> None:
    covered = [False] * len(doc.display_text)
    crumbs = {crumb for c in chunks for crumb in (c.title, *c.breadcrumb)}
    for c in chunks:
        assert 0 <= c.start < c.end <= len(doc.display_text)
        assert c.indexed_text == c.section + "\n" + c.body
        assert c.section.startswith(doc.title)
        source = doc.display_text[c.start : c.end]
        if c.kind in ("table_row", "table"):
            # a rendered row: every cell of its source span is shown in the chunk
            if c.kind == "table_row":
                for cell in re.split(r"[|\n]", source):
                    assert re.sub(r"\s+", " ", cell.strip()) in c.display_text
        else:
            assert c.display_text == source
            assert c.body == doc.search_text[c.start : c.end]
        for k in range(c.start, c.end):
            covered[k] = True
    # Text not inside any chunk must be a whole heading line that is a crumb of some breadcrumb.
    for match in re.finditer(r"[^\n]+", doc.display_text):
        if not all(covered[k] for k in range(match.start(), match.end()) if not doc.display_text[k].isspace()):
            line = doc.search_text[match.start() : match.end()].strip()
            assert line.rstrip("。：:") in crumbs or line == doc.title, f"{doc.doc_id}: {line!r} is in no chunk"
    assert [c.chunk_id for c in chunks] == [f"{doc.doc_id}#{k:04d}" for k in range(len(chunks))]


@pytest.mark.parametrize("prefix", ["000", "001", "002", "003", "004"])
def test_seed_chunks_lose_nothing_and_map_back(seeds, prefix):
    doc, chunks = seeds[prefix]
    _check_invariants(doc, chunks)


@pytest.mark.parametrize("prefix", ["000", "001", "002", "004"])
def test_text_chunks_fit_the_embedding_model(seeds, prefix):
    _, chunks = seeds[prefix]
    assert max(len(c.indexed_text) for c in chunks if c.kind != "table_row") <= MAX_CHARS


_PIECES = [
    "一、",
    "二、",
    "(一)",
    "（二）",
    "1.",
    "2、",
    "(1)",
    "——",
    "附件",
    "附件:",
    "名词解释",
    "序号",
    "1",
    "2",
    "3",
    " | ",
    "|",
    "\n",
    "\n",
    "\n\n",
    "。",
    "；",
    ":",
    "：",
    ",",
    "2022年",
    "地区生产总值增长",
    "7%",
    "完成目标",
    "主要经济指标稳步提升。",
    "促进机构融合。",
    "备注",
    "指标名称",
    "工作目标",
    "发改局",
    "區劃調整",
    "   ",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(st.sampled_from(_PIECES), st.text(alphabet="的是发展改革年度新区项目建设0123456789", max_size=30)),
        max_size=60,
    )
)
def test_random_text_loses_nothing(pieces):
    try:
        doc = document_from_text("".join(pieces), doc_id="x", source="x.txt")
    except LoadError:
        assume(False)
        return
    _check_invariants(doc, chunk_document(doc))


_SEED_LINES = sorted(
    {
        line
        for path in SEEDS.glob("*.txt")
        for line in path.read_text(encoding="utf-8").split("\n")[:400]
        if len(line) < 200
    }
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_SEED_LINES), min_size=1, max_size=40))
def test_seed_lines_in_any_order_lose_nothing(lines):
    """Real lines (headings, pipe rows, flattened cells, list items) recombined at random."""
    try:
        doc = document_from_text("\n".join(lines), doc_id="x", source="x.txt")
    except LoadError:
        assume(False)
        return
    _check_invariants(doc, chunk_document(doc))


# --- structure -------------------------------------------------------------------------------------
def test_001_annex_yields_its_30_indicator_rows(seeds):
    _, chunks = seeds["001"]
    rows = _rows(chunks)
    assert [_field(r, "序号") for r in rows] == [str(k) for k in range(1, 31)]
    by_name = {_field(r, "指标名称"): r for r in rows}
    gdp = by_name["地区生产总值增长"]
    assert (_field(gdp, "年度目标"), _field(gdp, "2022年完成情况·完成")) == ("7%", "1.5%")
    assert _field(gdp, "2022年完成情况·目标完成率(%)") == "低于目标5.5个百分点"
    jobs = by_name["新增就业(万人)"]
    assert (_field(jobs, "年度目标"), _field(jobs, "2022年完成情况·完成")) == ("3", "3.4")
    assert _field(jobs, "2022年完成情况·目标完成率(%)") == "113.3%"
    assert _field(by_name["实际利用外资(亿美元)"], "2022年完成情况·目标完成率(%)") == "62.12%"
    assert _field(by_name["企业上市(家)"], "备注") == "楚环科技已上市,凯大催化、利尔达科技已过会。"
    assert _field(by_name["新建社区婴幼儿成长驿站"], "备注") == ""  # the index number after it is no 备注
    for row in rows:
        assert all(_field(row, name) for name in ("年度目标", "2022年完成情况·完成", "2022年完成情况·目标完成率(%)"))
        # the annex title resets the path: no breadcrumb of the main text runs into the table
        assert row.section.startswith(f"{row.title} › 附件 › 2022年拱墅区主要指标(工作)执行情况表")
        assert "除险保安" not in row.section
        assert "拱墅" in row.indexed_text and "2022" in row.indexed_text


def test_001_jobs_figure_carries_district_and_year(seeds):
    _, chunks = seeds["001"]
    hits = [c for c in chunks if "新增城镇就业3.4万人" in c.display_text]
    assert hits and all("拱墅区2022年" in c.indexed_text for c in hits)
    assert "(四)民生福祉持续改善" in hits[0].section


def test_001_whole_table_chunks_cover_all_rows(seeds):
    _, chunks = seeds["001"]
    tables = [c for c in chunks if c.kind == "table"]
    listed = re.findall(r"^(\d+) \| ", "\n".join(t.display_text for t in tables), flags=re.M)
    assert listed == [str(k) for k in range(1, 31)]
    assert all(t.display_text.startswith("序号 | 指标名称 | 年度目标") for t in tables)
    assert all(len(t.indexed_text) <= MAX_CHARS for t in tables)


def test_000_two_row_header_gives_combined_column_names(seeds):
    _, chunks = seeds["000"]
    rows = _rows(chunks)
    assert len(rows) == 9
    gdp = next(r for r in rows if _field(r, "指标名称") == "地区生产总值")
    assert _field(gdp, "2021年实绩·绝对值(亿元)") == "2022.6"
    assert _field(gdp, "2021年实绩·增幅(%)") == "11.3"
    assert _field(gdp, "区年度目标(%)") == "7.5%以上, 力争8%"
    assert _field(gdp, "市下达年度目标(%)") == "8"
    assert gdp.section.endswith(
        "一、2021年国民经济和社会发展计划执行情况 › 2021年滨江区国民经济和社会发展主要指标完成情况"
    )


def test_000_topic_sentences_and_dash_list(seeds):
    _, chunks = seeds["000"]
    gdp = next(c for c in chunks if c.display_text.startswith("主要经济指标稳步提升。"))
    assert gdp.kind == "text"
    assert gdp.section.endswith("› (一)综合实力稳中有进 › 主要经济指标稳步提升")
    targets = [c for c in chunks if c.kind == "list_item" and c.display_text.startswith("——")]
    assert len(targets) == 11
    assert all(c.section.endswith("› 2022年经济社会发展的主要预期目标") for c in targets)
    assert targets[0].display_text == "——地区生产总值增长7.5%;"


def test_003_yields_154_task_rows_with_lead_unit_and_filled_goal(seeds):
    _, chunks = seeds["003"]
    rows = _rows(chunks)
    assert [_field(r, "序号") for r in rows] == [str(k) for k in range(1, 155)]
    nursery = next(r for r in rows if "开办首家公立托育园" in r.display_text)
    assert _field(nursery, "牵头单位") == "卫生健康局"
    assert _field(nursery, "配合单位") == "发改局、教育局、财政局"
    assert _field(nursery, "工作目标") == "推动保障更加充分可靠"  # merged from row 143 above
    assert nursery.section.endswith("六、致力提升共富感召力,在创造高品质生活上绘出新景")
    assert _field(rows[1], "项目") == "主要预期指标"  # row 2 starts at 序号 in the source
    assert _field(rows[1], "牵头单位") == "财政局"
    nine = rows[8]
    assert (_field(nine, "工作目标"), _field(nine, "牵头单位")) == (
        "大力提升源头创新能力",
        "零磁谷·科学城规划建设指挥部",
    )
    assert all(_field(r, "项目") or _field(r, "工作目标") for r in rows)
    assert all(_field(r, "牵头单位") and _field(r, "内容及要求") for r in rows)


def test_004_ten_practical_things_are_list_items(seeds):
    _, chunks = seeds["004"]
    items = [c for c in chunks if c.kind == "list_item" and "十件实事" in c.section]
    assert [c.display_text.split(".")[0] for c in items] == [str(k) for k in range(1, 11)]
    assert items[4].display_text.startswith("5.举办招聘会30场")
    assert all(c.section.endswith("› 2020年,我们还将努力为民办好十件实事") for c in items)


def test_004_inline_headings_glossary_and_dash_leads(seeds):
    _, chunks = seeds["004"]
    first = next(c for c in chunks if c.display_text.startswith("(一)把握历史机遇"))
    assert first.section.endswith("› 一、2019年工作回顾 › (一)把握历史机遇,顺利完成体制整合")
    later = [c for c in chunks if "(二)坚持项目为王,持续培育发展动能 › " in c.section]
    assert later  # pieces of a long paragraph carry the sub-topic they fall under
    glossary = [c for c in chunks if c.kind == "glossary_entry"]
    assert len(glossary) == 6 and all(c.section.endswith("› 名词解释") for c in glossary)
    assert glossary[0].display_text.startswith("1.“一江双城四组团”:")
    dash = next(c for c in chunks if c.display_text.startswith("——谋定了一批"))
    assert dash.kind == "list_item" and dash.section.endswith("› 谋定了一批引领高质量发展的规划计划")


def test_002_breadcrumbs_are_simplified_and_display_traditional(seeds):
    _, chunks = seeds["002"]
    chunk = next(c for c in chunks if c.display_text.startswith("劃轉拆分規范"))
    assert chunk.section.endswith("› 2021年主要工作和成效 › (一)区划调整平稳有序,开启了接续奋斗的新征程 › 划转拆分规范")
    assert chunk.display_section.endswith(
        "› 2021年主要工作和成效 › (一)區劃調整平穩有序,開啟了接續奮斗的新征程 › 劃轉拆分規范"
    )
    assert any("› 2022年目标任务和重点工作 › (一)放大创新策源核心的能级优势" in c.section for c in chunks)
    assert any(c.section.endswith("› 切实加强政府自身建设") for c in chunks)


def test_cli_chunks_json(capsys):
    assert main(["chunks", str(SEEDS / "001_ff41aa1b071e2214.txt"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert all({"chunk_id", "kind", "section", "text", "start", "end"} <= set(item) for item in data)
    assert sum("row" in item["kind"] for item in data) == 30
