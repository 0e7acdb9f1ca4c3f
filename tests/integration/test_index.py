"""Index lifecycle: incremental builds re-embed only what changed; status reports the manifest."""

from __future__ import annotations

import shutil

from rag.chunking import chunk_document
from rag.engine import build
from rag.index.build import pipeline_fingerprint
from rag.index.store import load_index
from rag.ingest.load import load_document
from tests.conftest import SEEDS

NEW_REPORT = """关于2023年上城区民生实事项目完成情况的报告
一、总体情况
2023年，上城区十大民生实事项目全部完成，累计完成投资12.6亿元。
二、主要成效
(一)新增托育机构8家，新增托位640个。
(二)改造老旧小区23个，惠及居民1.2万户。
"""


def test_adding_one_document_embeds_only_its_chunks(seed_index, tmp_path, settings, embedder):
    index_dir = tmp_path / "index"
    shutil.copytree(seed_index, index_dir)
    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    new = docs / "上城区 民生实事.txt"  # a path with a space and Chinese characters
    new.write_text(NEW_REPORT, encoding="utf-8")
    expected_new = len(chunk_document(load_document(new, root=docs)))

    manifest = build(settings, docs_dir=docs, index_dir=index_dir, embedder=embedder).manifest
    assert manifest["n_documents"] == 6
    assert manifest["embedded_now"] == expected_new
    assert manifest["reused_embeddings"] == manifest["n_chunks"] - expected_new
    assert manifest["pipeline"] == pipeline_fingerprint()

    new.unlink()  # removing a document embeds nothing and drops its chunks
    manifest = build(settings, docs_dir=docs, index_dir=index_dir, embedder=embedder).manifest
    assert manifest["embedded_now"] == 0
    index = load_index(index_dir, expected_model=settings.embed_model)
    assert all("上城" not in c.doc_id for c in index.chunks)
    assert len(list(index_dir.glob("build-*"))) == 2  # the live build and the one it replaced; older ones go


def test_reused_chunks_equal_fresh_ones(seed_index, settings):
    index = load_index(seed_index, expected_model=settings.embed_model)
    doc = index.documents["004_87d7a1d99ea65eae"]
    fresh = chunk_document(doc)
    stored = [c for c in index.chunks if c.doc_id == doc.doc_id]
    assert [c.indexed_text for c in fresh] == [c.indexed_text for c in stored]


def test_unchanged_files_are_not_read_again(seed_index, tmp_path, settings, embedder, monkeypatch):
    """An incremental build reads and cleans only new or changed files; the rest come from the last build."""
    import rag.ingest.load as load_module

    index_dir = tmp_path / "index"
    shutil.copytree(seed_index, index_dir)
    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    build(settings, docs_dir=docs, index_dir=index_dir, embedder=embedder)  # records file signatures

    (docs / "new.txt").write_text(NEW_REPORT, encoding="utf-8")
    read: list[str] = []
    original = load_module._load

    def counting_load(path, **kwargs):
        read.append(path.name)
        return original(path, **kwargs)

    monkeypatch.setattr(load_module, "_load", counting_load)
    manifest = build(settings, docs_dir=docs, index_dir=index_dir, embedder=embedder).manifest
    assert read == ["new.txt"]
    assert manifest["n_documents"] == 6
    assert manifest["embedded_now"] == len([c for c in load_index(index_dir).chunks if c.doc_id == "new"])
