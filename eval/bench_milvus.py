"""The Milvus backend against the local one: top-10 parity on an eval set, and milvus-lite's latency by size.

    python eval/bench_milvus.py parity [--index DIR] [--set eval/questions.jsonl | --drcd [PATH]] [--limit N]
    python eval/bench_milvus.py latency [--index DIR] [--sizes 10000,50000] [--questions 60]

`parity` copies the index (its BM25 caches are written beside it, and a shared index must not change),
writes it to a fresh milvus-lite file and compares the hybrid top-10 chunk ids of every question.
`latency` makes indexes of the given sizes from the index's real chunks (repeated with perturbations,
as `rag bench` does), writes each to milvus-lite and times both backends on the seed eval's questions.
Both print one JSON object and write it under eval/reports/ with --out. milvus-lite is slow: outside CI.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.config import load_settings  # noqa: E402
from rag.evaluation.bench import bench_queries, peak_rss_mb, scaled_index  # noqa: E402
from rag.evaluation.metrics import load_questions  # noqa: E402
from rag.evaluation.run import BENCHMARK_PATHS, squad_paragraphs  # noqa: E402


def parity(index_dir: Path, questions: list[str], top_k: int = 10) -> dict:
    from rag.embed.model import Embedder
    from rag.engine import Engine
    from rag.search.backends import sync_milvus

    settings = load_settings(environ={})
    embedder = Embedder(settings)
    with tempfile.TemporaryDirectory(prefix="rag-milvus-parity-") as tmp:
        local_dir = Path(tmp) / "index"
        shutil.copytree(index_dir, local_dir)
        settings = replace(settings, milvus_uri=str(Path(tmp) / "milvus.db"))
        sync = sync_milvus(settings.milvus_uri, local_dir)
        local = Engine(settings, index_dir=local_dir, embedder=embedder)
        milvus = Engine(settings, index_dir=local_dir, embedder=embedder, backend="milvus")
        same = same_set = 0
        times = {"local": 0.0, "milvus": 0.0}
        differing = []
        for q in questions:
            started = time.perf_counter()
            ours = [h.chunk.chunk_id for h in local.search(q, top_k=top_k)]
            mid = time.perf_counter()
            theirs = [h.chunk.chunk_id for h in milvus.search(q, top_k=top_k)]
            times["local"] += mid - started
            times["milvus"] += time.perf_counter() - mid
            same += ours == theirs
            same_set += set(ours) == set(theirs)
            if ours != theirs and len(differing) < 10:
                differing.append({"question": q, "local": ours, "milvus": theirs})
    n = len(questions)
    return {"index": str(index_dir), "chunks": len(local.index.chunks), "questions": n,
            f"identical_top{top_k}": same, f"identical_top{top_k}_share": round(same / max(1, n), 4),
            f"same_top{top_k}_set_share": round(same_set / max(1, n), 4),
            "mean_ms": {k: round(v / max(1, n) * 1000, 1) for k, v in times.items()},
            "milvus_write_s": round(sync.seconds, 1), "hash_collisions": sync.hash_collisions, "differing": differing}


def latency(index_dir: Path, sizes: list[int], n_questions: int) -> dict:
    from rag.embed.model import Embedder
    from rag.index.milvus import MilvusIndex
    from rag.index.store import load_index
    from rag.search.backends import MilvusBackend
    from rag.search.retriever import Retriever

    settings = load_settings(environ={})
    embedder = Embedder(settings)
    base = load_index(index_dir, verify=False)
    questions = [q.question for q in load_questions(ROOT / "eval" / "questions.jsonl")][:n_questions]
    out: dict = {"source_index": str(index_dir), "source_chunks": len(base.chunks), "questions": len(questions),
                 "note": "scale points repeat the source's real chunks with perturbations (rag bench's scaled_index); "
                         "milvus-lite runs in this process (pure Python, gRPC on a local port)", "sizes": {}}
    for size in sizes:
        index = scaled_index(base.chunks, base.tokens, base.vectors, size)
        # copies share their source's chunk id; Milvus keys rows by chunk id, so each copy gets its own
        index.chunks = [c if i < len(base.chunks) else replace(c, chunk_id=f"{c.chunk_id}~{i}")
                        for i, c in enumerate(index.chunks)]
        local = Retriever(index, embedder)
        with tempfile.TemporaryDirectory(prefix="rag-milvus-bench-") as tmp:
            store = MilvusIndex(str(Path(tmp) / "milvus.db"), f"bench_{size}")
            scorers = {"bm25": local.bm25, "bigram": local.bigram}
            sync = store.sync(index, scorers)
            milvus = Retriever(index, embedder)
            milvus.backend = MilvusBackend(store, index, scorers)
            row = {"write_s": round(sync.seconds, 1), "dense_index": sync.dense_index,
                   "local": bench_queries(local, questions), "milvus": bench_queries(milvus, questions),
                   "peak_rss_mb": round(peak_rss_mb(), 1)}
            store.client.close()
        out["sizes"][str(size)] = row
        print(json.dumps({size: row}), file=sys.stderr)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("parity")
    p.add_argument("--index", default=str(ROOT / "index"))
    p.add_argument("--set", default=str(ROOT / "eval" / "questions.jsonl"))
    p.add_argument("--drcd", nargs="?", const=str(BENCHMARK_PATHS["drcd"]), help="DRCD dev questions instead of --set")
    p.add_argument("--limit", type=int)
    p.add_argument("--out")
    p = sub.add_parser("latency")
    p.add_argument("--index", default=str(ROOT / "index"))
    p.add_argument("--sizes", default="10000,50000")
    p.add_argument("--questions", type=int, default=60)
    p.add_argument("--out")
    args = parser.parse_args()
    if args.command == "parity":
        if args.drcd:
            questions = [q.question for q in squad_paragraphs(Path(args.drcd))[1]]
        else:
            questions = [q.question for q in load_questions(Path(args.set))]
        report = parity(Path(args.index), questions[: args.limit] if args.limit else questions)
    else:
        report = latency(Path(args.index), [int(s) for s in args.sizes.split(",")], args.questions)
    text = json.dumps(report, ensure_ascii=False, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
