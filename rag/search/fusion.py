"""Reciprocal-rank fusion and metadata boosts as pure functions: rankings in, fused scores out."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from rag.records import Chunk

Ranking = Sequence[tuple[int, float]]  # (row, score), best first


def reciprocal_rank_fusion(rankings: Mapping[str, Ranking], weights: Mapping[str, float], k: int = 60,
                           ) -> tuple[dict[int, float], dict[int, dict[str, float]]]:
    """Σ weight / (k + rank) per row over the rankers that returned it; also each ranker's raw score."""
    fused: dict[int, float] = {}
    per_ranker: dict[int, dict[str, float]] = {}
    for name, ranking in rankings.items():
        weight = weights.get(name, 1.0)
        for rank, (row, score) in enumerate(ranking, start=1):
            fused[row] = fused.get(row, 0.0) + weight / (k + rank)
            per_ranker.setdefault(row, {})[name] = score
    return fused, per_ranker


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


def period_matches(measure: str, query_years: Collection[int], doc_years: Collection[int]) -> bool:
    """Does a document covering `doc_years` report the period the question asks about?

    Annual reports review the years before their latest and plan the latest: results of year Y
    ("value", "growth") are in a report that reviews Y, targets of Y ("target") in the report that
    plans Y. Other questions (lists, policies) are not decided by this.
    """
    if not query_years or not doc_years or measure not in ("value", "growth", "target"):
        return False
    latest = max(doc_years)
    if measure == "target":
        return latest in query_years
    return any(y in doc_years and y < latest for y in query_years)
