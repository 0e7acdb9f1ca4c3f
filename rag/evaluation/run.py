"""`rag eval`: run the eval set through every retrieval mode and the naive baseline, write a report.

Outputs under eval/reports/: latest.md (tables), latest.json (every number), latest.png (hit@k
curves per mode and hit@5 per kind of question).
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from rag.config import Settings
from rag.evaluation.metrics import K_VALUES, Question, aggregate, by_kind, load_questions, run_questions

MODES = ("hybrid", "dense", "bm25")
NAIVE = "naive"


def evaluate_modes(questions: Sequence[Question], searchers: dict[str, Callable]) -> dict[str, dict]:
    report: dict[str, dict] = {}
    for mode, search in searchers.items():
        results = run_questions(questions, search)
        report[mode] = {
            "overall": aggregate(results).to_dict(),
            "by_kind": {kind: m.to_dict() for kind, m in by_kind(results).items()},
            "misses@5": [r.question.id for r in results if r.question.answerable and not any(r.found_at[:5])],
        }
    return report


def evaluate_abstention(questions: Sequence[Question], ask: Callable) -> dict[str, float]:
    """How often the answer layer says 「未在文档中找到」 for unanswerable questions, and answers the rest."""
    unanswerable = [q for q in questions if not q.answerable]
    answerable = [q for q in questions if q.answerable]
    said_not_found = sum(1 for q in unanswerable if not ask(q.question).found)
    answered = sum(1 for q in answerable if ask(q.question).found)
    return {
        "unanswerable_n": len(unanswerable),
        "unanswerable_declined": round(said_not_found / max(1, len(unanswerable)), 4),
        "answerable_n": len(answerable),
        "answerable_answered": round(answered / max(1, len(answerable)), 4),
    }


# --- report ----------------------------------------------------------------------------------
_COLUMNS = [f"hit@{k}" for k in K_VALUES] + ["mrr@10", "ndcg@10", "coverage@10", "doc_hit@5", "latency_p50_ms", "latency_p95_ms"]


def _fmt(value, column: str = "") -> str:
    if value is None:
        return "–"
    if column.startswith("latency"):
        return f"{value:.1f}"
    return f"{value:.3f}" if isinstance(value, float) else f"{value}"


def markdown_report(report: dict) -> str:
    modes = report["modes"]
    lines = [f"# Retrieval eval — {report['set']}", "", f"{report['n_questions']} questions, built {report['created']}, "
             f"model `{report['model']}`, index of {report['n_chunks']} chunks.", "", "## Overall", "",
             "| mode | " + " | ".join(_COLUMNS) + " |", "|---" * (len(_COLUMNS) + 1) + "|"]
    for mode, data in modes.items():
        lines.append(f"| {mode} | " + " | ".join(_fmt(data["overall"].get(c), c) for c in _COLUMNS) + " |")
    kinds = sorted({k for data in modes.values() for k in data["by_kind"]})
    for metric in ("hit@5", "mrr@10"):
        lines += ["", f"## {metric} per kind of question", "", "| kind | n | " + " | ".join(modes) + " |",
                  "|---" * (len(modes) + 2) + "|"]
        for kind in kinds:
            n = next(iter(modes.values()))["by_kind"].get(kind, {}).get("n", 0)
            if not n:
                continue
            row = [_fmt(modes[m]["by_kind"].get(kind, {}).get(metric)) for m in modes]
            lines.append(f"| {kind} | {n} | " + " | ".join(row) + " |")
    if "answers" in report:
        a = report["answers"]
        lines += ["", "## Answer layer (hybrid)", "",
                  f"- unanswerable questions declined with 「未在文档中找到」: {a['unanswerable_declined']:.3f} of {a['unanswerable_n']}",
                  f"- answerable questions given an answer: {a['answerable_answered']:.3f} of {a['answerable_n']}"]
    for mode, data in modes.items():
        if data.get("misses@5"):
            lines += ["", f"Misses@5 ({mode}): " + ", ".join(data["misses@5"])]
    return "\n".join(lines) + "\n"


def write_chart(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    modes = report["modes"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8), gridspec_kw={"width_ratios": [1, 2]})
    for mode, data in modes.items():
        left.plot(K_VALUES, [data["overall"][f"hit@{k}"] for k in K_VALUES], marker="o", label=mode)
    left.set_xlabel("k")
    left.set_ylabel("hit@k")
    left.set_ylim(0, 1.02)
    left.set_xticks(K_VALUES)
    left.set_title("hit@k per retrieval mode")
    left.legend()
    left.grid(alpha=0.3)
    kinds = sorted({k for d in modes.values() for k, m in d["by_kind"].items() if m["n"]})
    width = 0.8 / max(1, len(modes))
    for j, (mode, data) in enumerate(modes.items()):
        xs = [i + j * width for i in range(len(kinds))]
        right.bar(xs, [data["by_kind"].get(k, {}).get("hit@5") or 0 for k in kinds], width, label=mode)
    right.set_xticks([i + 0.4 - width / 2 for i in range(len(kinds))], kinds, rotation=20)
    right.set_ylim(0, 1.02)
    right.set_title("hit@5 per kind of question")
    right.legend(fontsize=8)
    right.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(report: dict, out_dir: Path, stem: str = "latest") -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"md": out_dir / f"{stem}.md", "json": out_dir / f"{stem}.json", "png": out_dir / f"{stem}.png"}
    paths["md"].write_text(markdown_report(report), encoding="utf-8")
    paths["json"].write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    write_chart(report, paths["png"])
    return paths


# --- the seed eval -------------------------------------------------------------------------------
def run_eval(settings: Settings, *, question_set: Path, docs_dir: Path, index_dir: Path, modes: Sequence[str],
             baseline: bool = True, answers: bool = True, top_k: int = 10) -> dict:
    from rag.embed.model import Embedder
    from rag.engine import Engine, build
    from rag.evaluation.baseline import NaiveRetriever
    from rag.index.store import IndexUnavailableError, load_index

    questions = load_questions(question_set)
    embedder = Embedder(settings)
    try:
        load_index(index_dir, expected_model=settings.embed_model, verify=False)
    except IndexUnavailableError:
        build(settings, docs_dir=docs_dir, index_dir=index_dir, embedder=embedder)
    engine = Engine(settings, index_dir=index_dir, embedder=embedder)
    searchers: dict[str, Callable] = {m: (lambda q, m=m: engine.search(q, mode=m, top_k=top_k)) for m in modes}
    if baseline:
        naive = NaiveRetriever(docs_dir, embedder, cache_dir=Path(index_dir) / ".cache")
        searchers[NAIVE] = lambda q: naive.search(q, top_k=top_k)
    report = {
        "set": str(question_set),
        "n_questions": len(questions),
        "created": time.strftime("%Y-%m-%d %H:%M"),
        "model": settings.embed_model,
        "n_chunks": len(engine.index.chunks),
        "modes": evaluate_modes(questions, searchers),
    }
    if answers:
        report["answers"] = evaluate_abstention(questions, lambda q: engine.ask(q))
    return report


# --- SQuAD-style benchmarks (DRCD) ---------------------------------------------------------------
def squad_paragraphs(path: Path) -> tuple[list[tuple[str, str]], list[Question]]:
    """(paragraph id, title + text) pairs and one question per SQuAD question, gold = its paragraph."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    paragraphs, questions = [], []
    for article in data["data"]:
        for n, para in enumerate(article["paragraphs"]):
            pid = str(para.get("id") or f"{article.get('id', article['title'])}-{n}")
            paragraphs.append((pid, f"{article['title']}\n{para['context']}"))
            for qa in para.get("qas", []):
                answers = tuple(a["text"] for a in qa.get("answers", []) if a.get("text"))
                questions.append(Question(str(qa["id"]), qa["question"], "squad", (pid,), answers or ("",)))
    return paragraphs, questions


def run_squad_benchmark(settings: Settings, path: Path, modes: Sequence[str], baseline: bool = True,
                        limit: int | None = None) -> dict:
    """Index the benchmark's paragraphs in a temporary index and report gold-paragraph hit@k and MRR."""
    from rag.embed.model import Embedder
    from rag.engine import Engine, build
    from rag.evaluation.baseline import NaiveRetriever

    paragraphs, questions = squad_paragraphs(path)
    if limit:
        questions = questions[:limit]
    embedder = Embedder(settings)
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        docs = Path(tmp) / "docs"
        docs.mkdir()
        for pid, text in paragraphs:
            (docs / f"{pid}.txt").write_text(text, encoding="utf-8")
        build(settings, docs_dir=docs, index_dir=Path(tmp) / "index", embedder=embedder)
        engine = Engine(settings, index_dir=Path(tmp) / "index", embedder=embedder)
        searchers: dict[str, Callable] = {m: (lambda q, m=m: engine.search(q, mode=m, top_k=10)) for m in modes}
        if baseline:
            naive = NaiveRetriever(docs, embedder)
            searchers[NAIVE] = lambda q: naive.search(q, top_k=10)
        results: dict[str, dict] = {}
        for mode, search in searchers.items():
            results[mode] = _paragraph_metrics(questions, search)
    return {"benchmark": str(path), "paragraphs": len(paragraphs), "questions": len(questions), "modes": results}


def _paragraph_metrics(questions: Sequence[Question], search: Callable) -> dict:
    ranks: list[int | None] = []
    latencies = []
    for q in questions:
        started = time.perf_counter()
        hits = search(q.question)
        latencies.append((time.perf_counter() - started) * 1000)
        docs: list[str] = []
        for h in hits:
            if h.chunk.doc_id not in docs:
                docs.append(h.chunk.doc_id)
        ranks.append(docs.index(q.gold_docs[0]) + 1 if q.gold_docs[0] in docs else None)
    n = len(questions)
    out = {f"hit@{k}": round(sum(1 for r in ranks if r and r <= k) / n, 4) for k in K_VALUES}
    out["mrr@10"] = round(sum(1 / r for r in ranks if r) / n, 4)
    latencies.sort()
    out["latency_p50_ms"] = round(latencies[n // 2], 1)
    return out
