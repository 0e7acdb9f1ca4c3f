"""The Milvus backend's pieces that need no Milvus: sparse weights equal to our BM25, filters, settings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.config import ConfigError, load_settings
from rag.index.bm25 import SparseBM25
from rag.index.milvus import (
    average_length,
    collection_name,
    doc_weights,
    filter_expression,
    hash_collisions,
    query_weights,
    term_id,
)
from rag.search.backends import by_score_then_row
from rag.zh import char_bigrams, tokenize

TEXTS = [
    "2021年全区实现地区生产总值2502.2亿元，增长8.9%。",
    "一般公共预算收入完成310.5亿元，增长12.1%。",
    "新增上市企业12家，累计达到45家。",
    "开办首家公立托育园，新增托位640个。",
    "",  # a chunk with no tokens: BM25 scores it by a placeholder token, Milvus must too
    "地区生产总值增长目标为6%左右，一般公共预算收入增长5%。",
]


@pytest.mark.parametrize("analyse", [tokenize, char_bigrams])
def test_inner_product_of_our_weights_is_the_bm25_score(analyse) -> None:
    corpus = [analyse(t) for t in TEXTS]
    bm25 = SparseBM25([t or ["∅"] for t in corpus])
    assert average_length(corpus) == pytest.approx(bm25.avgdl)
    docs = [doc_weights(t, bm25.avgdl, bm25.k1, bm25.b) for t in corpus]
    for question in ("地区生产总值增长多少", "一般公共预算收入", "托育园托位", "上市企业上市企业"):
        q = query_weights(analyse(question), bm25)
        milvus = np.asarray([sum(w * d.get(k, 0.0) for k, w in q.items()) for d in docs])
        assert milvus == pytest.approx(bm25.get_scores(analyse(question)), abs=1e-9)


def test_term_ids_are_stable_and_in_milvus_range() -> None:
    assert term_id("地区") == term_id("地区")
    ids = {term_id(t) for t in ["地区", "生产", "总值", "∅", "2021"]}
    assert len(ids) == 5 and all(0 <= i < 2**32 - 1 for i in ids)
    assert hash_collisions(char_bigrams("".join(TEXTS))) == 0


def test_filter_expression_says_what_query_filters_allow() -> None:
    assert filter_expression() == ""
    expr = filter_expression(regions=("余杭区", 'a"b'), years=(2021,), doc_ids=("d1",))
    assert expr == ('region in ["余杭区", "a\\"b"] and ARRAY_CONTAINS_ANY(years, [2021]) and doc_id in ["d1"]')


def test_ties_are_ordered_by_row_at_float32_precision() -> None:
    # 1.0 and 1.0 + 1e-12 are the same float32: a tie, broken by row on every backend
    assert by_score_then_row([(7, 1.0), (3, 1.0 + 1e-12), (5, 2.0)]) == [(5, 2.0), (3, 1.0 + 1e-12), (7, 1.0)]


def test_collection_name_is_one_per_index_folder(tmp_path: Path) -> None:
    assert collection_name(tmp_path / "a") == collection_name(tmp_path / "a" / ".." / "a")
    assert collection_name(tmp_path / "a") != collection_name(tmp_path / "b")
    assert collection_name(tmp_path / "a").replace("_", "").isalnum()


def _settings_from(tmp_path: Path, text: str):
    path = tmp_path / "rag.toml"
    path.write_text(text, encoding="utf-8")
    return load_settings(environ={}, config_path=path)


def test_backend_settings(tmp_path: Path) -> None:
    assert _settings_from(tmp_path, "").backend == "local"
    settings = _settings_from(tmp_path, 'backend = "milvus"\nmilvus_uri = "./milvus.db"\n')
    assert (settings.backend, settings.milvus_uri) == ("milvus", "./milvus.db")
    assert _settings_from(tmp_path, 'milvus_uri = "http://milvus:19530"\n').milvus_uri == "http://milvus:19530"
    env = load_settings(environ={"RAG_BACKEND": "milvus"}, config_path=tmp_path / "missing.toml")
    assert env.backend == "milvus"


@pytest.mark.parametrize(("text", "named"), [
    ('backend = "elastic"\n', "backend must be one of local, milvus"),
    ('milvus_uri = "milvus:19530"\n', "milvus_uri must be"),
    ('backend = ""\n', "backend must not be empty"),
])
def test_bad_backend_settings_are_refused(tmp_path: Path, text: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        _settings_from(tmp_path, text)
