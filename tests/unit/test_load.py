"""Loaders on good and bad input: encodings, Word, PDF, web pages, CSV, whole folders, duplicates.

Fixtures are built in tmp_path from real seed text (GBK and Big5 bytes, a python-docx document, a
truncated copy of it), so each test shows what a user dropping that file would get.
"""

from __future__ import annotations

import csv
import io
import shutil
import sys
import zipfile
from pathlib import Path

import docx
import opencc
import pytest
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from rag.ingest.load import LoadError, decode_text, find_near_duplicates, load_document, load_folder

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"
SHARED = Path(__file__).resolve().parents[3] / "shared"
CORPUS = SHARED / "corpora" / "gov_work_reports"
SEED_000 = SEEDS / "000_e7663ab01f1730df.txt"
OPENING = SEED_000.read_text(encoding="utf-8")[:1500]


def _docx_bytes() -> bytes:
    """A Word file with a title, a paragraph, a table with a merged cell, and a closing paragraph."""
    document = docx.Document()
    document.add_paragraph("杭州市滨江区2021年国民经济和社会发展计划执行情况与2022年国民经济和社会发展计划草案")
    document.add_paragraph(OPENING.split("\n")[1])
    table = document.add_table(rows=3, cols=3)
    for r, row in enumerate([("指标名称", "2021年实绩", "增幅(%)"), ("地区生产总值", "2022.6", "11.3")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    merged = table.cell(2, 0).merge(table.cell(2, 1))
    merged.text = "社会消费品零售总额"
    table.cell(2, 2).text = "11.2"
    document.add_paragraph("二、2022年国民经济和社会发展主要预期目标和任务")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _pdf_bytes(pages: list[str | None]) -> bytes:
    """A PDF whose pages carry the given ASCII text layer, or none (None: a 'scanned' page)."""
    writer = PdfWriter()
    for text in pages:
        page = writer.add_blank_page(300, 300)
        if text is None:
            continue
        font = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
        )
        stream = DecodedStreamObject()
        stream.set_data(f"BT /F1 12 Tf 20 200 Td ({text}) Tj ET".encode("ascii"))
        page[NameObject("/Contents")] = writer._add_object(stream)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


# --- plain text encodings -----------------------------------------------------------------------
def test_gbk_file_loads_with_the_right_text(tmp_path):
    path = tmp_path / "gbk.txt"
    path.write_bytes(OPENING.encode("gbk"))
    doc = load_document(path)
    assert "向大会书面报告杭州市滨江区2021年国民经济和社会发展计划执行情况" in doc.display_text
    assert doc.region == "滨江区"


def test_big5_file_loads_as_traditional(tmp_path):
    traditional = opencc.OpenCC("s2t").convert(OPENING)
    path = tmp_path / "big5.txt"
    path.write_bytes(traditional.encode("big5", errors="ignore"))
    doc = load_document(path)
    assert doc.script == "traditional"
    assert "國民經濟和社會發展計劃執行情況" in doc.display_text
    assert "国民经济和社会发展计划执行情况" in doc.search_text


def test_utf8_with_bom_loses_the_bom(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes(OPENING.encode("utf-8-sig"))
    assert load_document(path).display_text.startswith("各位代表")


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"  \n")
    with pytest.raises(LoadError, match="empty.txt: the file is empty"):
        load_document(path)


def test_binary_file_named_txt_is_refused(tmp_path):
    path = tmp_path / "image.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    with pytest.raises(LoadError, match="image.txt: looks like a binary file"):
        load_document(path)


def test_wrong_codec_text_is_refused_not_indexed():
    # UTF-8 Chinese already mis-read once and saved as UTF-8: valid bytes, garbage text.
    mojibake = OPENING.encode("utf-8").decode("gb18030", errors="replace").encode("utf-8")
    with pytest.raises(LoadError, match="reads as garbage"):
        decode_text(mojibake, "mojibake.txt")


def test_random_bytes_without_nul_are_refused():
    noise = bytes((i * 97 + 31) % 255 + 1 for i in range(4000))
    with pytest.raises(LoadError, match="noise.txt"):
        decode_text(noise, "noise.txt")


# --- Word ----------------------------------------------------------------------------------------
def test_docx_paragraphs_and_tables_in_order(tmp_path):
    path = tmp_path / "report.docx"
    path.write_bytes(_docx_bytes())
    doc = load_document(path)
    lines = doc.display_text.split("\n")
    assert lines[0].startswith("杭州市滨江区2021年")
    table_at = lines.index("指标名称 | 2021年实绩 | 增幅(%) |")
    assert lines[table_at + 1] == "地区生产总值 | 2022.6 | 11.3 |"
    assert lines[table_at + 2] == "社会消费品零售总额 | 11.2 |"  # the merged cell written once
    assert lines.index("二、2022年国民经济和社会发展主要预期目标和任务") == table_at + 3
    assert doc.region == "滨江区" and doc.doc_type == "计划执行报告" and doc.years == (2021, 2022)


def test_truncated_docx_is_refused_clearly(tmp_path):
    path = tmp_path / "cut.docx"
    path.write_bytes(_docx_bytes()[:3000])
    with pytest.raises(LoadError, match=r"cut.docx: not a readable Word \.docx \(damaged or truncated"):
        load_document(path)


# --- PDF ----------------------------------------------------------------------------------------
def test_pdf_text_layer_and_pages_without_one(tmp_path):
    path = tmp_path / "scan-in-part.pdf"
    path.write_bytes(_pdf_bytes(["Hangzhou Binjiang 2025 report", None]))
    folder_docs, reports = load_folder(tmp_path)
    assert "Hangzhou Binjiang 2025 report" in folder_docs[0].display_text
    assert "page(s) 2 of 2 have no text layer" in reports[0].message


def test_pdf_without_any_text_layer_is_refused(tmp_path):
    path = tmp_path / "scan.pdf"
    path.write_bytes(_pdf_bytes([None, None]))
    with pytest.raises(LoadError, match="scan.pdf: no page has a text layer"):
        load_document(path)


# --- web pages ----------------------------------------------------------------------------------
def test_html_main_content_without_navigation(tmp_path):
    page = f"""<html><head><meta charset="gbk"><title>滨江区</title></head><body>
    <div class="nav"><a href="/">首页</a> &gt; <a>政务公开</a> &gt; <a>规划计划</a></div>
    <div id="zoom" class="article-content">
      <p>杭州市滨江区2021年国民经济和社会发展计划执行情况与2022年国民经济和社会发展计划草案</p>
      <p>{OPENING.split(chr(10))[1]}</p>
      <table><tr><td>指标名称</td><td>2021年实绩</td></tr><tr><td>地区生产总值</td><td>2022.6</td></tr></table>
    </div>
    <div class="footer">版权所有 网站地图 联系我们</div><script>var x = "统计代码";</script>
    </body></html>"""
    path = tmp_path / "page.html"
    path.write_bytes(page.encode("gbk"))
    doc = load_document(path)
    assert "指标名称 | 2021年实绩 |\n地区生产总值 | 2022.6 |" in doc.display_text
    for furniture in ("首页", "政务公开", "版权所有", "统计代码"):
        assert furniture not in doc.display_text
    assert doc.title.startswith("杭州市滨江区2021年")


# --- folders ------------------------------------------------------------------------------------
def test_one_bad_file_never_stops_the_folder(tmp_path):
    for seed in SEEDS.glob("0*.txt"):
        shutil.copy(seed, tmp_path / seed.name)
    shutil.copy(SEEDS / "manifest.toml", tmp_path / "manifest.toml")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    (bad / "binary.txt").write_bytes(bytes(range(256)))
    (bad / "cut.docx").write_bytes(_docx_bytes()[:2000])
    (bad / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0")  # unsupported suffixes are not picked up
    (tmp_path / "gbk.txt").write_bytes(OPENING.encode("gbk"))
    (tmp_path / "report.docx").write_bytes(_docx_bytes())
    docs, reports = load_folder(tmp_path)
    assert sorted(d.source for d in docs) == sorted([p.name for p in SEEDS.glob("0*.txt")] + ["gbk.txt", "report.docx"])
    failed = {r.path: r.message for r in reports if not r.ok}
    assert set(failed) == {"bad/empty.txt", "bad/binary.txt", "bad/cut.docx"}
    assert "empty" in failed["bad/empty.txt"]
    assert "binary" in failed["bad/binary.txt"]
    assert "truncated" in failed["bad/cut.docx"]


def test_seed_folder_loads_all_five_without_duplicates():
    docs, reports = load_folder(SEEDS)
    assert len(docs) == 5
    assert all(r.ok for r in reports)
    assert not [r for r in reports if r.message.startswith("near-duplicate")]


def test_near_duplicate_documents_are_reported(tmp_path):
    text = SEED_000.read_text(encoding="utf-8")
    (tmp_path / "a.txt").write_text(text, encoding="utf-8")
    (tmp_path / "b.txt").write_text(
        text.replace("2022.6", "2022.7").replace("不少于50场", "不少于60场"), encoding="utf-8"
    )
    shutil.copy(SEEDS / "004_87d7a1d99ea65eae.txt", tmp_path / "c.txt")
    docs, reports = load_folder(tmp_path)
    assert len(docs) == 3  # reported, not dropped
    near = [r for r in reports if r.message.startswith("near-duplicate")]
    assert [(r.path, r.ok) for r in near] == [("b.txt", True)]
    assert near[0].message.startswith("near-duplicate of a.txt")
    assert find_near_duplicates(docs[2:]) == []


# --- the real provincial corpus -------------------------------------------------------------------
def test_provincial_corpus_loads_with_region_and_year(tmp_path):
    """Uses ../shared: all 31 .docx of 2025 and all 31 CSVs of 2026 load, province and year right."""
    docx_dir, csv_dir = tmp_path / "2025", tmp_path / "2026"
    docx_dir.mkdir()
    csv_dir.mkdir()
    expected: dict[str, tuple[str, int]] = {}
    with zipfile.ZipFile(CORPUS / "provincial_2025_docx" / "31省区市政府工作报告.zip") as archive:
        for member in archive.infolist():
            name = member.filename.encode("cp437").decode("gbk")  # GBK names without the UTF-8 flag
            (docx_dir / name).write_bytes(archive.read(member))
            expected[f"2025/{name}"] = (name[len("2025年") :].removesuffix("政府工作报告.docx"), 2025)
    csv.field_size_limit(sys.maxsize)
    for path in sorted((CORPUS / "provincial_2026_csv").glob("2026_*.csv")):
        shutil.copy(path, csv_dir / path.name)
        with path.open(encoding="utf-8-sig", newline="") as handle:
            row = next(csv.DictReader(handle))
        expected[f"2026/{path.name}"] = (row["province"], int(row["year"]))
    docs, reports = load_folder(tmp_path)
    assert [r for r in reports if not r.ok] == []
    assert len(docs) == 62
    for doc in docs:
        province, year = expected[doc.source]
        assert doc.region.startswith(province), doc.source  # 宁夏 -> 宁夏回族自治区
        assert max(doc.years) == year, doc.source
        assert doc.doc_type == "政府工作报告", doc.source
        assert str(year) in doc.title, doc.source
        assert not doc.display_text.startswith("下载"), doc.source
        assert "【字号" not in doc.display_text, doc.source


def test_huge_text_file_is_refused_quickly_and_the_rest_loads(tmp_path):
    import time

    from rag.ingest.load import load_folder

    big = tmp_path / "dump.txt"
    with big.open("wb") as handle:  # 50 MB of real report text, repeated
        chunk = ("拱墅区2022年国民经济和社会发展计划执行情况。" * 2000).encode("utf-8")
        while handle.tell() < 50 * 2**20:
            handle.write(chunk)
    (tmp_path / "ok.txt").write_text("余杭区2021年实现地区生产总值2502.2亿元，增长7.5%。", encoding="utf-8")
    started = time.perf_counter()
    documents, reports = load_folder(tmp_path)
    assert time.perf_counter() - started < 10
    assert [d.source for d in documents] == ["ok.txt"]
    refused = next(r for r in reports if r.path == "dump.txt")
    assert not refused.ok and "too large" in refused.message and "Split" in refused.message


def test_docx_that_is_a_zip_of_something_else_is_refused(tmp_path):
    import zipfile

    from rag.ingest.load import LoadError, load_document

    fake = tmp_path / "报告 2023.docx"
    with zipfile.ZipFile(fake, "w") as zf:
        zf.writestr("photos/readme.txt", "not a word document")
    with pytest.raises(LoadError, match="docx"):
        load_document(fake, root=tmp_path)


def test_nul_bytes_in_text_are_refused(tmp_path):
    from rag.ingest.load import LoadError, load_document

    path = tmp_path / "nul.txt"
    path.write_bytes("余杭区".encode() + b"\x00\x00\x00" + "地区生产总值".encode())
    with pytest.raises(LoadError, match="binary"):
        load_document(path, root=tmp_path)


def test_file_deleted_before_reading_is_reported(tmp_path):
    from rag.ingest.load import LoadError, load_document

    path = tmp_path / "gone.txt"
    with pytest.raises(LoadError, match="cannot read"):
        load_document(path, root=tmp_path)


def test_mixed_encodings_in_one_file_are_refused_with_advice(tmp_path):
    from rag.ingest.load import LoadError, load_document

    path = tmp_path / "mixed.txt"
    path.write_bytes("余杭区2021年实现地区生产总值2502.2亿元，增长7.5%。".encode()
                     + "拱墅区新增城镇就业3.4万人，完成年度目标。".encode("gbk"))
    with pytest.raises(LoadError, match="Save it as UTF-8"):
        load_document(path, root=tmp_path)
