"""The Milvus backend on milvus-lite: the search contract, filters, incremental writes, and parity with local.

One collection of the seed index is written once for the module; the incremental test has its own
small index. milvus-lite is a pure-Python engine (slow, but exact), the same client API as a server.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import pytest

from rag.config import PROJECT_ROOT
from rag.engine import Engine, build
from rag.index.milvus import MilvusIndex
from rag.index.store import IndexUnavailableError, load_index
from rag.search.backends import open_milvus, sync_milvus
from rag.search.retriever import QueryFilters, Retriever
from tests.conftest import SEEDS

QUESTIONS = [json.loads(line)["question"] for line in
             (PROJECT_ROOT / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def milvus_settings(settings, tmp_path_factory):
    return replace(settings, milvus_uri=str(tmp_path_factory.mktemp("milvus") / "milvus.db"))


@pytest.fixture(scope="module")
def milvus_engine(milvus_settings, seed_index, embedder) -> Engine:
    report = sync_milvus(milvus_settings.milvus_uri, seed_index, expected_model=milvus_settings.embed_model)
    assert report.created and report.rows_written == len(load_index(seed_index).chunks)
    return Engine(milvus_settings, index_dir=seed_index, embedder=embedder, backend="milvus")


def _ids(hits) -> list[str]:
    return [h.chunk.chunk_id for h in hits]


NEAR_TIE = 1e-6  # FAISS here and milvus-lite's engine round dense dot products differently in the last float32 bit


def _assert_same_rankings(local: Retriever, milvus: Retriever, question: str, filters: QueryFilters | None = None):
    """Every ranker's candidates equal, in the same order but within runs of scores closer than NEAR_TIE,
    and scores equal to float32 precision."""
    query = local.parse(question)
    limit = local.weights.candidates
    ours = local.candidate_rankings(query, "hybrid", limit, local.backend.restrict(filters))
    theirs = milvus.candidate_rankings(query, "hybrid", limit, milvus.backend.restrict(filters))
    assert ours.keys() == theirs.keys()
    for name, expected in ours.items():
        got = theirs[name]
        assert [s for _, s in got] == pytest.approx([s for _, s in expected], rel=1e-5, abs=1e-6), (question, name)
        start = 0
        while start < len(expected):
            end = start + 1
            while end < len(expected) and expected[end - 1][1] - expected[end][1] <= NEAR_TIE:
                end += 1
            if end < len(expected):  # a run cut by the candidate limit may hold other rows of the same score
                assert {r for r, _ in got[start:end]} == {r for r, _ in expected[start:end]}, (question, name, start)
            start = end


def test_parity_top10_on_the_seed_eval(engine, milvus_engine):
    """The acceptance figure: the same top-10 as the local backend for >= 99 % of the seed eval's questions."""
    assert milvus_engine.retriever.backend.name == "milvus" and engine.retriever.backend.name == "local"
    same = [_ids(engine.search(q, top_k=10)) == _ids(milvus_engine.search(q, top_k=10)) for q in QUESTIONS]
    assert len(same) == 263
    assert sum(same) / len(same) >= 0.99, f"{sum(same)}/{len(same)} identical"


@pytest.mark.parametrize("mode", ["bm25", "dense"])
def test_single_signal_modes_agree(engine, milvus_engine, mode):
    for q in QUESTIONS[:25]:
        assert _ids(engine.search(q, mode=mode)) == _ids(milvus_engine.search(q, mode=mode)), q


def test_each_ranker_returns_the_local_candidates_and_scores(engine, milvus_engine):
    for q in ["余杭区2021年地区生产总值是多少", "开办首家公立托育园由哪个单位牵头", "拱墅区2023年新增城镇就业目标", "研发投入"]:
        _assert_same_rankings(engine.retriever, milvus_engine.retriever, q)


def test_search_contract(milvus_engine):
    hits = milvus_engine.search("开办首家公立托育园由哪个单位牵头", top_k=10)
    assert [h.rank for h in hits] == list(range(1, 11))
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert hits[0].chunk.doc_id == "003_9122a3b2d2e7a0f6"
    assert {"bm25", "bigram", "dense"} & hits[0].scores.keys()
    assert milvus_engine.search("   ") == []
    answer = milvus_engine.ask("余杭区2021年地区生产总值是多少", llm=False)
    assert "2502.2" in answer.text


@pytest.mark.parametrize("filters", [
    QueryFilters(regions=("余杭区",)),
    QueryFilters(years=(2023,)),
    QueryFilters(regions=("拱墅区", "滨江区"), years=(2022,)),
    QueryFilters(doc_ids=("003_9122a3b2d2e7a0f6",)),
    QueryFilters(regions=("余杭区",), doc_ids=("000_e7663ab01f1730df",)),  # nothing is both: no hits
])
def test_filters_apply_inside_the_search(engine, milvus_engine, filters):
    for q in ["地区生产总值增长多少", "余杭区新增上市企业", "托育"]:
        hits = milvus_engine.search(q, top_k=10, filters=filters)
        assert all(filters.allows(h.chunk) for h in hits)
        assert _ids(hits) == _ids(engine.search(q, top_k=10, filters=filters)), (q, filters)
        _assert_same_rankings(engine.retriever, milvus_engine.retriever, q, filters)


def test_fetch_by_id(engine, milvus_engine):
    chunks = engine.index.chunks[:3]
    rows = milvus_engine.retriever.backend.store.fetch([c.chunk_id for c in chunks] + ["no-such-chunk"], vectors=True)
    assert [r.chunk_id for r in rows] == [c.chunk_id for c in chunks]
    assert [(r.doc_id, r.region, r.years, r.kind) for r in rows] == [(c.doc_id, c.region, c.years, c.kind) for c in chunks]
    assert rows[0].dense == pytest.approx(engine.index.vectors[0].tolist(), abs=1e-6)


NEW_REPORT = """关于2023年上城区民生实事项目完成情况的报告
一、总体情况
2023年，上城区十大民生实事项目全部完成，累计完成投资12.6亿元。
二、主要成效
(一)新增托育机构8家，新增托位640个。
(二)改造老旧小区23个，惠及居民1.2万户。
"""


def test_incremental_writes_only_what_changed(seed_index, tmp_path, milvus_settings, embedder):
    """New, changed and removed documents are written or deleted; unchanged ones are not touched."""
    settings = replace(milvus_settings, milvus_uri=str(tmp_path / "inc.db"))
    index_dir = tmp_path / "index"
    shutil.copytree(seed_index, index_dir)  # every vector is reused: no embedding but the new report's
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("000_e7663ab01f1730df.txt", "003_9122a3b2d2e7a0f6.txt"):
        shutil.copy(SEEDS / name, docs / name)

    def rebuild(backend: str = "milvus"):
        result = build(settings, docs_dir=docs, index_dir=index_dir, embedder=embedder, backend=backend)
        return result.milvus

    def check_parity(rel: float | None = None) -> None:
        index = load_index(index_dir)
        store = MilvusIndex.for_index(settings.milvus_uri, index_dir)
        assert store.count() == len(index.chunks)
        local = Retriever(index, embedder)
        milvus = Retriever(index, embedder)
        milvus.backend = open_milvus(settings.milvus_uri, milvus)
        for q in ["地区生产总值增长多少", "新增托位多少个", "开办首家公立托育园由哪个单位牵头"]:
            if rel is None:
                _assert_same_rankings(local, milvus, q)
            else:  # weights of an older avgdl: the same passages score within `rel` of the local scores
                ours = dict(local.rankings(local.parse(q), "bm25", 100)["bm25"])
                theirs = dict(milvus.rankings(milvus.parse(q), "bm25", 100)["bm25"])
                common = ours.keys() & theirs.keys()
                assert len(common) >= 0.9 * len(ours)
                assert [theirs[r] for r in common] == pytest.approx([ours[r] for r in common], rel=rel)

    first = rebuild()
    assert first.created and sorted(first.written_documents) == ["000_e7663ab01f1730df", "003_9122a3b2d2e7a0f6"]
    check_parity()

    # A renamed file: one document removed, one new with the same text (so the average length is unchanged:
    # no re-weighing, only the new document's rows are written).
    (docs / "003_9122a3b2d2e7a0f6.txt").rename(docs / "003_renamed.txt")
    second = rebuild()
    assert second.removed_documents == ["003_9122a3b2d2e7a0f6"]
    assert second.written_documents == ["003_renamed"] and second.unchanged_documents == 1
    assert second.reweighed_rows == 0
    assert second.rows_written == sum(1 for c in load_index(index_dir).chunks if c.doc_id == "003_renamed")
    store = MilvusIndex.for_index(settings.milvus_uri, index_dir)
    assert store.client.query(store.name, filter='doc_id == "003_9122a3b2d2e7a0f6"', output_fields=["chunk_id"]) == []
    check_parity()

    # A new report and an edited one: their rows are written; the other document is re-weighed only if the
    # corpus's average length moved beyond the tolerance, and the rankings still equal the local ones.
    (docs / "上城区 民生实事.txt").write_text(NEW_REPORT, encoding="utf-8")
    edited = docs / "000_e7663ab01f1730df.txt"
    edited.write_text(edited.read_text(encoding="utf-8") + "\n新增人才公寓1200套。\n", encoding="utf-8")
    third = rebuild()
    index = load_index(index_dir)
    assert sorted(third.written_documents) == sorted(["000_e7663ab01f1730df", "上城区 民生实事"])
    assert third.rows_written == sum(1 for c in index.chunks if c.doc_id != "003_renamed")
    unchanged_rows = sum(1 for c in index.chunks if c.doc_id == "003_renamed")
    if third.reweighed_rows == 0:  # within the tolerance: the stored weights keep the old avgdl, scores differ < 1 %
        check_parity(rel=0.01)
        exact = sync_milvus(settings.milvus_uri, index_dir, avgdl_tolerance=0.0)
        assert exact.written_documents == [] and exact.reweighed_rows == unchanged_rows + third.rows_written
    else:
        assert third.reweighed_rows == unchanged_rows
    check_parity()

    nothing = rebuild()
    assert (nothing.written_documents, nothing.removed_documents, nothing.reweighed_rows) == ([], [], 0)

    rebuild(backend="local")  # a new live build the collection was not written from: refused, with the fix named
    with pytest.raises(IndexUnavailableError, match="--backend milvus"):
        Engine(settings, index_dir=index_dir, embedder=embedder, backend="milvus")
