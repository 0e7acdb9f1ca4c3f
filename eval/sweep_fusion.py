"""Choose the fusion defaults by measurement: sweep BM25/dense weights, RRF k and metadata boosts on
the eval set, print the best settings by hybrid MRR@10 (ties broken by hit@5).

    python eval/sweep_fusion.py [--index DIR] [--set FILE]
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

from rag.config import PROJECT_ROOT, load_settings
from rag.engine import Engine
from rag.evaluation.metrics import aggregate, load_questions, run_questions
from rag.search.retriever import FusionWeights


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index")
    parser.add_argument("--set", default=str(PROJECT_ROOT / "eval" / "questions.jsonl"))
    args = parser.parse_args()
    settings = load_settings()
    engine = Engine(settings, index_dir=Path(args.index) if args.index else None)
    questions = load_questions(args.set)
    rows = []
    for bm25, k, region, year in itertools.product((0.6, 0.8, 1.0, 1.25, 1.5), (20, 60), (0.0, 0.5, 1.0), (0.0, 0.25, 0.5)):
        engine.retriever.weights = FusionWeights(bm25=bm25, dense=1.0, rrf_k=k, region_boost=region, year_boost=year)
        m = aggregate(run_questions(questions, lambda q: engine.search(q, top_k=10)))
        rows.append((m.mrr10, m.hit[5], bm25, k, region, year))
    rows.sort(reverse=True)
    print("mrr@10  hit@5  bm25  rrf_k  region  year")
    for row in rows[:12]:
        print("  ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row))
    default = FusionWeights()
    print("current default:", [r for r in rows if r[2:] == (default.bm25, default.rrf_k, default.region_boost, default.year_boost)])


if __name__ == "__main__":
    main()
