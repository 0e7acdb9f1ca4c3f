"""Choose the fusion defaults by measurement on several sets at once, so that no choice that helps one
corpus or one script and hurts another goes unseen.

Each set is loaded once; every question's per-ranker rankings are computed once and cached, and only
the fusion (`Retriever.fuse`, a cheap pure step) is re-run per setting. Sets:

- seeds: eval/questions.jsonl over the seed index (index/ or --index); also reported on the 150
  original kinds alone;
- corpus: eval/corpus/questions.jsonl over an index of the corpus folder (--corpus-index);
- drcd, cmrc: SQuAD-style dev sets, each over an index of its paragraphs (--drcd-index, --cmrc-index;
  build them with `python eval/sweep_fusion.py --prepare`), scored by the gold paragraph's rank.

    python eval/sweep_fusion.py [--sets seeds,corpus,drcd,cmrc] [--grid default|small|lexical|period|adaptive|dense|section|years|bigram|focus|full]

The cached rankings are `Retriever.candidate_rankings`: the corpus-wide rankers and, for a question
naming a region with sure metadata, the same rankers inside that region's documents ("scoped:…").

Indexes are built once and reused (incremental builds re-embed only changed chunks): the corpus with
`rag index build --docs DIR --index /tmp/corpus_index` (DIR from eval/corpus/prepare.py), DRCD/CMRC
with `rag eval --benchmark drcd --bench-dir DIR` (its index is DIR/index). The objective is the mean
of hit@1 and MRR@10 over the sets, so each set counts once whatever its size.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from rag.config import PROJECT_ROOT, load_settings
from rag.embed.model import Embedder
from rag.evaluation.metrics import _doc_matches, aggregate, judge, load_questions
from rag.index.store import load_index
from rag.search.retriever import FusionWeights, Retriever

ORIGINAL_KINDS = ("ambiguous", "cross_doc", "list", "number", "policy", "table_cell", "trad_query", "trad_source",
                  "unanswerable")
SHARED = PROJECT_ROOT.parent / "shared" / "datasets"
BENCHMARKS = {"drcd": SHARED / "drcd" / "DRCD_dev.json", "cmrc": SHARED / "cmrc2018" / "cmrc2018_dev.json"}


@dataclass
class CachedSet:
    name: str
    retriever: Retriever
    items: list  # (Question, Query, rankings)
    squad: bool
    memo: dict = field(default_factory=dict)

    def score(self, weights: FusionWeights) -> dict[str, float]:
        # Settings that differ only in boosts this index cannot feel (no document with sure metadata)
        # score the same: compute once.
        key = asdict(weights)
        if not self.retriever.sure_metadata.any():
            key.pop("sure_region_boost")
            key.pop("sure_year_boost")
            key.pop("period_boost")
        frozen = tuple(sorted(key.items()))
        if frozen not in self.memo:
            self.memo[frozen] = self._score(weights)
        return self.memo[frozen]

    def _score(self, weights: FusionWeights) -> dict[str, float]:
        retriever = self.retriever
        retriever.weights = weights
        if self.squad:
            ranks = []
            for q, query, rankings in self.items:
                hits = retriever.hits(*retriever.fuse(query, rankings), 10)
                docs = list(dict.fromkeys(h.chunk.doc_id for h in hits))
                ranks.append(docs.index(q.gold_docs[0]) + 1 if q.gold_docs[0] in docs else None)
            n = len(ranks)
            return {"hit@1": sum(r == 1 for r in ranks) / n, "hit@5": sum(1 for r in ranks if r and r <= 5) / n,
                    "mrr@10": sum(1 / r for r in ranks if r) / n}
        results, doc1 = [], []
        for q, query, rankings in self.items:
            hits = retriever.hits(*retriever.fuse(query, rankings), 10)
            results.append(judge(q, hits, 0.0))
            if q.answerable:
                doc1.append(bool(hits) and _doc_matches(hits[0].chunk.doc_id, q.gold_docs))
        out = {}
        for label, rs in (("", results), ("orig:", [r for r in results if r.question.kind in ORIGINAL_KINDS])):
            if label and len(rs) == len(results):
                continue
            m = aggregate(rs)
            out |= {f"{label}hit@1": m.hit[1], f"{label}hit@5": m.hit[5], f"{label}mrr@10": m.mrr10}
        out["doc@1"] = statistics.fmean(doc1) if doc1 else 0.0
        return out


def cache_set(name: str, index_dir: Path, embedder, questions, squad: bool, limit: int = 100) -> CachedSet:
    retriever = Retriever(load_index(index_dir, verify=False), embedder)
    items = []
    for q in questions:
        query = retriever.parse(q.question)
        items.append((q, query, retriever.candidate_rankings(query, "hybrid", limit)))
    return CachedSet(name, retriever, items, squad)


def load_sets(args, settings, embedder) -> list[CachedSet]:
    from rag.evaluation.run import squad_paragraphs

    sets = []
    for name in args.sets.split(","):
        if name == "seeds":
            index = Path(args.index) if args.index else settings.index_dir
            sets.append(cache_set(name, index, embedder, load_questions(args.set), False))
        elif name == "corpus":
            sets.append(cache_set(name, Path(args.corpus_index), embedder, load_questions(args.corpus_set), False))
        elif name in BENCHMARKS:
            _, questions = squad_paragraphs(BENCHMARKS[name])
            if args.limit:
                questions = questions[:: max(1, len(questions) // args.limit)]
            sets.append(cache_set(name, Path(getattr(args, f"{name}_index")), embedder, questions, True))
        else:
            sys.exit(f"unknown set {name!r}")
        print(f"cached {name}: {len(sets[-1].items)} questions", file=sys.stderr, flush=True)
    return sets


def grid(kind: str):
    base = FusionWeights()
    if kind == "small":
        for bm25, bigram, title, region, year in itertools.product(
                (0.5, 1.0, 1.5), (0.5, 1.0, 1.5, 2.0), (0.0, 0.5, 1.0), (0.25, 0.5, 1.0, 2.0), (0.1, 0.25, 0.5)):
            yield replace(base, bm25=bm25, bigram=bigram, title=title, sure_region_boost=region, sure_year_boost=year)
    elif kind == "period":
        for bm25, bigram, region, year, period in itertools.product(
                (1.0, 1.5), (1.5, 2.0), (1.0, 2.0, 3.0), (0.25, 0.5), (0.0, 0.5, 1.0, 2.0, 3.0)):
            yield replace(base, bm25=bm25, bigram=bigram, sure_region_boost=region, sure_year_boost=year,
                          period_boost=period)
    elif kind == "lexical":
        for bm25, bigram, dense in itertools.product((1.5, 2.0, 2.5), (2.0, 2.5, 3.0), (0.75, 1.0)):
            yield replace(base, bm25=bm25, bigram=bigram, dense=dense)
    elif kind == "adaptive":  # the query-adaptive signals: unknown words, short documents, scope agreement
        for unknown, floor, short, agree, bigram in itertools.product(
                (0.0, 0.5, 1.0), (0.1, 0.3), (0.0, 0.5, 1.0), (5, 10, 20), (2.0, 2.5)):
            yield replace(base, unknown_words=unknown, lexical_floor=floor, short_document=short,
                          scope_agreement=agree, bigram=bigram)
    elif kind == "dense":  # the dense ranker's weight against the RRF constant
        for dense, k, bigram in itertools.product((0.7, 0.8, 0.9, 1.0), (40, 50, 60), (2.25, 2.5)):
            yield replace(base, dense=dense, rrf_k=k, bigram=bigram)
    elif kind == "section":  # the report-part boost against the period boost
        for section, period in itertools.product((0.2, 0.35, 0.5, 0.75, 1.0, 1.5), (1.0, 2.0, 3.0)):
            yield replace(base, section_boost=section, period_boost=period)
    elif kind == "years":  # a several-years summary against one year's passage
        for multi, section in itertools.product((0.0, 0.25, 0.5, 0.75, 1.0, 1.5), (0.35, 0.5)):
            yield replace(base, multi_year=multi, section_boost=section)
    elif kind == "bigram":  # the bigram ranker's weight with the dense weight, scope agreement at 10
        for bigram, dense in itertools.product((2.0, 2.1, 2.2, 2.25), (0.7, 0.8, 0.9)):
            yield replace(base, bigram=bigram, dense=dense, scope_agreement=10)
    elif kind == "focus":
        for bm25, bigram, title, region, year in itertools.product(
                (1.0, 1.5, 2.0), (1.5, 2.0), (0.0, 0.5, 1.0), (0.5, 1.0, 2.0), (0.25, 0.5)):
            yield replace(base, bm25=bm25, bigram=bigram, title=title, sure_region_boost=region, sure_year_boost=year)
    else:
        for bm25, bigram, dense, k, title, region, year, tregion, tyear in itertools.product(
                (0.5, 1.0, 1.5), (0.5, 1.0, 1.5, 2.0), (0.75, 1.0), (30, 60), (0.0, 0.5, 1.0), (0.25, 0.5, 1.0, 2.0),
                (0.1, 0.25, 0.5), (0.0, 0.1), (0.0, 0.25)):
            yield replace(base, bm25=bm25, bigram=bigram, dense=dense, rrf_k=k, title=title, sure_region_boost=region,
                          sure_year_boost=year, region_boost=tregion, year_boost=tyear)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sets", default="seeds,corpus,drcd,cmrc")
    parser.add_argument("--index", help="seed index (default: the configured index)")
    parser.add_argument("--set", default=str(PROJECT_ROOT / "eval" / "questions.jsonl"))
    parser.add_argument("--corpus-index", default="/tmp/corpus_index")
    parser.add_argument("--corpus-set", default=str(PROJECT_ROOT / "eval" / "corpus" / "questions.jsonl"))
    parser.add_argument("--drcd-index", default="/tmp/i14/drcd_index")
    parser.add_argument("--cmrc-index", default="/tmp/i14/cmrc_index")
    parser.add_argument("--limit", type=int, help="benchmarks: about this many questions, evenly spaced")
    parser.add_argument("--grid", default="small", choices=("small", "lexical", "period", "adaptive", "dense", "section", "years", "bigram", "focus", "full", "default"))
    parser.add_argument("--out", help="write every row as JSON lines here")
    args = parser.parse_args()
    settings = load_settings()
    sets = load_sets(args, settings, Embedder(settings))
    weights = [FusionWeights()] if args.grid == "default" else list(grid(args.grid))
    rows = []
    for w in weights:
        scores = {s.name: s.score(w) for s in sets}
        # The objective: mean hit@1 and MRR@10 over the sets, so each set counts once whatever its size.
        objective = statistics.fmean(v for sc in scores.values() for k, v in sc.items() if k in ("hit@1", "mrr@10"))
        rows.append((objective, w, scores))
    rows.sort(key=lambda r: -r[0])
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            for objective, w, scores in rows:
                handle.write(json.dumps({"objective": objective, "weights": asdict(w), "scores": scores}) + "\n")
    default = FusionWeights()
    for objective, w, scores in rows[:10] + [r for r in rows if r[1] == default]:
        mark = " (default)" if w == default else ""
        print(f"{objective:.4f}{mark} " + json.dumps({k: v for k, v in asdict(w).items() if k != "candidates"}))
        for name, sc in scores.items():
            print(f"    {name:7s} " + "  ".join(f"{k}={v:.3f}" for k, v in sc.items()))


if __name__ == "__main__":
    main()
