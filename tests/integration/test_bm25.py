"""The sparse BM25 scorer equals rank-bm25's BM25Okapi on the real seed chunks."""

from __future__ import annotations

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from rag.index.bm25 import SparseBM25
from rag.index.store import load_index
from rag.zh import tokenize

QUESTIONS = [
    "余杭区2021年地区生产总值是多少",
    "拱墅2022年哪些指标未完成",
    "开办首家公立托育园由哪个单位牵头",
    "钱塘新区2020年要为民办好哪十件实事",
    "滨江 滨江 高新区 2021 数字经济",  # repeated tokens count twice in rank-bm25
    "完全无关的问题 quantum chromodynamics",
]


@pytest.fixture(scope="module")
def corpus(seed_index):
    return [t or ["∅"] for t in load_index(seed_index, verify=False).tokens]


@pytest.mark.parametrize(("k1", "b"), [(1.5, 0.75), (1.2, 0.5)])
def test_scores_equal_rank_bm25(corpus, k1, b):
    reference = BM25Okapi(corpus, k1=k1, b=b)
    ours = SparseBM25(corpus, k1=k1, b=b)
    for question in QUESTIONS:
        tokens = tokenize(question)
        np.testing.assert_allclose(ours.get_scores(tokens), reference.get_scores(tokens), atol=1e-6, rtol=0)


def test_top_is_sorted_and_positive(corpus):
    ours = SparseBM25(corpus)
    top = ours.top(tokenize("余杭区2021年地区生产总值是多少"), 20)
    assert len(top) == 20
    scores = [s for _, s in top]
    assert scores == sorted(scores, reverse=True) and scores[-1] > 0
    assert ours.top(["不存在的词语xyz"], 10) == []
