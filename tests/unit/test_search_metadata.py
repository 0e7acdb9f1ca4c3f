"""How sure a document's region is (Document.metadata_source), which retrieval weighs region matches by."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.ingest.clean import clean_display_text
from rag.ingest.load import document_from_text
from rag.ingest.metadata import infer_metadata
from rag.zh import to_search_text

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


def _meta(name: str) -> dict:
    return infer_metadata(to_search_text(clean_display_text((SEEDS / name).read_text(encoding="utf-8"))))


@pytest.mark.parametrize(("name", "region"), [("001_ff41aa1b071e2214.txt", "拱墅区"), ("002_f7e74dfd952d8b46.txt", "余杭区")])
def test_a_report_naming_its_region_in_its_title_is_sure(name: str, region: str) -> None:
    meta = _meta(name)
    assert meta["region"] == region and meta["metadata_source"] == "title"


def test_a_region_counted_from_mentions_is_not_sure() -> None:
    meta = infer_metadata("关于拱墅区的几点说明。拱墅区今年新增就业2万人,拱墅区经济稳步增长。")
    assert meta["region"] == "拱墅区" and meta["metadata_source"] == "text"
    assert infer_metadata("今年经济稳步增长。")["metadata_source"] == ""


def test_a_national_report_is_about_the_whole_country() -> None:
    text = "2025年中华人民共和国国务院政府工作报告\n各位代表:\n现在,我代表国务院,向大会报告政府工作。一批区县发展很快,一批区县稳步推进。"
    meta = infer_metadata(to_search_text(text))
    assert meta["region"] == "全国" and meta["metadata_source"] == "title"


def test_a_manifest_entry_makes_metadata_sure() -> None:
    raw = (SEEDS / "003_9122a3b2d2e7a0f6.txt").read_text(encoding="utf-8")
    plain = document_from_text(raw, doc_id="d", source="d.txt")
    listed = document_from_text(raw, doc_id="d", source="d.txt", overrides={"region": "滨江区", "years": [2025]})
    assert plain.metadata_source in ("text", "title")
    assert listed.metadata_source == "manifest"


def test_a_row_named_by_its_indicator_and_a_column_is_what_is_asked() -> None:
    from rag.search.fusion import names_row_and_column

    row = (("序号", "15"), ("指标名称", "实际利用外资(亿美元)"), ("年度目标", "6以上"), ("2022年完成情况·完成", "3.7"),
           ("2022年完成情况·目标完成率(%)", "62.12%"))
    assert names_row_and_column(("实际利用外资", "完成率"), row)
    assert not names_row_and_column(("实际利用外资",), row)  # no column named: the row is one answer among others
    assert not names_row_and_column(("地区生产总值", "完成率"), row)  # another indicator's row
    parking = (("序号", "23"), ("指标名称", "新增停车泊位(个)"), ("年度目标", "3500"), ("2022年完成情况·完成", "14539"),
               ("2022年完成情况·目标完成率(%)", "415.4%"))
    assert names_row_and_column(("新增", "停车", "泊位", "完成率"), parking)
