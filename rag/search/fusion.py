"""Reciprocal-rank fusion as a pure function: rankings in, fused scores out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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
