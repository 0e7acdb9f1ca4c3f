"""Reciprocal-rank fusion and metadata boosts as pure functions: rankings in, fused scores out."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from rag.lexicon import lexicon
from rag.records import Chunk
from rag.zh import HAN, years_in

Ranking = Sequence[tuple[int, float]]  # (row, score), best first


# Rankings named with this prefix were run inside the documents the question names by sure metadata
# (see `Retriever.scoped_rankings`); for a row of those documents they replace the corpus-wide ones.
SCOPED = "scoped:"


def _votes(rankings: Mapping[str, Ranking], weights: Mapping[str, float], k: int,
           in_scope: Callable[[int], bool] | None) -> Iterator[tuple[int, str, float, float]]:
    """(row, ranker, weighted RRF vote, raw score) of every ranking entry that counts: a ``scoped:``
    ranking for the rows in scope, the plain one for the rows outside it (scoped ones ignored without
    `in_scope`)."""
    for name, ranking in rankings.items():
        scoped = name.startswith(SCOPED)
        if scoped and in_scope is None:
            continue
        base = name.removeprefix(SCOPED)
        weight = weights.get(base, 1.0)
        for rank, (row, score) in enumerate(ranking, start=1):
            if in_scope is not None and in_scope(row) != scoped:
                continue
            yield row, base, weight / (k + rank), score


def reciprocal_rank_fusion(rankings: Mapping[str, Ranking], weights: Mapping[str, float], k: int = 60,
                           in_scope: Callable[[int], bool] | None = None,
                           ) -> tuple[dict[int, float], dict[int, dict[str, float]]]:
    """Σ weight / (k + rank) per row over the rankers that returned it; also each ranker's raw score.

    With `in_scope`, a ranking named ``scoped:<ranker>`` counts for the rows in scope and the plain
    ``<ranker>`` ranking for the rows outside it: a row of the documents the question is about is
    ranked among those documents' rows (where 62 reports that all speak of GDP no longer crowd it out
    of the top candidates), every other row as before. Without it, scoped rankings are ignored.
    """
    fused: dict[int, float] = {}
    per_ranker: dict[int, dict[str, float]] = {}
    for row, ranker, vote, score in _votes(rankings, weights, k, in_scope):
        fused[row] = fused.get(row, 0.0) + vote
        per_ranker.setdefault(row, {})[ranker] = score
    return fused, per_ranker


def document_votes(rankings: Mapping[str, Ranking], weights: Mapping[str, float], k: int,
                   document_of: Callable[[int], int | None], in_scope: Callable[[int], bool] | None = None,
                   ) -> dict[int, float]:
    """Per document (`document_of(row)`, None for rows not to pool): Σ over the rankers of the best RRF
    vote any of its rows got — the document ranked as one passage, so a paragraph whose question words
    fall in one chunk and whose meaning in the next is not outvoted by a paragraph that wins neither."""
    best: dict[int, dict[str, float]] = {}
    for row, ranker, vote, _ in _votes(rankings, weights, k, in_scope):
        doc = document_of(row)
        if doc is None:
            continue
        votes = best.setdefault(doc, {})
        votes[ranker] = max(votes.get(ranker, 0.0), vote)
    return {doc: sum(votes.values()) for doc, votes in best.items()}


# Where a document's region and years came from, and whether that is sure enough to weigh heavily:
# a manifest entry or the document's own title names them; a count of mentions in the text may not.
SURE_METADATA = frozenset({"manifest", "title"})


@dataclass(frozen=True)
class MetadataBoosts:
    """Region/year boosts, in units of a first-place RRF vote, by how sure the chunk's metadata is."""

    region: float = 0.1
    year: float = 0.25
    sure_region: float = 0.1
    sure_year: float = 0.25

    def score(self, regions: Collection[str], years: Collection[int], chunk: Chunk, sure: bool) -> float:
        boost = 0.0
        if regions and chunk.region in regions:
            boost += self.sure_region if sure else self.region
        if years and set(years) & set(chunk.years):
            boost += self.sure_year if sure else self.year
        return boost


def period_matches(measure: str, query_years: Collection[int], doc_years: Collection[int],
                   report_years: Collection[int] = ()) -> bool:
    """Does a document covering `doc_years` report the period the question asks about?

    Annual reports review the years before their latest and plan the latest: results of year Y
    ("value", "growth") are in a report that reviews Y, targets of Y ("target") in the report that
    plans Y. Other questions (lists, policies) are not decided by this. A question that names the
    report by its year (`report_years`: 「2024年国务院政府工作报告…」) asks for the report that plans that
    year, whatever it asks of it.
    """
    if not doc_years:
        return False
    latest = max(doc_years)
    if report_years:
        return latest in report_years
    if not query_years or measure not in ("value", "growth", "target"):
        return False
    if measure == "target":
        return latest in query_years
    return any(y in doc_years and y < latest for y in query_years)


# A report's top-level headings date its parts: 「一、2024年工作回顾」 reviews 2024, 「二、2025年目标任务」 plans
# 2025. Within one report (which holds both), a question for a year's results prefers the part that
# reviews that year, one for its targets the part that plans it.


@lru_cache(maxsize=65536)
def section_period(heading: str) -> tuple[frozenset[int], str] | None:
    """The years a top-level heading names and whether its part reviews them ("review") or plans them
    ("plan"), by whichever word comes first; None when it names no year or says neither."""
    years = years_in(heading)  # a heading may write 「一、2022国民经济…」 without 年
    lex = lexicon()
    review, plan = lex.review_heading.search(heading), lex.plan_heading.search(heading)
    if not years or not (review or plan):
        return None
    always = lex.review_always.search(heading) is not None
    kind = "review" if review and (always or not plan or review.start() < plan.start()) else "plan"
    return frozenset(years), kind


def sums_up_years(measure: str, query_years: Collection[int], query_text: str, body: str) -> bool:
    """A passage summing up several years (这五年, 年均) for a question about one year's results."""
    multi = lexicon().multi_year
    return (len(query_years) == 1 and measure in ("", "value", "growth") and multi.search(body) is not None
            and multi.search(query_text) is None)


def section_matches(measure: str, query_years: Collection[int], breadcrumb: Sequence[str]) -> bool:
    """Is the chunk in the part of its report that reviews (results asked: a value, a growth rate, or a
    figure asked without saying) or plans (a target) a year the question names?"""
    if not query_years or not breadcrumb or measure not in ("", "value", "growth", "target"):
        return False
    period = section_period(breadcrumb[0])
    if period is None:
        return False
    years, kind = period
    return bool(years & set(query_years)) and kind == ("plan" if measure == "target" else "review")


ROW_NAME_CHARS = 4  # characters of the question's words a row's name cell must hold to be the row it names


def names_row_and_column(topic: Sequence[str], cells: Sequence[tuple[str, str]]) -> bool:
    """Does the question name this table row by its indicator and one of its columns? 「实际利用外资完成率」 names
    the row whose name cell holds 实际利用外资 by its column 目标完成率; 「新增停车泊位完成率」 holds 新增, 停车,
    泊位 in the name cell. A column word counts only where no cell value holds it (it names a column, not a row)."""
    names = [v for _h, v in cells if re.search(f"[{HAN}]", v)]
    if not names:
        return False
    name = names[0]
    in_name = [t for t in topic if len(t) >= 2 and t in name]
    if sum(len(t) for t in in_name) < ROW_NAME_CHARS:
        return False
    values = " ".join(v for _h, v in cells)
    return any(t not in in_name and t not in values and any(t in h.split("·")[-1] for h, _v in cells) for t in topic)
