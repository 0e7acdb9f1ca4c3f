"""The bad-input suite on a real (tiny) index and the real model: hostile folders, damaged indexes,
unwritable places, killed builds and bad command-line input.

Every case checks the message a user gets and that nothing was lost: the last good index still loads
and answers. The CLI runs as a subprocess where a user would run it, and its stderr must hold no
traceback. The index is two short reports (four passages), so each build embeds in seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

import rag.index.build as build_module
import rag.index.store as store_module
from rag.config import PROJECT_ROOT
from rag.engine import Engine, build
from rag.index.store import CURRENT, IndexWriteError, checkpoint_folder, live_build, load_index

REPORT_A = """余杭区2021年国民经济和社会发展计划执行情况
一、总体情况
2021年，余杭区实现地区生产总值2502.2亿元，增长7.5%。
二、社会民生
全年新增中小学学位3200个，改造老旧小区23个。
"""
REPORT_B = """拱墅区2022年政府工作报告
一、工作回顾
2022年，拱墅区一般公共预算收入完成158.3亿元，同比增长6.1%。
二、今年安排
建成保障性租赁住房5000套，新增托位640个。
"""
QUESTION = "余杭区2021年地区生产总值是多少"


@pytest.fixture(scope="module")
def tiny_docs(tmp_path_factory) -> Path:
    docs = tmp_path_factory.mktemp("tiny-docs")
    (docs / "yuhang.txt").write_text(REPORT_A, encoding="utf-8")
    (docs / "gongshu.txt").write_text(REPORT_B, encoding="utf-8")
    return docs


@pytest.fixture(scope="module")
def tiny_index(tmp_path_factory, tiny_docs, settings, embedder) -> Path:
    index_dir = tmp_path_factory.mktemp("tiny-index") / "index"
    build(settings, docs_dir=tiny_docs, index_dir=index_dir, embedder=embedder)
    return index_dir


@pytest.fixture()
def index_copy(tiny_index, tmp_path) -> Path:
    target = tmp_path / "index"
    shutil.copytree(tiny_index, target)
    return target


@pytest.fixture()
def docs_copy(tiny_docs, tmp_path) -> Path:
    target = tmp_path / "docs"
    shutil.copytree(tiny_docs, target)
    return target


def _rag(*args: str, env_extra: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")} | (env_extra or {})
    proc = subprocess.run([sys.executable, "-m", "rag.cli", *args], env=env, capture_output=True, timeout=timeout,
                          cwd=PROJECT_ROOT)
    proc.stdout_text = proc.stdout.decode("utf-8")  # type: ignore[attr-defined]
    proc.stderr_text = proc.stderr.decode("utf-8")  # type: ignore[attr-defined]
    assert "Traceback" not in proc.stderr_text, proc.stderr_text
    return proc


def _answers(index_dir: Path, settings, embedder) -> str:
    """The last good index loads (checksums verified) and answers the question with the real figure."""
    engine = Engine(settings, index_dir=index_dir, embedder=embedder)
    hits = engine.search(QUESTION, top_k=3)
    assert "2502.2" in hits[0].chunk.display_text
    return engine.ask(QUESTION).text


# --- reuse only verified data ----------------------------------------------------------------------
def test_flipped_byte_in_vectors_is_re_embedded_not_laundered(index_copy, tiny_docs, settings, embedder):
    good_vectors = np.array(load_index(index_copy).vectors)  # a copy: a load maps the file edited below
    path = live_build(index_copy) / "vectors.npy"
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x7F  # the exponent byte of the last float: one row now points somewhere else entirely
    path.write_bytes(bytes(data))
    manifest = build(settings, docs_dir=tiny_docs, index_dir=index_copy, embedder=embedder).manifest
    assert manifest["embedded_now"] == manifest["n_chunks"] and manifest["reused_embeddings"] == 0
    assert "vectors.npy is missing or corrupt" in manifest["reuse_note"]
    rebuilt = load_index(index_copy)
    assert np.allclose(rebuilt.vectors, good_vectors, atol=1e-5)  # the corrupt row is gone, not carried over
    _answers(index_copy, settings, embedder)


def test_edited_figure_in_the_index_never_comes_back(index_copy, tiny_docs, settings, embedder):
    for name in ("documents.jsonl", "chunks.jsonl"):
        path = live_build(index_copy) / name
        path.write_text(path.read_text(encoding="utf-8").replace("2502.2", "9999.9"), encoding="utf-8")
    manifest = build(settings, docs_dir=tiny_docs, index_dir=index_copy, embedder=embedder).manifest
    assert "is missing or corrupt" in manifest["reuse_note"]
    rebuilt = load_index(index_copy)
    assert not any("9999.9" in c.display_text for c in rebuilt.chunks)
    assert not any("9999.9" in d.display_text for d in rebuilt.documents.values())
    answer = _answers(index_copy, settings, embedder)
    assert "2502.2" in answer and "9999.9" not in answer


def _flip_vector(index_dir: Path) -> None:
    path = live_build(index_dir) / "vectors.npy"
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x7F
    path.write_bytes(bytes(data))


def _manifest(index_dir: Path) -> Path:
    return live_build(index_dir) / "manifest.json"


DAMAGED_STATES = {
    "current-not-utf8": lambda d: (d / CURRENT).write_bytes(b"\xff\xfe\x00build"),
    "manifest-json-list": lambda d: _manifest(d).write_text("[]"),
    "manifest-not-utf8": lambda d: _manifest(d).write_bytes(b"{\xff}"),
    "vectors-missing": lambda d: (live_build(d) / "vectors.npy").unlink(),
    "vectors-flipped": _flip_vector,
    "build-folder-deleted": lambda d: shutil.rmtree(live_build(d)),
}


@pytest.mark.parametrize("state", list(DAMAGED_STATES), ids=list(DAMAGED_STATES))
def test_cli_recovers_from_a_damaged_index_by_building_fresh(index_copy, tiny_docs, settings, embedder, state):
    DAMAGED_STATES[state](index_copy)
    status = _rag("index", "status", "--index", str(index_copy))
    assert status.returncode == 2 and "rag index build" in status.stderr_text
    proc = _rag("index", "build", "--docs", str(tiny_docs), "--index", str(index_copy))
    assert proc.returncode == 0, proc.stderr_text
    assert "note: the previous index was not reused, building fresh: " in proc.stdout_text
    assert "Indexed 2 documents, 4 chunks (4 embedded, 0 reused)" in proc.stdout_text
    assert _rag("index", "status", "--index", str(index_copy)).returncode == 0
    _answers(index_copy, settings, embedder)


# --- writability and space, checked before any embedding ------------------------------------------------
@pytest.mark.parametrize(
    ("where", "message"),
    [("file", "is a file, not a folder"), ("below-file", "is a file, not a folder"),
     ("read-only", "read-only or not yours")],
)
def test_unwritable_index_is_refused_before_embedding(tmp_path, tiny_docs, tiny_index, settings, embedder, where, message):
    target = {"file": tmp_path / "index", "below-file": tmp_path / "index" / "sub",
              "read-only": Path("/sys/kernel/rag-index")}[where]
    (tmp_path / "index").write_text("a file where the index should go")
    proc = _rag("index", "build", "--docs", str(tiny_docs), "--index", str(target))
    assert proc.returncode == 2
    assert message in proc.stderr_text and "Choose another folder" in proc.stderr_text
    assert "向量化 embedding" not in proc.stderr_text  # refused before the first batch
    _answers(tiny_index, settings, embedder)  # the last good index is untouched


def test_full_disk_is_refused_before_embedding_and_the_index_kept(index_copy, tiny_docs, settings, embedder, monkeypatch):
    before = live_build(index_copy)
    real = shutil.disk_usage

    def almost_full(path):
        return real(path)._replace(free=2_000)  # a few KB left

    monkeypatch.setattr(store_module.shutil, "disk_usage", almost_full)
    calls: list[int] = []

    class CountingEmbedder:
        dimension = embedder.dimension
        backend = embedder.backend

        def encode_passages(self, texts):
            calls.append(len(texts))
            return embedder.encode_passages(texts)

    docs = index_copy.parent / "docs"
    shutil.copytree(tiny_docs, docs)
    (docs / "more.txt").write_text(REPORT_A.replace("余杭", "临平"), encoding="utf-8")  # something new to embed
    with pytest.raises(IndexWriteError, match=r"Not enough disk space .* MB free"):
        build(settings, docs_dir=docs, index_dir=index_copy, embedder=CountingEmbedder())
    assert calls == []
    assert live_build(index_copy) == before
    _answers(index_copy, settings, embedder)


# --- resumable embedding ---------------------------------------------------------------------------------
def test_killed_build_continues_from_the_vectors_already_computed(tmp_path, tiny_docs, settings, embedder, monkeypatch):
    monkeypatch.setattr(build_module, "_EMBED_BATCH", 1)
    monkeypatch.setattr(build_module, "CHECKPOINT_SECONDS", 0.0)
    index_dir = tmp_path / "index"
    checkpoint = checkpoint_folder(index_dir, settings.embed_model, embedder.dimension)
    calls: list[str] = []

    class DyingEmbedder:
        """The real model, killed during its third batch."""

        dimension = embedder.dimension
        backend = embedder.backend

        def encode_passages(self, texts):
            calls.append(texts[0])
            if len(calls) == 3:
                # What a SIGKILL now would leave: the parts of the first two batches are already on disk.
                assert len(list(checkpoint.glob("part-*.npz"))) == 2
                raise KeyboardInterrupt
            return embedder.encode_passages(texts)

    with pytest.raises(KeyboardInterrupt):
        build(settings, docs_dir=tiny_docs, index_dir=index_dir, embedder=DyingEmbedder())
    assert live_build(index_dir) is None  # nothing half-built went live

    manifest = build(settings, docs_dir=tiny_docs, index_dir=index_dir, embedder=embedder).manifest
    assert manifest["resumed_embeddings"] == 2
    assert manifest["embedded_now"] == manifest["n_chunks"] - 2
    assert not checkpoint.exists()  # used up once the build is live
    fresh = np.stack([embedder.encode_passages([c.indexed_text])[0] for c in load_index(index_dir).chunks])
    assert np.allclose(load_index(index_dir).vectors, fresh, atol=1e-4)
    _answers(index_dir, settings, embedder)


def test_sigkilled_cli_build_is_continued_by_the_next_one(tmp_path, tiny_docs, settings, embedder):
    """A real `kill -9` in the middle of embedding: the next `rag index build` embeds only the rest.

    The child is the real CLI with one passage per batch and a checkpoint after every batch, so the
    kill can be timed on the checkpoint parts appearing rather than on the clock.
    """
    import signal
    import time

    index_dir = tmp_path / "index"
    checkpoint = checkpoint_folder(index_dir, settings.embed_model, embedder.dimension)
    code = ("import sys, time, rag.index.build as b; b.CHECKPOINT_SECONDS = 0.0; b._EMBED_BATCH = 1\n"
            "embed = b._embed_with_checkpoints\n"
            "def slow(todo, chunks, vectors, fn, *rest):\n"
            "    return embed(todo, chunks, vectors, lambda texts: (time.sleep(2), fn(texts))[1], *rest)\n"
            "b._embed_with_checkpoints = slow\n"
            "from rag.cli import main; sys.exit(main(sys.argv[1:]))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    child = subprocess.Popen([sys.executable, "-c", code, "index", "build", "--docs", str(tiny_docs),
                              "--index", str(index_dir)], env=env, cwd=PROJECT_ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while len(list(checkpoint.glob("part-*.npz"))) < 2 and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=60)
    saved = len(list(checkpoint.glob("part-*.npz")))
    assert 2 <= saved < 4 and live_build(index_dir) is None  # killed mid-embedding, nothing went live

    proc = _rag("index", "build", "--docs", str(tiny_docs), "--index", str(index_dir))
    assert proc.returncode == 0, proc.stderr_text
    assert f"({4 - saved} embedded, {saved} reused, {saved} of them from an interrupted build)" in proc.stdout_text
    _answers(index_dir, settings, embedder)


def test_resumed_build_is_reported_by_the_cli(tmp_path, tiny_docs, settings, embedder):
    index_dir = tmp_path / "index"
    chunk_text = load_index_chunks_text(tiny_docs, settings)
    store_module.write_checkpoint_part(checkpoint_folder(index_dir, settings.embed_model, embedder.dimension),
                                       [store_module.text_key(chunk_text)], embedder.encode_passages([chunk_text]))
    proc = _rag("index", "build", "--docs", str(tiny_docs), "--index", str(index_dir))
    assert proc.returncode == 0, proc.stderr_text
    assert "(3 embedded, 1 reused, 1 of them from an interrupted build)" in proc.stdout_text
    _answers(index_dir, settings, embedder)


def load_index_chunks_text(docs: Path, settings) -> str:
    from rag.chunking import chunk_document
    from rag.ingest.load import load_folder

    documents, _ = load_folder(docs)
    return chunk_document(documents[0])[0].indexed_text


# --- hostile documents folders through the CLI ---------------------------------------------------------
def _pdf_flate_bomb() -> bytes:
    import io

    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject, StreamObject

    writer = PdfWriter()
    page = writer.add_blank_page(300, 300)
    bomb = StreamObject()
    bomb._data = zlib.compress(b"0 0 m " * 20_000_000, 9)
    bomb[NameObject("/Filter")] = NameObject("/FlateDecode")
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica"),
                             NameObject("/ToUnicode"): writer._add_object(bomb)})
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})})
    content = DecodedStreamObject()
    content.set_data(b"BT /F1 12 Tf 20 200 Td (report) Tj ET")
    page[NameObject("/Contents")] = writer._add_object(content)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_cli_indexes_the_good_files_of_a_hostile_folder(docs_copy, index_copy, settings, embedder):
    import io
    import zipfile

    import docx

    (docs_copy / "odd.txt").write_bytes(REPORT_B.encode("utf-16") + b"\x00")
    (docs_copy / "bomb.pdf").write_bytes(_pdf_flate_bomb())
    word = docx.Document()
    word.add_paragraph(REPORT_B)
    buffer = io.BytesIO()
    word.save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    stripped = io.BytesIO()
    with zipfile.ZipFile(stripped, "w") as archive:
        for name in source.namelist():
            if name != "[Content_Types].xml":
                archive.writestr(name, source.read(name))
    (docs_copy / "notypes.docx").write_bytes(stripped.getvalue())
    (docs_copy / os.fsdecode(b"\xb1\xa8\xb8\xe6.txt")).write_text(REPORT_B, encoding="utf-8")
    (docs_copy / "passwd.txt").symlink_to("/etc/passwd")
    (docs_copy / "report.txt").write_text(REPORT_B.replace("拱墅", "上城"), encoding="utf-8")
    (docs_copy / "report.md").write_text(REPORT_A.replace("余杭", "临平"), encoding="utf-8")
    (docs_copy / "extra.txt").write_text(REPORT_A.replace("余杭", "富阳"), encoding="utf-8")
    (docs_copy / "manifest.toml").write_text('["extra.txt"]\nyears = 2021\n', encoding="utf-8")

    proc = _rag("index", "build", "--docs", str(docs_copy), "--index", str(index_copy))
    assert proc.returncode == 0, proc.stderr_text
    out = proc.stdout_text
    for line in ("SKIP odd.txt: odd.txt: damaged UTF-16 text (truncated data",
                 "SKIP bomb.pdf: bomb.pdf: a compressed stream in the PDF expands beyond the safety limit",
                 "SKIP notypes.docx: notypes.docx: not a readable Word .docx",
                 "SKIP \\xb1\\xa8\\xb8\\xe6.txt: \\xb1\\xa8\\xb8\\xe6.txt: the file name is not valid UTF-8",
                 "SKIP passwd.txt: passwd.txt: a link to /etc/passwd, outside the documents folder; refused",
                 'SKIP extra.txt: extra.txt: not indexed: manifest.toml ["extra.txt"] years must be a list of years'):
        assert line in out, out
    assert "Indexed 4 documents" in out
    index = load_index(index_copy)
    assert sorted(index.documents) == ["gongshu", "report.md", "report.txt", "yuhang"]
    assert len({c.chunk_id for c in index.chunks}) == len(index.chunks)
    assert "上城" in index.documents["report.txt"].display_text and "临平" in index.documents["report.md"].display_text
    assert not any("root:" in c.display_text for c in index.chunks)
    _answers(index_copy, settings, embedder)


def test_folder_of_only_bad_files_keeps_the_last_index(tmp_path, index_copy, settings, embedder):
    before = live_build(index_copy)
    docs = tmp_path / "bad"
    docs.mkdir()
    (docs / "odd.txt").write_bytes(REPORT_A.encode("utf-16") + b"\x00")
    (docs / "empty.md").write_bytes(b"")
    proc = _rag("index", "build", "--docs", str(docs), "--index", str(index_copy))
    assert proc.returncode == 2
    assert "No documents could be loaded" in proc.stderr_text and "odd.txt: damaged UTF-16" in proc.stderr_text
    assert live_build(index_copy) == before
    _answers(index_copy, settings, embedder)


@pytest.mark.parametrize(
    ("manifest", "message"),
    [(b'["yuhang.txt"]\ntitle = "\xd3\xe0\xba\xbc"\n', "manifest.toml: not UTF-8 text"),
     (b"[yuhang.txt\n", "manifest.toml: invalid TOML")],
)
def test_unreadable_manifest_stops_the_build_by_name(docs_copy, index_copy, settings, embedder, manifest, message):
    before = live_build(index_copy)
    (docs_copy / "manifest.toml").write_bytes(manifest)
    proc = _rag("index", "build", "--docs", str(docs_copy), "--index", str(index_copy))
    assert proc.returncode == 2 and message in proc.stderr_text
    assert live_build(index_copy) == before
    _answers(index_copy, settings, embedder)


def test_missing_documents_folder_is_one_line(tmp_path, index_copy, settings, embedder):
    proc = _rag("index", "build", "--docs", str(tmp_path / "nope"), "--index", str(index_copy))
    assert proc.returncode == 2 and "does not exist" in proc.stderr_text
    _answers(index_copy, settings, embedder)


def test_document_over_the_passage_limit_is_skipped_with_advice(docs_copy, index_copy, settings, embedder, monkeypatch):
    monkeypatch.setattr(build_module, "MAX_CHUNKS_PER_DOCUMENT", 2)
    (docs_copy / "long.txt").write_text(REPORT_B + "\n三、其他\n新增公园12个。\n四、保障\n完善制度。\n", encoding="utf-8")
    manifest = build(settings, docs_dir=docs_copy, index_dir=index_copy, embedder=embedder).manifest
    (skipped,) = manifest["skipped_documents"]
    assert skipped.startswith("long.txt: ") and "is more than the limit of 2 per document" in skipped
    assert manifest["n_documents"] == 2
    _answers(index_copy, settings, embedder)


# --- command-line input ----------------------------------------------------------------------------------
def test_batch_search_reports_bad_lines_and_answers_the_rest(tmp_path, tiny_index):
    path = tmp_path / "questions.jsonl"
    path.write_bytes(
        b'{"id": "q1", "question": "\xe4\xbd\x99\xe6\x9d\xad\xe5\x8c\xba\xe5\x9c\xb0\xe5\x8c\xba\xe7\x94\x9f\xe4\xba\xa7\xe6\x80\xbb\xe5\x80\xbc"}\n'
        b'{"id": "q2"}\n'
        b'{"id": "q3", "question": 5}\n'
        b'{"id": "q4", "question": null}\n'
        b'{"id": "q5", "question": "\xff"}\n'
        b"not json\n"
        b"\n"
        b'{"id": "q8", "question": "GDP"}\n'
    )
    proc = _rag("search", "--batch", str(path), "--index", str(tiny_index), "--json", "--top-k", "2")
    assert proc.returncode == 1
    rows = [json.loads(line) for line in proc.stdout_text.splitlines()]
    assert [r["id"] for r in rows] == ["q1", "q2", "q3", "q4", None, None, "q8"]
    assert "2502.2" in rows[0]["hits"][0]["text"]
    assert [r.get("line") for r in rows if "error" in r] == [2, 3, 4, 5, 6]
    assert len(rows[-1]["hits"]) == 2
    for number, message in ((2, 'has no "question"'), (3, '"question" must be text, got 5'),
                            (4, '"question" must be text, got null'), (5, "not valid UTF-8"), (6, "not valid JSON")):
        assert f"{path}:{number}: {message}" in proc.stderr_text
    assert "5 of 7 lines could not be searched" in proc.stderr_text


@pytest.mark.parametrize(
    ("config", "message"),
    [(b"embed_model = 5\n", "embed_model must be a text value in quotes, got 5"),
     (b'index_dir = ["a"]\n', "index_dir must be a text value in quotes"),
     (b"llm = 5\n", "[llm] must be a table"),
     (b"[llm]\nbase_url = true\n", "llm.base_url must be a text value"),
     (b'embed_backend = "gpu"\n', "embed_backend must be one of auto, onnx-int8, torch"),
     (b'docs_dir = "\xff"\n', "Cannot read config file")],
)
def test_config_values_of_the_wrong_type_are_refused_by_name(tmp_path, tiny_index, settings, embedder, config, message):
    path = tmp_path / "rag.toml"
    path.write_bytes(config)
    proc = _rag("search", "余杭", "--index", str(tiny_index), "--mode", "bm25", env_extra={"RAG_CONFIG": str(path)})
    assert proc.returncode == 2 and message in proc.stderr_text
    _answers(tiny_index, settings, embedder)


@pytest.mark.parametrize("question", [b"\xff\xfe\xb1\xa8", "余杭\x1b[31mGDP\u202e".encode(), b"\xe4\xbd"])
def test_question_bytes_that_are_not_utf8_get_an_answer_not_a_traceback(tiny_index, question):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    proc = subprocess.run([sys.executable, "-m", "rag.cli", "search", question, "--index", os.fsencode(tiny_index),
                           "--json", "--top-k", "2"], env=env, capture_output=True, timeout=300, cwd=PROJECT_ROOT)
    assert proc.returncode == 0 and b"Traceback" not in proc.stderr, proc.stderr.decode("utf-8", "replace")
    result = json.loads(proc.stdout)
    assert len(result["hits"]) <= 2
