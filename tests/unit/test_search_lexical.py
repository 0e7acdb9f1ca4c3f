"""The bigram lexical ranker, RRF fusion and the document-level signals, on real seed text (no model)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from rag.index.bm25 import SparseBM25
from rag.records import Chunk, Query
from rag.search.fusion import MetadataBoosts, reciprocal_rank_fusion
from rag.search.titles import DocumentTitles
from rag.zh import char_bigrams, to_search_text

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


@pytest.fixture(scope="module")
def sentences() -> list[str]:
    """Every sentence of the 滨江 2021 plan report, normalised like indexed text."""
    text = to_search_text((SEEDS / "000_e7663ab01f1730df.txt").read_text(encoding="utf-8"))
    return [s for s in re.split(r"(?<=[。;!?])|\n", text) if len(s.strip()) >= 8]


def best(bm25: SparseBM25, query: list[str], corpus: list[str]) -> str:
    ranked = bm25.top(query, 1)
    return corpus[ranked[0][0]] if ranked else ""


def test_bigrams_find_what_word_segmentation_splits_differently(sentences: list[str]) -> None:
    # 「网上零售额」 is segmented into other words than 「社会消费品零售总额」, but both hold 零售.
    bigram = SparseBM25([char_bigrams(s) or ["∅"] for s in sentences])
    top = best(bigram, char_bigrams("网上零售额是多少"), sentences)
    assert "零售" in top
    assert "社会消费品零售总额" in "".join(sentences)


def test_bigram_ranker_prefers_the_sentence_with_the_named_figure(sentences: list[str]) -> None:
    bigram = SparseBM25([char_bigrams(s) or ["∅"] for s in sentences])
    top = best(bigram, char_bigrams("一般公共预算收入多少亿元"), sentences)
    assert "一般公共预算收入" in top and "亿元" in top


def test_bigram_scores_are_bm25_over_bigrams(sentences: list[str]) -> None:
    """The bigram ranker is the same sparse BM25, so its scores equal a direct BM25 over bigram lists."""
    corpus = [char_bigrams(s) or ["∅"] for s in sentences[:40]]
    bm25 = SparseBM25(corpus)
    query = char_bigrams("自营出口额")
    scores = bm25.get_scores(query)
    from rank_bm25 import BM25Okapi

    expected = BM25Okapi(corpus).get_scores(query)
    assert scores == pytest.approx(expected, abs=1e-6)


def test_allowed_rows_filter_inside_the_ranker(sentences: list[str]) -> None:
    bigram = SparseBM25([char_bigrams(s) or ["∅"] for s in sentences])
    allowed = [i for i, s in enumerate(sentences) if "出口" in s][:2]
    ranked = bigram.top(char_bigrams("出口"), 10, allowed=np.asarray(allowed))
    assert {row for row, _ in ranked} == set(allowed)



def test_rrf_weights_and_ranks() -> None:
    fused, per = reciprocal_rank_fusion({"bm25": [(1, 9.0), (2, 5.0)], "bigram": [(2, 3.0)], "dense": [(3, 0.8)]},
                                        {"bm25": 1.0, "bigram": 2.0, "dense": 1.0}, k=60)
    assert fused[2] == pytest.approx(1 / 62 + 2 / 61)
    assert fused[1] == pytest.approx(1 / 61)
    assert max(fused, key=fused.get) == 2
    assert per[2] == {"bm25": 5.0, "bigram": 3.0}


def _chunk(doc_id: str, title: str, region: str, years: tuple[int, ...]) -> Chunk:
    return Chunk(f"{doc_id}#0001", doc_id, "text", 0, 10, "地区生产总值", "地区生产总值", title=title, region=region,
                 years=years)


def test_sure_metadata_counts_more_than_inferred() -> None:
    boosts = MetadataBoosts(region=0.1, year=0.1, sure_region=1.0, sure_year=0.5)
    chunk = _chunk("a", "2026年四川省政府工作报告", "四川省", (2025, 2026))
    assert boosts.score({"四川省"}, {2025}, chunk, sure=True) == pytest.approx(1.5)
    assert boosts.score({"四川省"}, {2025}, chunk, sure=False) == pytest.approx(0.2)
    assert boosts.score({"广东省"}, {2019}, chunk, sure=True) == 0.0


def test_document_titles_rank_the_named_province_first() -> None:
    chunks = [_chunk(f"d{n}", f"2026年{p}政府工作报告", p, (2025, 2026))
              for n, p in enumerate(["广东省", "四川省", "河南省", "山东省"])]
    ranks = DocumentTitles(chunks).ranks(Query(raw="四川2025年GDP", text="四川2025年gdp"))
    assert min(ranks, key=ranks.get) == "d1"
    assert ranks["d1"] == 1


def test_saved_matrix_scores_like_the_built_one(sentences: list[str], tmp_path: Path) -> None:
    from rag.index.bm25 import SortedVocabulary, cached_bm25

    corpus = [char_bigrams(s) for s in sentences]
    built = cached_bm25(lambda: corpus, tmp_path / "bigram", len(corpus))
    assert (tmp_path / "bigram" / "data.npy").is_file()
    loaded = cached_bm25(lambda: pytest.fail("a saved matrix must not be rebuilt"), tmp_path / "bigram", len(corpus))
    assert isinstance(loaded.vocabulary, SortedVocabulary)  # binary search over the saved terms, no dict
    assert set(loaded.vocabulary) == set(built.vocabulary)
    assert all(loaded.vocabulary[t] >= 0 for t in list(built.vocabulary)[:200])
    assert "不存在的词" not in loaded.vocabulary
    for question in ("社会消费品零售总额增长多少", "滨江区2021年地区生产总值", "研发投入占比"):
        query = char_bigrams(question)
        assert loaded.get_scores(query) == pytest.approx(built.get_scores(query))
        assert loaded.top(query, 5) == built.top(query, 5)
    (tmp_path / "bigram" / "data.npy").write_bytes(b"damaged")
    query = char_bigrams("社会消费品零售总额增长多少")
    assert cached_bm25(lambda: corpus, tmp_path / "bigram", len(corpus)).top(query, 5) == built.top(query, 5)


def test_period_matches_results_to_the_reviewing_report_and_targets_to_the_planning_one() -> None:
    from rag.search.fusion import period_matches

    report_2026, report_2025 = (2025, 2026), (2024, 2025)  # each reviews the year before and plans its own
    assert period_matches("value", {2025}, report_2026) and not period_matches("value", {2025}, report_2025)
    assert period_matches("target", {2025}, report_2025) and not period_matches("target", {2025}, report_2026)
    assert period_matches("growth", {2024}, report_2025)
    assert not period_matches("list", {2025}, report_2026)  # not decided by the period
    assert not period_matches("value", set(), report_2026)
    # a question naming the report by its year asks for the report that plans that year, whatever it asks
    assert not period_matches("value", {2024}, report_2025, report_years={2024})  # the 2024 report, not 2025's
    assert period_matches("value", {2024}, (2023, 2024), report_years={2024})
    assert period_matches("", set(), report_2025, report_years={2025})


def test_scoped_rankings_replace_corpus_wide_ones_inside_the_scope() -> None:
    from rag.search.fusion import SCOPED

    rankings = {"bm25": [(7, 9.0), (1, 5.0)], SCOPED + "bm25": [(1, 5.0), (2, 4.0)], "dense": [(2, 0.9), (7, 0.8)],
                SCOPED + "dense": [(2, 0.9), (1, 0.7)]}
    weights = {"bm25": 1.0, "dense": 1.0}
    fused, per = reciprocal_rank_fusion(rankings, weights, k=60, in_scope=lambda row: row in (1, 2))
    assert fused[1] == pytest.approx(1 / 61 + 1 / 62)  # its ranks among the scope's rows, not the corpus's
    assert fused[2] == pytest.approx(1 / 62 + 1 / 61)
    assert fused[7] == pytest.approx(1 / 61 + 1 / 62)  # outside the scope: the corpus-wide ranks
    assert per[1] == {"bm25": 5.0, "dense": 0.7}
    plain, _ = reciprocal_rank_fusion(rankings, weights, k=60)  # no scope: scoped rankings are ignored
    assert plain[1] == pytest.approx(1 / 62) and plain[7] == pytest.approx(1 / 61 + 1 / 62)


def test_a_year_naming_a_report_is_read_as_such() -> None:
    from rag.search.query import report_years

    assert report_years("2024年国务院政府工作报告安排地方政府专项债券多少") == {2024}
    assert report_years("国务院2024年报告提出今年先发行多少超长期特别国债") == {2024}
    assert report_years("新疆2026年报告中政府自身建设包括哪几方面") == {2026}
    assert report_years("四川2025年地区生产总值是多少") == frozenset()


def test_a_question_naming_the_state_council_is_about_the_national_report() -> None:
    from rag.search.query import parse_query

    assert parse_query("2025年国务院政府工作报告赤字率安排是多少", ["全国", "四川省"]).regions == {"全国"}
    assert parse_query("四川2025年地区生产总值是多少", ["全国", "四川省"]).regions == {"四川省"}


def test_a_short_document_is_ranked_as_one_passage() -> None:
    from rag.search.fusion import document_votes

    # rows 0, 1 are one short paragraph (doc 0): its first row wins bm25, its second dense
    rankings = {"bm25": [(0, 5.0), (2, 4.0)], "dense": [(1, 0.9), (2, 0.8)]}
    votes = document_votes(rankings, {"bm25": 1.0, "dense": 1.0}, 60, lambda row: {0: 0, 1: 0, 2: 1}[row])
    assert votes[0] == pytest.approx(1 / 61 + 1 / 61)
    assert votes[1] == pytest.approx(1 / 62 + 1 / 62)
    assert document_votes(rankings, {"bm25": 1.0, "dense": 1.0}, 60, lambda row: None) == {}


def test_a_reports_headings_date_its_parts() -> None:
    from rag.search.fusion import section_matches, section_period

    assert section_period("一、2024年工作回顾") == ({2024}, "review")
    assert section_period("二、2025年工作总体要求和主要目标") == ({2025}, "plan")
    assert section_period("一、2025年工作回顾和“十四五”发展主要成绩") == ({2025}, "review")
    assert section_period("大力发展生命健康产业") is None
    review, plan = ("一、2024年工作回顾", "(一)经济"), ("二、2025年目标任务",)
    assert section_matches("value", {2024}, review) and not section_matches("value", {2025}, plan)
    assert section_matches("", {2024}, review)  # a figure asked without saying for what: the results
    assert section_matches("target", {2025}, plan) and not section_matches("target", {2024}, review)
    assert not section_matches("list", {2024}, review) and not section_matches("value", set(), review)


def test_a_plan_execution_heading_reviews_its_year() -> None:
    from rag.search.fusion import section_period

    # the Binjiang and Gongshu seeds: 「计划执行情况」 says 计划 first but reports how the year went
    assert section_period("一、2021年国民经济和社会发展计划执行情况") == ({2021}, "review")
    assert section_period("一、2022国民经济和社会发展计划执行情况") == ({2022}, "review")  # no 年 after the year
    assert section_period("二、2022年国民经济和社会发展主要预期目标和任务") == ({2022}, "plan")


def test_a_summary_of_five_years_is_no_answer_for_one_year() -> None:
    from rag.search.fusion import sums_up_years

    five = "五年来，我们坚定不移推动高质量发展，经济总量跨过两个万亿元大关。"
    year = "过去一年，全年实现地区生产总值67665亿元，增长5.1%。"
    assert sums_up_years("value", {2025}, "四川2025年地区生产总值是多少", five)
    assert not sums_up_years("value", {2025}, "四川2025年地区生产总值是多少", year)
    assert not sums_up_years("value", {2021, 2025}, "四川这五年地区生产总值年均增长多少", five)
    assert not sums_up_years("target", {2026}, "四川2026年地区生产总值目标", five)
