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
from rag.evaluation.metrics import (
    K_VALUES,
    Question,
    aggregate,
    answer_contains_gold,
    by_kind,
    declined,
    evaluate_answers,
    load_questions,
    normalize_for_match,
    run_questions,
)

MODES = ("hybrid", "dense", "bm25")
NAIVE = "naive"


def evaluate_modes(questions: Sequence[Question], searchers: dict[str, Callable],
                   before_each: Callable[[], None] = lambda: None) -> dict[str, dict]:
    """`before_each` runs before each mode (the eval clears cached question vectors, so every mode's
    latency includes embedding its questions)."""
    report: dict[str, dict] = {}
    for mode, search in searchers.items():
        before_each()
        results = run_questions(questions, search)
        report[mode] = {
            "overall": aggregate(results).to_dict(),
            "by_kind": {kind: m.to_dict() for kind, m in by_kind(results).items()},
            "misses@5": [r.question.id for r in results if r.question.answerable and not any(r.found_at[:5])],
        }
    return report


def evaluate_abstention(questions: Sequence[Question], ask: Callable) -> dict:
    """The answer evaluation: answer accuracy per kind (every expected string in the answer, each figure cited
    to a passage that holds it), questions no document answers declined with 「未在文档中找到」, answers giving
    another place's figure (must be 0), and `ask` latency. See `rag.evaluation.metrics.judge_answer`."""
    return evaluate_answers(questions, ask)


def _answer_lines(name: str, a: dict) -> list[str]:
    lines = ["", f"## Answers — {name}", "",
             f"- answer accuracy, answerable questions: {_fmt(a['answerable_accuracy'])} of {a['answerable_n']} "
             f"(all questions: {_fmt(a['accuracy'])} of {a['n']})",
             f"- questions no document answers, declined with 「未在文档中找到」: {_fmt(a['declined'])} of {a['decline_n']}",
             f"- answers giving a figure for another place than the one asked: {a['other_place_figures']}",
             f"- answers showing a number their cited passage does not contain: {a['unsupported_numbers']}",
             f"- `ask` latency p50 / p95: {a['latency_p50_ms']:.1f} / {a['latency_p95_ms']:.1f} ms", "",
             "| kind | n | answer accuracy |", "|---|---|---|"]
    lines += [f"| {k} | {v['n']} | {_fmt(v['accuracy'])} |" for k, v in a["by_kind"].items()]
    if a.get("failures"):
        lines += ["", "Wrong answers: " + ", ".join(f["id"] for f in a["failures"])]
    return lines


# --- report ----------------------------------------------------------------------------------
_COLUMNS = [f"hit@{k}" for k in K_VALUES] + ["mrr@10", "ndcg@10", "coverage@10", "doc_hit@1", "doc_hit@5", "latency_p50_ms", "latency_p95_ms"]


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
        lines += _answer_lines("extractive (hybrid retrieval)", report["answers"])
    if "answers_llm" in report:
        lines += _answer_lines("LLM", report["answers_llm"])
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

    questions = load_questions(question_set)
    embedder = Embedder(settings)
    # The folder named is what is measured: the index is brought up to date with it and with this pipeline
    # (unchanged passages and their vectors are reused, so an up-to-date index costs only the check).
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
        "modes": evaluate_modes(questions, searchers, before_each=embedder.clear_query_cache),
        # share of evidence spans inside one chunk / one whole-answer passage (see span_coverage)
        "span_coverage": index_span_coverage(engine.index, questions, engine.retriever.passage_text),
    }
    if answers:
        report["answers"] = evaluate_abstention(questions, lambda q: engine.ask(q, llm=False))
        if settings.llm_enabled:
            report["answers_llm"] = evaluate_abstention(questions, lambda q: engine.ask(q))
    return report


# --- SQuAD-style benchmarks (DRCD, CMRC 2018) -------------------------------------------------------
_SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
BENCHMARK_PATHS = {
    "drcd": _SHARED / "drcd" / "DRCD_dev.json",  # Traditional, 1,000 paragraphs, 3,524 questions
    "cmrc": _SHARED / "cmrc2018" / "cmrc2018_dev.json",  # Simplified, 848 paragraphs, 3,219 questions
}


def benchmark_path(name: str, path: Path | None = None) -> Path:
    """The benchmark file: the given path, or the shared dataset's default; a clear error when missing."""
    target = Path(path) if path else BENCHMARK_PATHS.get(name)
    if target is None:
        raise ValueError(f"--benchmark {name} has no default file; give --path to a SQuAD-style JSON file.")
    if not target.is_file():
        raise ValueError(f"Benchmark file {target} not found; give --path to the SQuAD-style JSON file.")
    return target


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


def span_coverage(questions: Sequence[Question], units: Callable[[str], Sequence[str]],
                  source: Callable[[str], str] | None = None) -> dict[str, float | int]:
    """Share of gold answer spans (a question's evidence strings) that lie whole inside one retrievable
    unit of a gold document; `units(doc_id)` gives those units' texts. A span cut by a unit boundary
    can never be returned whole, whatever the ranking. With `source(doc_id)` (the document's whole
    text), spans the document does not contain at all (edited gold answers) are counted apart."""
    total = inside = absent = 0
    cache: dict[str, list[str]] = {}
    whole: dict[str, str] = {}
    for q in questions:
        for span in {normalize_for_match(e) for e in q.evidence if e.strip()}:
            if source is not None:
                for doc_id in q.gold_docs:
                    if doc_id not in whole:
                        whole[doc_id] = normalize_for_match(source(doc_id))
                if not any(span in whole[d] for d in q.gold_docs):
                    absent += 1
                    continue
            total += 1
            for doc_id in q.gold_docs:
                if doc_id not in cache:
                    cache[doc_id] = [normalize_for_match(t) for t in units(doc_id)]
                if any(span in text for text in cache[doc_id]):
                    inside += 1
                    break
    out: dict[str, float | int] = {"spans": total, "inside_one_unit": round(inside / max(1, total), 4)}
    if source is not None:
        out["not_in_source"] = absent
    return out


def index_span_coverage(index, questions: Sequence[Question], passages: Callable | None = None) -> dict[str, dict]:
    """Span coverage over the chunks of a loaded index (and over expanded passages, when given)."""
    by_doc: dict[str, list] = {}
    for chunk in index.chunks:
        by_doc.setdefault(chunk.doc_id, []).append(chunk)

    def docs_of(gold: str) -> list[str]:
        return [d for d in by_doc if d == gold or d.endswith("/" + gold)]

    def source(gold: str) -> str:
        return "\n".join(index.documents[d].display_text for d in docs_of(gold) if d in index.documents)

    def chunk_texts(gold: str) -> list[str]:
        # a unit is what a hit shows: its headings (breadcrumb) and its text
        return [c.display_section + "\n" + c.display_text for d in docs_of(gold) for c in by_doc[d]]

    out = {"chunks": span_coverage(questions, chunk_texts, source)}
    if passages is not None:
        out["passages"] = span_coverage(questions, lambda gold: [passages(c) for d in docs_of(gold) for c in by_doc[d]],
                                        source)
    return out


def run_squad_benchmark(settings: Settings, path: Path, modes: Sequence[str], baseline: bool = True,
                        limit: int | None = None, index_dir: Path | None = None, answers: bool = True) -> dict:
    """Index the benchmark's paragraphs and report gold-paragraph hit@k and MRR per mode, the naive
    pipeline beside them, the share of answer spans inside one retrievable unit and — with `answers` —
    the share of extractive answers that show a gold span.

    With `index_dir` the benchmark's documents and index are kept there and reused by the next run
    (only changed chunks are re-embedded); without it they live in a temporary folder.
    """
    paragraphs, questions = squad_paragraphs(path)
    if limit:
        questions = questions[:limit]
    if index_dir is not None:
        Path(index_dir).mkdir(parents=True, exist_ok=True)
        return _squad_in(settings, Path(index_dir), path, paragraphs, questions, modes, baseline, answers)
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        return _squad_in(settings, Path(tmp), path, paragraphs, questions, modes, baseline, answers)


def _squad_in(settings: Settings, root: Path, path: Path, paragraphs: list[tuple[str, str]],
              questions: list[Question], modes: Sequence[str], baseline: bool, answers: bool) -> dict:
    from rag.embed.model import Embedder
    from rag.engine import Engine, build
    from rag.evaluation.baseline import NaiveRetriever, naive_chunks

    embedder = Embedder(settings)
    docs = root / "docs"
    docs.mkdir(exist_ok=True)
    for pid, text in paragraphs:
        target = docs / f"{pid}.txt"
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
    build(settings, docs_dir=docs, index_dir=root / "index", embedder=embedder)
    engine = Engine(settings, index_dir=root / "index", embedder=embedder)
    searchers: dict[str, Callable] = {m: (lambda q, m=m: engine.search(q, mode=m, top_k=10)) for m in modes}
    coverage = {"rag": index_span_coverage(engine.index, questions, getattr(engine.retriever, "passage_text", None))}
    if baseline:
        naive = NaiveRetriever(docs, embedder, cache_dir=root / ".cache")
        searchers[NAIVE] = lambda q: naive.search(q, top_k=10)
        by_doc: dict[str, list[str]] = {}
        for chunk in naive_chunks(docs):
            by_doc.setdefault(chunk.doc_id, []).append(chunk.display_text)
        raw = dict(paragraphs)
        coverage[NAIVE] = {"chunks": span_coverage(questions, lambda d: by_doc.get(d, []), lambda d: raw.get(d, ""))}
    results = {}
    for mode, search in searchers.items():
        embedder.clear_query_cache()  # each mode's latency includes embedding its questions
        results[mode] = _paragraph_metrics(questions, search)
    report = {"benchmark": str(path), "created": time.strftime("%Y-%m-%d %H:%M"), "model": settings.embed_model,
              "paragraphs": len(paragraphs), "questions": len(questions), "n_chunks": len(engine.index.chunks),
              "modes": results, "span_coverage": coverage}
    if answers:
        embedder.clear_query_cache()
        report["answers"] = squad_answer_metrics(questions, lambda q: engine.ask(q, llm=False))
    return report


def squad_answer_metrics(questions: Sequence[Question], ask: Callable) -> dict:
    """Extractive answers on a SQuAD-style set: the share whose shown text contains a gold answer span,
    the share declined (every question there has an answer), `ask` latency, and the questions missed."""
    shown = declines = 0
    missed: list[str] = []
    latencies = []
    for q in questions:
        started = time.perf_counter()
        answer = ask(q.question)
        latencies.append((time.perf_counter() - started) * 1000)
        if answer_contains_gold(answer.text, q.evidence):
            shown += 1
        else:
            missed.append(q.id)
        declines += declined(answer)
    n = max(1, len(questions))
    latencies.sort()
    return {"gold_span_in_answer": round(shown / n, 4), "declined": round(declines / n, 4),
            "latency_p50_ms": round(latencies[len(latencies) // 2], 1) if latencies else 0.0,
            "latency_p95_ms": round(latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))], 1)
            if latencies else 0.0,
            "missed": missed}


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
    out["latency_p95_ms"] = round(latencies[min(n - 1, int(0.95 * n))], 1)
    return out
