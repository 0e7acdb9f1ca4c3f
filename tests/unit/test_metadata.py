"""Metadata of the five seeds, inferred from their texts alone and overridden by the manifest."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

import pytest

from rag.ingest.load import load_document, load_folder
from rag.ingest.metadata import infer_metadata, meeting, normalize_place, read_manifest

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
MANIFEST = tomllib.loads((SEEDS / "manifest.toml").read_text(encoding="utf-8"))
SEED_FILES = sorted(MANIFEST)


@pytest.fixture(scope="module")
def inferred():
    """Each seed loaded on its own: no manifest, inference only."""
    return {name: load_document(SEEDS / name) for name in SEED_FILES}


@pytest.mark.parametrize("name", SEED_FILES)
def test_region_years_and_type_are_inferred_without_the_manifest(inferred, name):
    doc, truth = inferred[name], MANIFEST[name]
    assert (doc.region, list(doc.years), doc.doc_type) == (truth["region"], truth["years"], truth["doc_type"])


@pytest.mark.parametrize("name", ["000_e7663ab01f1730df.txt", "001_ff41aa1b071e2214.txt", "002_f7e74dfd952d8b46.txt"])
def test_titles_the_text_spells_out_are_inferred_exactly(inferred, name):
    assert inferred[name].title == MANIFEST[name]["title"]


def test_titles_composed_where_the_text_has_none(inferred):
    # 003 is a bare task table and 004 starts at 「一、2019年工作回顾」: neither prints its title, so
    # the title is composed from region, year and kind, never taken from a section heading.
    assert inferred["003_9122a3b2d2e7a0f6.txt"].title == "滨江区2025年工作任务清单(截至6月底完成情况)"
    assert inferred["004_87d7a1d99ea65eae.txt"].title == "2020年杭州钱塘新区政府工作报告"


def test_source_and_content_hash(inferred):
    doc = inferred["001_ff41aa1b071e2214.txt"]
    assert doc.source == "001_ff41aa1b071e2214.txt"
    assert doc.doc_id == "001_ff41aa1b071e2214"
    assert doc.content_hash == hashlib.sha256(doc.display_text.encode("utf-8")).hexdigest()[:16]
    assert len({d.content_hash for d in inferred.values()}) == 5


def test_the_manifest_wins():
    docs = {d.source: d for d in load_folder(SEEDS)[0]}
    assert sorted(docs) == SEED_FILES
    for name, truth in MANIFEST.items():
        doc = docs[name]
        assert (doc.title, doc.region, list(doc.years), doc.doc_type) == (
            truth["title"],
            truth["region"],
            truth["years"],
            truth["doc_type"],
        )


def test_manifest_overrides_single_fields(tmp_path):
    (tmp_path / "a.txt").write_text((SEEDS / "000_e7663ab01f1730df.txt").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "manifest.toml").write_text('["a.txt"]\nregion = "高新区"\n', encoding="utf-8")
    (doc,), _ = load_folder(tmp_path)
    assert doc.region == "高新区"
    assert doc.years == (2021, 2022)  # fields the manifest leaves out are still inferred


def test_invalid_manifest_is_a_clear_error(tmp_path):
    (tmp_path / "manifest.toml").write_text("[broken\n", encoding="utf-8")
    with pytest.raises(ValueError, match="manifest.toml: invalid TOML"):
        read_manifest(tmp_path)


@pytest.mark.parametrize(
    ("place", "region"),
    [
        ("杭州市余杭区", "余杭区"),
        ("浙江省杭州市滨江区", "滨江区"),
        ("宁夏回族自治区", "宁夏回族自治区"),
        ("宁夏", "宁夏回族自治区"),
        ("上海市", "上海市"),
        ("钱塘新区", "钱塘新区"),
    ],
)
def test_place_names_normalise_to_the_smallest_unit(place, region):
    assert normalize_place(place) == region


def test_meeting_line_with_chinese_numeral_date():
    # The 2026 Gansu report writes its date in Chinese numerals.
    text = "2026年甘肃省政府工作报告\n——二〇二六年一月二十七日在甘肃省十四届人民代表大会第四次会议上\n各位代表："
    assert meeting(text) == ("甘肃省", 2026)
    meta = infer_metadata(text)
    assert (meta["region"], meta["years"], meta["doc_type"]) == ("甘肃省", [2026], "政府工作报告")


def test_generic_district_words_are_not_regions():
    text = "全区上下推进老旧小区改造,建设示范区和开发区,拱墅区2022年经济平稳,拱墅区人民满意。"
    assert infer_metadata(text)["region"] == "拱墅区"
