"""A failed or killed build never breaks the last good index; damage is detected with a clear message;
concurrent questions get the same answers as sequential ones; hostile questions get sensible replies."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from rag.engine import Engine, build
from rag.index.store import CURRENT, IndexUnavailableError, live_build, load_index
from tests.conftest import SEEDS


@pytest.fixture()
def index_copy(seed_index, tmp_path) -> Path:
    target = tmp_path / "index"
    shutil.copytree(seed_index, target)
    return target


def _rag(*args: str, env_extra: dict | None = None) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")} | (env_extra or {})
    return subprocess.Popen([sys.executable, "-m", "rag.cli", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("kill_after_s", [0.5, 4.0, 9.0, 14.0])
def test_sigkill_during_build_leaves_previous_index_loadable(index_copy, tmp_path, settings, embedder, kill_after_s):
    before = json.loads((live_build(index_copy) / "manifest.json").read_text())
    docs = tmp_path / "docs"
    docs.mkdir()
    for path in SEEDS.glob("00[0-2]*.txt"):  # a different corpus, so the build really re-embeds
        (docs / path.name).write_text(path.read_text(encoding="utf-8")[:8000] + "\n新增段落。", encoding="utf-8")
    proc = _rag("index", "build", "--docs", str(docs), "--index", str(index_copy))
    time.sleep(kill_after_s)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    index = load_index(index_copy, expected_model=settings.embed_model)  # verifies checksums
    # Either the kill came before the commit point (the old index is live) or after it (the new,
    # complete index is live); never anything in between.
    if index.manifest["built_at"] != before["built_at"]:
        assert index.manifest["n_documents"] == 3
    else:
        assert index.manifest["n_documents"] == before["n_documents"]
    engine = Engine(settings, index_dir=index_copy, embedder=embedder)
    assert engine.search("余杭区2021年地区生产总值是多少", top_k=5)


def test_failure_while_writing_keeps_last_index_and_cleans_up(index_copy, settings, embedder, monkeypatch):
    before = live_build(index_copy)

    def broken_save(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        build(settings, docs_dir=SEEDS, index_dir=index_copy, embedder=embedder)
    assert live_build(index_copy) == before
    assert not [p for p in index_copy.iterdir() if p.name.startswith(".staging-")]
    load_index(index_copy, expected_model=settings.embed_model)


def test_truncated_file_is_detected(index_copy, settings):
    vectors = live_build(index_copy) / "vectors.npy"
    vectors.write_bytes(vectors.read_bytes()[:1000])
    with pytest.raises(IndexUnavailableError, match=r"corrupt.*rag index build"):
        load_index(index_copy, expected_model=settings.embed_model)


def test_altered_chunk_text_is_detected(index_copy, settings):
    chunks = live_build(index_copy) / "chunks.jsonl"
    chunks.write_text(chunks.read_text(encoding="utf-8").replace("余杭", "余姚", 1), encoding="utf-8")
    with pytest.raises(IndexUnavailableError, match="checksum"):
        load_index(index_copy, expected_model=settings.embed_model)


def test_other_format_version_is_refused(index_copy, settings):
    manifest_path = live_build(index_copy) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["format_version"] = 999
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(IndexUnavailableError, match="format version 999"):
        load_index(index_copy, expected_model=settings.embed_model)


def test_dangling_current_pointer_is_reported(index_copy, settings):
    (index_copy / CURRENT).write_text("build-missing\n")
    with pytest.raises(IndexUnavailableError, match="No index found"):
        load_index(index_copy, expected_model=settings.embed_model)


def test_cli_reports_corruption_without_traceback(index_copy):
    (live_build(index_copy) / "bm25_tokens.jsonl").write_text("not json\n")
    proc = _rag("search", "拱墅", "--index", str(index_copy), "--mode", "bm25")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert "rag index build" in err and "Traceback" not in err


def test_twenty_concurrent_questions_match_sequential(engine):
    from rag.config import PROJECT_ROOT
    from rag.evaluation.metrics import load_questions

    questions = [q.question for q in load_questions(PROJECT_ROOT / "eval" / "questions.jsonl")][:40]
    sequential = [[h.chunk.chunk_id for h in engine.search(q, top_k=10)] for q in questions]
    with ThreadPoolExecutor(max_workers=20) as pool:
        concurrent = list(pool.map(lambda q: [h.chunk.chunk_id for h in engine.search(q, top_k=10)], questions))
    assert concurrent == sequential


@pytest.mark.parametrize(
    "question",
    ["", "   ", "？？？！！！。。。", "😀🎉🔥", "拱墅" * 5000, "'; DROP TABLE chunks; --",
     "<script>alert('x')</script>拱墅2022年指标", "<b>余杭</b> GDP"],
)
def test_hostile_questions_get_sensible_replies(engine, question):
    hits = engine.search(question, top_k=5)
    assert len(hits) <= 5
    answer = engine.ask(question)
    assert answer.text
    assert "<script>" not in answer.text


def test_load_test_runs_sessions_without_errors(engine):
    from rag.evaluation.loadtest import run_load

    result = run_load(engine, ["余杭区2021年地区生产总值是多少", "拱墅2022年哪些指标未完成", "滨江2021年新增学位多少个"],
                      sessions=4, duration_s=3.0)
    summary = result.summary()
    assert summary["errors"] == 0, result.errors[:1]
    assert summary["answers"] >= 4
    assert summary["p95_ms"] >= summary["p50_ms"] > 0
    # No stampede tail: sessions starting together once each loaded jieba's dictionary (27 s answers).
    assert summary["max_ms"] < 3000, summary


def test_rebuild_while_users_query_never_serves_a_half_built_index(index_copy, settings, embedder):
    import threading

    engine = Engine(settings, index_dir=index_copy, embedder=embedder)
    errors: list[BaseException] = []
    answers: list[int] = []
    stop = threading.Event()

    def user() -> None:
        while not stop.is_set():
            try:
                answers.append(len(engine.search("余杭区2021年地区生产总值是多少", top_k=5)))
                Engine(settings, index_dir=index_copy, embedder=embedder)  # a new session loading the live index
            except BaseException as exc:  # noqa: BLE001 - any failure is the finding
                errors.append(exc)

    threads = [threading.Thread(target=user) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        build(settings, docs_dir=SEEDS, index_dir=index_copy, embedder=embedder)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors[:1]
    assert answers and all(n == 5 for n in answers)


def test_two_thousand_page_pdf_stand_in_is_reported_and_the_rest_indexed(tmp_path):
    from pypdf import PdfWriter

    from rag.ingest.load import load_folder

    writer = PdfWriter()
    for _ in range(2000):
        writer.add_blank_page(width=595, height=842)
    with (tmp_path / "扫描件 2000页.pdf").open("wb") as handle:
        writer.write(handle)
    (tmp_path / "ok.txt").write_text("余杭区2021年实现地区生产总值2502.2亿元，增长7.5%。", encoding="utf-8")
    started = time.perf_counter()
    documents, reports = load_folder(tmp_path)
    assert time.perf_counter() - started < 60
    assert [d.source for d in documents] == ["ok.txt"]
    pdf_report = next(r for r in reports if r.path.endswith(".pdf"))
    assert not pdf_report.ok and "text layer" in pdf_report.message
