"""End-to-end search over the real seeds: the contract, the modes, and answers that must be found."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from rag.index.store import IndexUnavailableError, load_index
from rag.zh import normalize_query

CONTRACT_KEYS = {"rank", "score", "doc_id", "source", "title", "section", "text", "chunk_id"}


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_yuhang_gdp_passage_in_top5(engine, mode):
    hits = engine.search("余杭区2021年地区生产总值是多少", mode=mode, top_k=5)
    assert any("2502.2" in h.chunk.display_text for h in hits), [h.chunk.display_text[:60] for h in hits]


def test_contract_shape_and_ranks(engine):
    hits = engine.search("开办首家公立托育园由哪个单位牵头", top_k=10)
    rows = [h.to_contract() for h in hits]
    assert len(rows) == 10
    assert all(CONTRACT_KEYS <= row.keys() for row in rows)
    assert [r["rank"] for r in rows] == list(range(1, 11))
    scores = [r["score"] for r in rows]
    assert scores == sorted(scores, reverse=True)
    assert rows[0]["doc_id"] == "003_9122a3b2d2e7a0f6"


def test_traditional_and_simplified_queries_retrieve_the_same(engine):
    simplified = engine.search("余杭2021年新增上市企业多少家", top_k=10)
    traditional = engine.search("餘杭2021年新增上市企業多少家", top_k=10)
    assert normalize_query("餘杭2021年新增上市企業多少家") == "余杭2021年新增上市企业多少家"
    assert [h.chunk.chunk_id for h in simplified] == [h.chunk.chunk_id for h in traditional]


def test_traditional_source_is_shown_in_traditional(engine):
    hits = engine.search("余杭区2021年地区生产总值是多少", top_k=5)
    hit = next(h for h in hits if "2502.2" in h.chunk.display_text)
    assert "億元" in hit.chunk.display_text  # original characters, not the Simplified search form
    assert "亿元" in hit.chunk.body


def test_region_in_question_prefers_that_region(engine):
    hits = engine.search("拱墅2022年新增就业多少万人", top_k=3)
    assert hits[0].chunk.region == "拱墅区"


def test_ask_gives_cited_answer(engine):
    answer = engine.ask("余杭区2021年地区生产总值是多少")
    assert answer.found
    assert "2502.2" in answer.text
    assert "[1]" in answer.text
    assert answer.citations[0].number == 1


def test_ask_declines_when_documents_do_not_say(engine):
    answer = engine.ask("西湖区2022年财政收入是多少")
    assert not answer.found
    assert "未在文档中找到" in answer.text


def test_empty_question_returns_nothing(engine):
    assert engine.search("   ", top_k=5) == []
    assert not engine.ask("？？？").found


def test_index_refuses_other_model(seed_index):
    with pytest.raises(IndexUnavailableError, match="rag index build"):
        load_index(seed_index, expected_model="BAAI/bge-small-zh-v1.5")


def test_cli_search_json_and_batch(seed_index, tmp_path):
    """The documented contract through the real CLI (`rag search --json`, `--batch`)."""
    cmd = [sys.executable, "-m", "rag.cli", "search", "--index", str(seed_index), "--top-k", "5", "--json"]
    out = subprocess.run(cmd + ["余杭区2021年地区生产总值是多少"], capture_output=True, text=True, check=True,
                         env=_clean_env())
    payload = json.loads(out.stdout)
    assert payload["question"] == "余杭区2021年地区生产总值是多少"
    assert len(payload["hits"]) == 5 and CONTRACT_KEYS <= payload["hits"][0].keys()

    batch = tmp_path / "q.jsonl"
    batch.write_text('{"id": "a", "question": "开办首家公立托育园由哪个单位牵头"}\n'
                     '{"id": "b", "question": "钱塘新区2020年要为民办好哪十件实事"}\n', encoding="utf-8")
    out = subprocess.run(cmd[:-1] + ["--batch", str(batch)], capture_output=True, text=True, check=True, env=_clean_env())
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["a", "b"]
    assert all(len(line["hits"]) == 5 for line in lines)


def test_cli_missing_index_says_what_to_do(tmp_path):
    out = subprocess.run([sys.executable, "-m", "rag.cli", "search", "x", "--index", str(tmp_path / "none")],
                         capture_output=True, text=True, env=_clean_env())
    assert out.returncode == 2
    assert "rag index build" in out.stderr
    assert "Traceback" not in out.stderr


def _clean_env():
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}


def test_narrow_filter_returns_its_best_passages(engine):
    """Filters act inside every ranker: a document whose passages rank nowhere near the top 100
    unfiltered still gets its full top k when the search is limited to it."""
    from rag.search.retriever import QueryFilters

    question = "余杭区2021年地区生产总值是多少"
    unfiltered = engine.search(question, top_k=100)
    narrow = "004_87d7a1d99ea65eae"  # 钱塘新区 2020: nothing about 余杭
    filtered = engine.search(question, top_k=10, filters=QueryFilters(doc_ids=(narrow,)))
    assert len(filtered) == 10
    assert all(h.chunk.doc_id == narrow for h in filtered)
    # its best passages are those the unfiltered ranking ranks first among that document's chunks
    best_unfiltered = [h.chunk.chunk_id for h in unfiltered if h.chunk.doc_id == narrow][:3]
    assert set(best_unfiltered) <= {h.chunk.chunk_id for h in filtered}
    by_year = engine.search("新增就业", top_k=10, filters=QueryFilters(regions=("拱墅区",), years=(2022,)))
    assert by_year and all(h.chunk.region == "拱墅区" and 2022 in h.chunk.years for h in by_year)


def test_hybrid_fuses_the_bigram_ranker(engine):
    """Hybrid search fuses jieba BM25, bigram BM25 and dense; bigrams come from the index files."""
    assert len(engine.index.bigrams) == len(engine.index.chunks)
    hits = engine.search("余杭区2021年地区生产总值是多少", top_k=10)
    assert any("bigram" in h.scores for h in hits)
    assert all("bigram" not in h.scores for h in engine.search("余杭区2021年地区生产总值是多少", mode="bm25"))


def test_hits_carry_whole_passages_in_document_order(engine):
    hits = engine.search("钱塘新区2020年要为民办好哪十件实事", top_k=10)
    widened = [h for h in hits if h.passage]
    assert widened
    for hit in widened:
        assert hit.chunk in hit.passage
        assert all(c.doc_id == hit.chunk.doc_id and c.breadcrumb == hit.chunk.breadcrumb for c in hit.passage)
        assert [c.start for c in hit.passage] == sorted(c.start for c in hit.passage)


def test_a_region_named_by_sure_metadata_is_searched_on_its_own(engine):
    """The documents a question names by a manifest or a title are ranked among themselves (scoped
    rankings), the lexical rankers reading the question without the place's names."""
    retriever = engine.retriever
    query = retriever.parse("滨江2021年空气优良率是多少")
    rankings = retriever.candidate_rankings(query, "hybrid", 100)
    assert {"scoped:bm25", "scoped:bigram", "scoped:dense"} <= set(rankings)
    scope = retriever.in_scope(query)
    assert scope and all(retriever.chunks[row].doc_id in scope for row, _ in rankings["scoped:bm25"])
    assert "滨江" not in retriever._without_regions(query).text
    hits = engine.search("滨江2021年空气优良率是多少", top_k=3)
    assert "87.2%" in hits[0].chunk.display_text


def test_colloquial_questions_lean_on_dense(engine):
    """Words no passage uses (腰包, 鼓) shrink the lexical rankers' weight; report words keep it."""
    retriever = engine.retriever
    literal = retriever.lexical_trust(retriever.parse("余杭2021年地区生产总值是多少"))
    colloquial = retriever.lexical_trust(retriever.parse("余杭人2021年腰包鼓了多少"))
    assert literal == 1.0
    assert retriever.weights.lexical_floor <= colloquial < 0.75
