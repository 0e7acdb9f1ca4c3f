"""`rag bench`: build throughput, query latency and memory, on the seeds, a real corpus and at scale.

Prints a table and writes eval/reports/bench.json and bench.png. The scale points (10k, 100k, 1M
chunks) are made of the corpus's real chunks repeated with small perturbations (one token dropped
and one distinguishing token added per copy; vectors jittered and re-normalised) — the output says
so. Query embedding is always included in dense and hybrid latency.
"""

from __future__ import annotations

import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from rag.config import PROJECT_ROOT, Settings

MODES = ("bm25", "dense", "hybrid")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def folder_size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file()) / 2**20


def percentiles(values: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def prepare_gov_reports(corpus: Path, out_dir: Path) -> Path:
    """The 134-report corpus as plain files a user could drop in: .txt per report, the .docx as they are."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for jsonl in sorted(corpus.rglob("*.jsonl")):
        if "extracted" in jsonl.name:
            continue  # the 2025 reports are read from their real .docx instead
        for n, line in enumerate(jsonl.read_text(encoding="utf-8").splitlines()):
            row = json.loads(line)
            (out_dir / f"national-{n:03d}.txt").write_text(f"{row['title']}\n{row['content']}", encoding="utf-8")
    csv.field_size_limit(1 << 30)
    for path in sorted(corpus.rglob("2026_*.csv")):
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for row in csv.DictReader(handle):
                if row.get("full_text"):
                    (out_dir / f"{path.stem}.txt").write_text(f"{row['title']}\n{row['full_text']}", encoding="utf-8")
    for archive in sorted(corpus.rglob("*.zip")):
        with zipfile.ZipFile(archive) as zf:
            for n, info in enumerate(zf.infolist()):
                if info.filename.lower().endswith(".docx"):
                    (out_dir / f"provincial-2025-{n:02d}.docx").write_bytes(zf.read(info))
    return out_dir


def _timed(fn: Callable[[], object]) -> tuple[object, float]:
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def bench_build(settings: Settings, docs_dir: Path, embedder, embed_sample: int | None) -> dict:
    """Loading+cleaning+chunking of every document, embedding (all, or a sample), and index writing."""
    from rag.chunking import chunk_document
    from rag.index.build import build_index
    from rag.ingest.load import load_folder
    from rag.zh import tokenize

    (documents, reports), load_s = _timed(lambda: load_folder(docs_dir))
    chunks, chunk_s = _timed(lambda: [c for d in documents for c in chunk_document(d)])
    tokens, token_s = _timed(lambda: [tokenize(c.indexed_text) for c in chunks])
    result = {"documents": len(documents), "skipped_files": sum(not r.ok for r in reports), "chunks": len(chunks),
              "chars": sum(len(d.display_text) for d in documents), "load_clean_s": round(load_s, 2),
              "chunk_s": round(chunk_s, 2), "tokenize_s": round(token_s, 2),
              "clean_chunk_chunks_per_s": round(len(chunks) / max(1e-9, load_s + chunk_s + token_s), 1)}
    sample = chunks if embed_sample is None else chunks[:: max(1, len(chunks) // embed_sample)][:embed_sample]
    vectors, embed_s = _timed(lambda: embedder.encode_passages([c.indexed_text for c in sample]))
    result.update(embedded=len(sample), embed_s=round(embed_s, 2), embed_chunks_per_s=round(len(sample) / embed_s, 2))
    if embed_sample is None:
        with tempfile.TemporaryDirectory() as tmp:
            cache = {c.indexed_text: v for c, v in zip(chunks, vectors)}
            _, write_s = _timed(lambda: build_index(documents, Path(tmp), embed=lambda texts: np.stack([cache[t] for t in texts]),
                                                   model_name=settings.embed_model, dimension=embedder.dimension))
            result.update(index_write_s=round(write_s, 2), index_size_mb=round(folder_size_mb(Path(tmp)), 2))
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    return {"summary": result, "chunks": chunks, "tokens": tokens, "vectors": vectors, "sample": sample}


def bench_queries(retriever, questions: Sequence[str], modes: Sequence[str] = MODES) -> dict:
    out = {}
    for mode in modes:
        retriever.search(questions[0], mode=mode, top_k=10)  # warm-up
        if retriever.embedder is not None:
            retriever.embedder.clear_query_cache()  # each timed query embeds its question, as a new one would
        latencies = []
        for q in questions:
            started = time.perf_counter()
            retriever.search(q, mode=mode, top_k=10)
            latencies.append((time.perf_counter() - started) * 1000)
        p50, p95 = percentiles(latencies)
        out[mode] = {"p50_ms": round(p50, 1), "p95_ms": round(p95, 1)}
    return out


def scaled_index(chunks, tokens, vectors: np.ndarray, size: int, seed: int = 0):
    """`size` chunks made of real ones repeated with perturbations (see module docstring); the jieba
    tokens and the character bigrams of each copy are perturbed alike (one dropped, one added)."""
    from rag.index.store import LoadedIndex
    from rag.zh import char_bigrams

    rng = np.random.default_rng(seed)
    m = len(chunks)
    picks = np.arange(size) % m
    grams = [char_bigrams(c.indexed_text) for c in chunks]
    scaled_tokens, scaled_grams = [], []
    for i, p in enumerate(picks):
        t, g = list(tokens[p]), list(grams[p])
        if i >= m:
            for seq in (t, g):
                if len(seq) > 1:
                    del seq[rng.integers(len(seq))]
                    seq.append(f"#copy{i % 9973}")
        scaled_tokens.append(t)
        scaled_grams.append(g)
    vec_rows = picks % len(vectors)
    scaled = vectors[vec_rows] + rng.normal(0, 0.02, size=(size, vectors.shape[1])).astype(np.float32)
    scaled /= np.linalg.norm(scaled, axis=1, keepdims=True)
    return LoadedIndex(Path("."), {}, {}, [chunks[p] for p in picks], scaled, scaled_tokens, bigrams=scaled_grams)


def dense_recall(index, vectors: np.ndarray, queries: np.ndarray, k: int = 10) -> float:
    import faiss

    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    _, truth = exact.search(queries, k)
    _, got = index.search(queries, k)
    return float(np.mean([len(set(truth[i]) & set(got[i])) / k for i in range(len(queries))]))


def run_bench(settings: Settings, *, corpus: Path | None, sizes: Sequence[int], embed_sample: int,
              log: Callable[[str], None] = print) -> dict:
    from rag.embed.model import Embedder
    from rag.evaluation.metrics import load_questions
    from rag.search.dense import EXACT_SEARCH_MAX
    from rag.search.retriever import Retriever

    questions = [q.question for q in load_questions(PROJECT_ROOT / "eval" / "questions.jsonl")]
    embedder, load_model_s = _timed(lambda: Embedder(settings))
    report: dict = {"model": settings.embed_model, "backend": getattr(embedder, "backend", "torch"),
                    "model_load_s": round(load_model_s, 2), "created": time.strftime("%Y-%m-%d %H:%M")}

    log("seeds: full build …")
    seeds = bench_build(settings, settings.docs_dir, embedder, embed_sample=None)
    report["seeds_build"] = seeds["summary"]
    from rag.index.store import LoadedIndex

    seed_index = LoadedIndex(Path("."), {}, {}, seeds["chunks"], seeds["vectors"], seeds["tokens"])
    report["seeds_query"] = bench_queries(Retriever(seed_index, embedder), questions)
    base = seeds
    if corpus:
        log(f"corpus {corpus}: load, clean, chunk all; embed a sample of {embed_sample} …")
        with tempfile.TemporaryDirectory() as tmp:
            docs = prepare_gov_reports(Path(corpus), Path(tmp) / "docs")
            base = bench_build(settings, docs, embedder, embed_sample=embed_sample)
        report["corpus_build"] = base["summary"]
        chars = base["summary"]["chars"]
        report["corpus_build"]["projected_full_embed_s"] = round(base["summary"]["chunks"] / base["summary"]["embed_chunks_per_s"], 0)
        log(f"  {base['summary']['documents']} documents, {chars} characters, {base['summary']['chunks']} chunks")
    report["scale_note"] = ("scale points repeat the real chunks with small perturbations (one token dropped, one added; "
                            "vectors jittered by N(0, 0.02) and re-normalised)")
    report["exact_search_max"] = EXACT_SEARCH_MAX
    report["scale"] = {}
    sample_vectors = base["vectors"]
    sample_chunks = base["sample"]
    sample_tokens = [base["tokens"][base["chunks"].index(c)] for c in sample_chunks] if corpus else base["tokens"]
    for size in sizes:
        log(f"scale {size:,} chunks …")
        index = scaled_index(sample_chunks if corpus else base["chunks"], sample_tokens, sample_vectors, size)
        retriever, build_s = _timed(lambda index=index: Retriever(index, embedder))
        row = bench_queries(retriever, questions[:60])
        row["index_build_s"] = round(build_s, 1)
        row["dense_index"] = type(retriever.faiss).__name__
        query_vectors = embedder.encode_queries(questions[:40])
        row["dense_recall@10_vs_exact"] = round(dense_recall(retriever.faiss, index.vectors, query_vectors), 4)
        row["peak_rss_mb"] = round(peak_rss_mb(), 1)  # of the in-memory search above
        del retriever  # the restart below writes and loads a real build: one index in memory at a time
        row.update(engine_load(settings, index, embedder))
        report["scale"][str(size)] = row
        del index
    return report


def engine_load(settings: Settings, index, embedder) -> dict:
    """Seconds to load an `Engine` from disk for `index` written as a real build (model already loaded).

    This is what a restart costs at that size: reading and verifying the files, the lexical matrices
    and the persisted FAISS index — nothing is rebuilt from the raw data.
    """
    from rag.engine import Engine
    from rag.index.store import write_build

    with tempfile.TemporaryDirectory() as tmp:
        write_build(Path(tmp), documents=[], chunks=index.chunks, vectors=index.vectors, tokens=index.tokens, facts=[],
                    bigrams=index.bigrams or None,
                    manifest={"model": settings.embed_model, "dimension": int(index.vectors.shape[1])})
        size_mb = folder_size_mb(Path(tmp))
        _, load_s = _timed(lambda: Engine(settings, index_dir=Path(tmp), embedder=embedder))
    return {"engine_load_s": round(load_s, 2), "index_on_disk_mb": round(size_mb, 1)}


COLD_START_QUESTION = "余杭区2021年地区生产总值是多少"


def cold_start(index_dir: Path, *, runs: int = 7, question: str = COLD_START_QUESTION, mode: str = "hybrid") -> dict:
    """`rag search` as a fresh process, `runs` times: median wall and CPU seconds, as a user sees it.

    One unmeasured run first, so the files are in the page cache (the state right after a build or
    any earlier search). The machine's load is reported beside the times: on a shared machine wall
    time grows with it, CPU time much less.
    """
    cmd = [sys.executable, "-m", "rag.cli", "search", question, "--index", str(index_dir), "--mode", mode, "--top-k", "5"]
    walls: list[float] = []
    cpus: list[float] = []
    for n in range(runs + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise RuntimeError(f"`rag search` failed ({done.returncode}): {done.stderr.strip()[-500:]}")
        if n:
            walls.append(wall)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return {"runs": runs, "median_s": round(statistics.median(walls), 2), "min_s": round(min(walls), 2),
            "max_s": round(max(walls), 2), "median_cpu_s": round(statistics.median(cpus), 2),
            "load_avg_1m": round(os.getloadavg()[0], 2), "cores": len(os.sched_getaffinity(0)),
            "command": " ".join(["rag", *cmd[3:]])}


def format_report(report: dict) -> str:
    lines = [f"model {report['model']} ({report['backend']}), loaded in {report['model_load_s']}s", ""]
    for key in ("seeds_build", "corpus_build"):
        if key in report:
            b = report[key]
            lines.append(f"{key}: {b['documents']} docs, {b['chars']:,} chars, {b['chunks']} chunks | clean+chunk "
                         f"{b['clean_chunk_chunks_per_s']} chunks/s | embedding {b['embed_chunks_per_s']} chunks/s "
                         f"({b['embedded']} embedded) | peak RSS {b['peak_rss_mb']} MB"
                         + (f" | index {b['index_size_mb']} MB, written in {b['index_write_s']}s" if "index_size_mb" in b else "")
                         + (f" | full embedding would take ~{b['projected_full_embed_s']:.0f}s" if "projected_full_embed_s" in b else ""))
    lines += ["", "query latency (ms, query embedding included)", "| corpus | chunks | bm25 p50/p95 | dense p50/p95 | hybrid p50/p95 | dense index | recall@10 | peak RSS MB |",
              "|---|---|---|---|---|---|---|---|"]
    q = report["seeds_query"]
    lines.append(f"| seeds | {report['seeds_build']['chunks']} | " + " | ".join(f"{q[m]['p50_ms']}/{q[m]['p95_ms']}" for m in MODES) + " | exact | 1.0 | – |")
    for size, row in report["scale"].items():
        lines.append(f"| scaled | {int(size):,} | " + " | ".join(f"{row[m]['p50_ms']}/{row[m]['p95_ms']}" for m in MODES)
                     + f" | {row['dense_index']} | {row['dense_recall@10_vs_exact']} | {row['peak_rss_mb']} |")
    loads = [f"{int(size):,} chunks {row['engine_load_s']}s ({row['index_on_disk_mb']:,} MB)"
             for size, row in report["scale"].items() if "engine_load_s" in row]
    if loads:
        lines += ["", "engine load from disk (model already loaded): " + "; ".join(loads)]
    lines += ["", report["scale_note"]]
    return "\n".join(lines)


def write_chart(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [int(s) for s in report["scale"]]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for mode in MODES:
        ax.plot(sizes, [report["scale"][str(s)][mode]["p50_ms"] for s in sizes], marker="o", label=f"{mode} p50")
        ax.plot(sizes, [report["scale"][str(s)][mode]["p95_ms"] for s in sizes], marker="x", linestyle="--", label=f"{mode} p95")
    ax.set_xscale("log")
    ax.set_xlabel("chunks in the index")
    ax.set_ylabel("query latency (ms)")
    ax.set_title(f"Query latency vs index size ({report['backend']}, 2-core CPU)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main_bench(settings: Settings, corpus: Path | None, sizes: Sequence[int], embed_sample: int, out_dir: Path,
               backend: str | None = None) -> dict:
    if backend:
        settings = replace(settings, embed_backend=backend)
    report = run_bench(settings, corpus=corpus, sizes=sizes, embed_sample=embed_sample)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "bench.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    write_chart(report, out_dir / "bench.png")
    (out_dir / "bench.md").write_text(format_report(report) + "\n", encoding="utf-8")
    return report
