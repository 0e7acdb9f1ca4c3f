"""Hostile and broken documents folders: every bad file is one report line, and the rest still loads.

Each case puts one bad thing beside a good report (built from real seed text) and checks the bad
thing's message and that the good document was not lost. No model is needed; the index-level cases
are in tests/integration/test_bad_input.py.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import docx
import pytest
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject, StreamObject

import rag.ingest.formats as formats
import rag.ingest.load as load_module
from rag.ingest.load import LoadError, assign_doc_ids, display_path, load_document, load_folder
from rag.ingest.metadata import ManifestError, read_manifest

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"
GOOD_TEXT = (SEEDS / "002_f7e74dfd952d8b46.txt").read_text(encoding="utf-8")[:3000]
OTHER_TEXT = (SEEDS / "001_ff41aa1b071e2214.txt").read_text(encoding="utf-8")[:3000]


def _folder(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.txt").write_text(GOOD_TEXT, encoding="utf-8")
    return docs


def _assert_good_kept(documents, reports) -> None:
    """Nothing was lost: the good report loaded, and no report line carries a raw control character."""
    assert "good.txt" in [d.source for d in documents]
    for report in reports:
        assert "\n" not in report.path + report.message
        report.path.encode("utf-8")  # printable and storable as UTF-8
        report.message.encode("utf-8")


def _bad_report(reports, fragment: str):
    matches = [r for r in reports if not r.ok and fragment in r.path]
    assert matches, reports
    return matches[0]


# --- hostile files, one per case ------------------------------------------------------------------
def _zip_without(member: str, data: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            if name != member:
                target.writestr(name, source.read(name))
    return out.getvalue()


def _docx_bytes(text: str = GOOD_TEXT[:400]) -> bytes:
    document = docx.Document()
    for line in text.split("\n"):
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _pdf_with_font_stream(stream: StreamObject | None = None, pages: int = 1) -> bytes:
    """A PDF with a text layer whose font's /ToUnicode map is `stream` (a flate bomb, say)."""
    writer = PdfWriter()
    for _ in range(pages):
        page = writer.add_blank_page(300, 300)
        font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                                 NameObject("/BaseFont"): NameObject("/Helvetica")})
        if stream is not None:
            font[NameObject("/ToUnicode")] = writer._add_object(stream)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})})
        content = DecodedStreamObject()
        content.set_data(b"BT /F1 12 Tf 20 200 Td (Yuhang district report 2021) Tj ET")
        page[NameObject("/Contents")] = writer._add_object(content)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _flate_bomb() -> StreamObject:
    """~170 KB that inflates to 120 MB, beyond pypdf's 75 MB limit."""
    stream = StreamObject()
    stream._data = zlib.compress(b"0 0 m " * 20_000_000, 9)
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    return stream


def _write(name: str, data: bytes | str) -> Callable[[Path], None]:
    def make(docs: Path) -> None:
        path = docs / name
        if isinstance(data, str):
            path.write_text(data, encoding="utf-8")
        else:
            path.write_bytes(data)

    return make


def _deep_html(docs: Path) -> None:
    (docs / "deep.html").write_bytes(b"<html><body>" + b"<div>" * 100_000 + GOOD_TEXT[:200].encode()
                                     + b"</div>" * 100_000 + b"</body></html>")


HOSTILE_FILES = [
    ("odd16.txt", _write("odd16.txt", GOOD_TEXT[:500].encode("utf-16") + b"\x00"), "damaged UTF-16 text (truncated"),
    ("surr16.txt", _write("surr16.txt", GOOD_TEXT[:500].encode("utf-16") + b"\x00\xd8A\x00"),
     "damaged UTF-16 text (illegal UTF-16 surrogate"),
    ("surr8.txt", _write("surr8.txt", GOOD_TEXT[:500].encode() + b"\xed\xa0\x80" + OTHER_TEXT[:500].encode()),
     "could not decode"),
    ("bomb.pdf", lambda docs: (docs / "bomb.pdf").write_bytes(_pdf_with_font_stream(_flate_bomb())),
     "expands beyond the safety limit"),
    ("random.pdf", _write("random.pdf", os.urandom(5000)), "not a readable PDF"),
    ("cut.pdf", lambda docs: (docs / "cut.pdf").write_bytes(_pdf_with_font_stream()[:300]), "not a readable PDF"),
    ("notypes.docx", lambda docs: (docs / "notypes.docx").write_bytes(_zip_without("[Content_Types].xml", _docx_bytes())),
     "not a readable Word .docx"),
    ("nobody.docx", lambda docs: (docs / "nobody.docx").write_bytes(_zip_without("word/document.xml", _docx_bytes())),
     "not a readable Word .docx"),
    ("cut.docx", lambda docs: (docs / "cut.docx").write_bytes(_docx_bytes()[:2000]), "not a readable Word .docx"),
    ("text.docx", _write("text.docx", GOOD_TEXT), "not a readable Word .docx"),
    ("deep.html", _deep_html, "could not be read (RecursionError"),
    ("empty.txt", _write("empty.txt", b""), "the file is empty"),
    ("blank.md", _write("blank.md", b"  \n\n \t\n"), "the file is empty"),
    ("nul.txt", _write("nul.txt", b"\x00\x01\x02" * 100), "binary file"),
    ("empty.html", _write("empty.html", "<html><body><script>x()</script></body></html>"), "no readable text"),
    ("header.csv", _write("header.csv", "title,full_text\n"), "no data rows"),
    ("boiler.txt", _write("boiler.txt", "\n\n"), "the file is empty"),
]


@pytest.mark.parametrize(("name", "make", "message"), HOSTILE_FILES, ids=[case[0] for case in HOSTILE_FILES])
def test_hostile_file_is_one_report_line_and_the_rest_loads(tmp_path, name, make, message):
    docs = _folder(tmp_path)
    make(docs)
    documents, reports = load_folder(docs)
    _assert_good_kept(documents, reports)
    assert [d.source for d in documents] == ["good.txt"]
    report = _bad_report(reports, name)
    assert message in report.message, report.message
    assert report.message.startswith(name)


def test_all_hostile_files_together_leave_the_good_one(tmp_path):
    docs = _folder(tmp_path)
    for _, make, _ in HOSTILE_FILES:
        make(docs)
    documents, reports = load_folder(docs)
    _assert_good_kept(documents, reports)
    assert [d.source for d in documents] == ["good.txt"]
    assert sum(not r.ok for r in reports) == len(HOSTILE_FILES)


def test_docx_zip_bomb_is_refused_before_inflating(tmp_path, monkeypatch):
    monkeypatch.setattr(formats, "MAX_DOCX_EXPANDED_BYTES", 2**20)  # the real limit is 300 MB; same check
    docs = _folder(tmp_path)
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("word/document.xml", b" " * (3 * 2**20))
    (docs / "bomb.docx").write_bytes(data.getvalue())
    documents, reports = load_folder(docs)
    _assert_good_kept(documents, reports)
    assert "expands to 3 MB (the limit is 1 MB)" in _bad_report(reports, "bomb.docx").message


def test_pdf_over_the_page_limit_is_refused_with_advice(tmp_path, monkeypatch):
    monkeypatch.setattr(formats, "MAX_PDF_PAGES", 5)
    docs = _folder(tmp_path)
    (docs / "book.pdf").write_bytes(_pdf_with_font_stream(pages=6))
    documents, reports = load_folder(docs)
    _assert_good_kept(documents, reports)
    message = _bad_report(reports, "book.pdf").message
    assert "6 pages is more than the limit of 5 per document" in message and "split it" in message


def test_text_over_the_character_limit_is_refused_with_advice(tmp_path, monkeypatch):
    monkeypatch.setattr(load_module, "MAX_TEXT_CHARS", 2000)
    docs = _folder(tmp_path)
    (docs / "good.txt").write_text(GOOD_TEXT[:1500], encoding="utf-8")
    (docs / "long.txt").write_text(OTHER_TEXT, encoding="utf-8")
    documents, reports = load_folder(docs)
    _assert_good_kept(documents, reports)
    assert "characters of text is more than 2,000" in _bad_report(reports, "long.txt").message


def test_lone_surrogates_from_a_reader_become_replacement_characters(tmp_path, monkeypatch):
    """A PDF with a broken character map can give lone surrogates, which JSON/UTF-8 cannot store."""
    docs = _folder(tmp_path)
    (docs / "map.txt").write_text(OTHER_TEXT, encoding="utf-8")
    real = formats.READERS[".txt"]

    def reader_with_surrogates(path: Path) -> formats.Extracted:
        extracted = real(path)
        if path.name == "map.txt":
            return formats.Extracted(extracted.text.replace("2022", "20\ud80022", 1))
        return extracted

    monkeypatch.setitem(load_module.READERS, ".txt", reader_with_surrogates)
    documents, reports = load_folder(docs)
    doc = next(d for d in documents if d.source == "map.txt")
    doc.display_text.encode("utf-8")  # storable: no lone surrogate left
    assert "1 invalid character(s) (lone surrogates) replaced" in next(r for r in reports if r.path == "map.txt").message


def test_html_surrogate_entities_do_not_reach_the_text(tmp_path):
    docs = _folder(tmp_path)
    paragraphs = "".join(f"<p>{line}&#xD800;&#55296;</p>" for line in OTHER_TEXT.split("\n") if line.strip())
    (docs / "ent.html").write_text(f"<html><body>{paragraphs}</body></html>", encoding="utf-8")
    documents, _ = load_folder(docs)
    assert {d.source for d in documents} == {"good.txt", "ent.html"}
    for doc in documents:
        doc.display_text.encode("utf-8")


# --- file names and links -------------------------------------------------------------------------
def test_file_name_that_is_not_utf8_is_reported_with_its_bytes_escaped(tmp_path):
    docs = _folder(tmp_path)
    (docs / os.fsdecode(b"\xb1\xa8\xb8\xe6.txt")).write_text(OTHER_TEXT, encoding="utf-8")  # 报告 in GBK
    documents, reports = load_folder(docs)
    _assert_good_kept(documents, reports)
    report = _bad_report(reports, "\\xb1\\xa8\\xb8\\xe6.txt")
    assert report.path == "\\xb1\\xa8\\xb8\\xe6.txt"
    assert "file name is not valid UTF-8" in report.message and "rename it" in report.message


def test_single_file_with_a_non_utf8_name_is_refused(tmp_path):
    path = tmp_path / os.fsdecode(b"\xc4\xe3.txt")
    path.write_text(OTHER_TEXT, encoding="utf-8")
    with pytest.raises(LoadError, match=r"\\xc4\\xe3\.txt: the file name is not valid UTF-8"):
        load_document(path)


def test_newline_in_a_file_name_cannot_forge_a_report_line(tmp_path):
    docs = _folder(tmp_path)
    (docs / "x.txt\nSKIP good.txt: fake.txt").write_text(OTHER_TEXT, encoding="utf-8")
    documents, reports = load_folder(docs)
    _assert_good_kept(documents, reports)
    assert len(documents) == 2
    assert any(r.path == "x.txt\\nSKIP good.txt: fake.txt" for r in reports)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [(b"\xff\xfe.txt", "\\xff\\xfe.txt"), ("报告.txt", "报告.txt"), ("a\tb\r.txt", "a\\tb\\r.txt"), ("a\x1b[31m.txt", "a\\x1b[31m.txt")],
)
def test_display_path_escapes_what_cannot_be_shown(raw, shown):
    assert display_path(os.fsdecode(raw) if isinstance(raw, bytes) else raw) == shown


def test_link_to_a_file_outside_the_folder_is_refused(tmp_path):
    docs = _folder(tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text(OTHER_TEXT, encoding="utf-8")
    (docs / "x.txt").symlink_to(secret)
    (docs / "passwd.txt").symlink_to("/etc/passwd")
    documents, reports = load_folder(docs)
    _assert_good_kept(documents, reports)
    assert [d.source for d in documents] == ["good.txt"]
    for name, target in (("x.txt", secret), ("passwd.txt", Path("/etc/passwd"))):
        message = _bad_report(reports, name).message
        assert f"a link to {target.resolve()}, outside the documents folder; refused" in message


def test_link_to_a_folder_outside_is_refused_and_not_followed(tmp_path):
    docs = _folder(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "other.txt").write_text(OTHER_TEXT, encoding="utf-8")
    (docs / "linked").symlink_to(outside, target_is_directory=True)
    documents, reports = load_folder(docs)
    _assert_good_kept(documents, reports)
    assert [d.source for d in documents] == ["good.txt"]
    assert "outside the documents folder; refused" in _bad_report(reports, "linked").message


def test_dangling_link_is_refused(tmp_path):
    docs = _folder(tmp_path)
    (docs / "gone.txt").symlink_to(tmp_path / "nowhere.txt")
    documents, reports = load_folder(docs)
    _assert_good_kept(documents, reports)
    assert "refused" in _bad_report(reports, "gone.txt").message


def test_loop_of_links_is_refused(tmp_path):
    docs = _folder(tmp_path)
    (docs / "a.txt").symlink_to(docs / "b.txt")
    (docs / "b.txt").symlink_to(docs / "a.txt")
    documents, reports = load_folder(docs)
    _assert_good_kept(documents, reports)
    assert [d.source for d in documents] == ["good.txt"]
    assert "a link that leads in a loop; refused" in _bad_report(reports, "a.txt").message


def test_link_inside_the_folder_is_allowed(tmp_path):
    docs = _folder(tmp_path)
    (docs / "sub").mkdir()
    (docs / "sub" / "other.txt").write_text(OTHER_TEXT, encoding="utf-8")
    (docs / "alias.txt").symlink_to(docs / "sub" / "other.txt")
    documents, reports = load_folder(docs)
    assert sorted(d.source for d in documents) == ["alias.txt", "good.txt", "sub/other.txt"]
    assert any(r.ok and "near-duplicate" in r.message for r in reports)


def test_fifo_and_folder_named_like_documents_do_not_hang_or_fail(tmp_path):
    docs = _folder(tmp_path)
    os.mkfifo(docs / "pipe.txt")  # reading it would block forever
    (docs / "folder.txt").mkdir()
    documents, reports = load_folder(docs)
    assert [d.source for d in documents] == ["good.txt"]
    assert [r.path for r in reports] == ["good.txt"]


# --- doc ids --------------------------------------------------------------------------------------
def test_same_stem_different_extension_get_distinct_doc_ids(tmp_path):
    docs = _folder(tmp_path)
    (docs / "report.txt").write_text(OTHER_TEXT, encoding="utf-8")
    (docs / "report.md").write_text(GOOD_TEXT[:2000], encoding="utf-8")
    documents, _ = load_folder(docs)
    ids = {d.source: d.doc_id for d in documents}
    assert ids == {"good.txt": "good", "report.md": "report.md", "report.txt": "report.txt"}
    texts = {d.doc_id: d.display_text for d in documents}
    assert "拱墅区2022年国民经济" in texts["report.txt"] and "拱墅区2022年国民经济" not in texts["report.md"]


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        (["report.txt"], {"report.txt": "report"}),
        (["report.txt", "report.md"], {"report.txt": "report.txt", "report.md": "report.md"}),
        (["a/report.txt", "a/report.md", "report.txt"], {"a/report.txt": "a/report.txt", "a/report.md": "a/report.md",
                                                          "report.txt": "report"}),
        (["report.txt", "report.md", "report.txt.md"],
         {"report.txt": "report.txt", "report.md": "report.md", "report.txt.md": "report.txt~2"}),
        (["x.tar.txt", "x.tar.md", "x.txt"], {"x.tar.txt": "x.tar.txt", "x.tar.md": "x.tar.md", "x.txt": "x"}),
    ],
)
def test_doc_ids_are_unique_and_stems_kept_when_alone(sources, expected):
    ids = assign_doc_ids(sources)
    assert ids == expected
    assert len(set(ids.values())) == len(sources)


def test_seed_doc_ids_are_unchanged():
    documents, _ = load_folder(SEEDS)
    assert sorted(d.doc_id for d in documents) == sorted(p.stem for p in SEEDS.glob("0*.txt"))


# --- manifest -------------------------------------------------------------------------------------
BAD_ENTRIES = [
    ("years = 2021", 'manifest.toml ["other.txt"] years must be a list of years like [2021, 2022], got 2021'),
    ('years = ["2021"]', "years must be a list of years like [2021, 2022], got ['2021']"),
    ("years = [true]", "years must be a list of years"),
    ("years = [20210]", "years must be a list of years"),
    ("title = 5", 'manifest.toml ["other.txt"] title must be text in quotes, got 5'),
    ("region = [\"拱墅区\"]", "region must be text in quotes"),
    ("doc_type = { a = 1 }", "doc_type must be text in quotes"),
    ('regoin = "拱墅区"', "unknown field 'regoin' (known: title, region, years, doc_type)"),
]


@pytest.mark.parametrize(("entry", "message"), BAD_ENTRIES, ids=[e[0] for e in BAD_ENTRIES])
def test_bad_manifest_entry_names_key_and_field_and_the_rest_loads(tmp_path, entry, message):
    docs = _folder(tmp_path)
    (docs / "other.txt").write_text(OTHER_TEXT, encoding="utf-8")
    (docs / "manifest.toml").write_text(f'["other.txt"]\n{entry}\n\n["good.txt"]\nregion = "余杭区"\n', encoding="utf-8")
    documents, reports = load_folder(docs)
    _assert_good_kept(documents, reports)
    assert [d.source for d in documents] == ["good.txt"]
    assert documents[0].metadata_source == "manifest"
    report = _bad_report(reports, "other.txt")
    assert message in report.message and report.message.startswith("other.txt: not indexed")
    with pytest.raises(ManifestError, match="other.txt"):
        read_manifest(docs)  # `rag chunks` reads it strictly


def test_manifest_entry_that_is_not_a_table_is_named(tmp_path):
    docs = _folder(tmp_path)
    (docs / "other.txt").write_text(OTHER_TEXT, encoding="utf-8")
    (docs / "manifest.toml").write_text('"other.txt" = 2021\n', encoding="utf-8")
    documents, reports = load_folder(docs)
    _assert_good_kept(documents, reports)
    assert 'manifest.toml ["other.txt"] must be a table of fields' in _bad_report(reports, "other.txt").message


def test_bad_entry_for_a_missing_file_is_reported_once(tmp_path):
    docs = _folder(tmp_path)
    (docs / "manifest.toml").write_text('["gone.txt"]\nyears = 2021\n', encoding="utf-8")
    documents, reports = load_folder(docs)
    _assert_good_kept(documents, reports)
    report = _bad_report(reports, "manifest.toml")
    assert "years must be a list" in report.message and "(no file uses this entry)" in report.message


@pytest.mark.parametrize(
    ("content", "message"),
    [(b'["good.txt"]\ntitle = "\xb1\xa8\xb8\xe6"\n', "manifest.toml: not UTF-8 text (byte 22); save it as UTF-8"),
     (b"[broken\n", "manifest.toml: invalid TOML"),
     (b'["a.txt"]\nyears = [2021,\n', "manifest.toml: invalid TOML")],
)
def test_unreadable_manifest_stops_with_its_name_before_anything_is_guessed(tmp_path, content, message):
    docs = _folder(tmp_path)
    (docs / "manifest.toml").write_bytes(content)
    with pytest.raises(ManifestError, match=re.escape(message)):
        load_folder(docs)


def test_manifest_that_is_a_folder_is_not_read(tmp_path):
    docs = _folder(tmp_path)
    (docs / "manifest.toml").mkdir()
    documents, _ = load_folder(docs)
    assert [d.source for d in documents] == ["good.txt"]


def test_missing_documents_folder_is_a_clear_error(tmp_path):
    with pytest.raises(LoadError, match="does not exist"):
        load_folder(tmp_path / "nope")
