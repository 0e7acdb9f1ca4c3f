"""Check the eval question file against the seed documents.

    python eval/verify_questions.py [eval/questions.jsonl] [--seeds seeds]

Checks, for every line: valid JSON with the required fields; a known kind and an id with that
kind's prefix (`num-001`), unique; every gold document exists in the seeds folder; every evidence
string and every answer string is found in at least one gold document after normalisation
(NFKC, OpenCC t2s, pinyin ruby removed, whitespace removed), inside one line of the document (a
string never spans a line break) and without a `|` table separator; documents named by
multi-document questions each hold at least one evidence string; questions that expect a decline
(`unanswerable`, `place_honesty` without gold documents) have empty gold/evidence/answer.
Prints a count per kind and exits non-zero on any error.

Stand-alone on purpose (only `opencc` beyond the standard library), so the set can be checked
without the `rag` package.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

import opencc

ROOT = Path(__file__).resolve().parent.parent

# kind -> id prefix
KINDS = {
    "number": "num",
    "table_cell": "tab",
    "list": "list",
    "trad_source": "trs",
    "trad_query": "trq",
    "cross_doc": "cross",
    "policy": "pol",
    "ambiguous": "amb",
    "unanswerable": "una",
    "paraphrase": "para",
    "multi_part": "multi",
    "compare": "cmp",
    "list_items": "items",
    "measure": "meas",
    "place_honesty": "place",
    "status": "stat",
}
# `expect` values: what a correct answer does when the answer strings alone cannot say it.
EXPECT = {
    "no_table": "status: the document has no completion table; say so (answer and evidence empty)",
    "all_met": "status: every indicator with a target was met; say none was missed (answer empty)",
    "partial": "one part of the question is not in the documents; give the other part, say which is missing",
}
FIELDS = ("id", "question", "kind", "gold_docs", "evidence", "answer")

# Pinyin ruby annotations: a parenthesis holding exactly one pinyin syllable right after a Han
# character (區(qū) -> 區); (亿元) (%) (2020年) (一) (GDP) stay.
_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü"
_SYLLABLE = re.compile(rf"(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?[aeiouv{_TONED}]{{1,3}}(?:ng|n|r)?")
_RUBY = re.compile(rf"(?<=[\u3400-\u9fff])[(（]([a-z{_TONED}]{{1,7}})[)）]")
_WS = re.compile(r"\s+")
_T2S = opencc.OpenCC("t2s")


def strip_ruby(text: str) -> str:
    return _RUBY.sub(lambda m: "" if _SYLLABLE.fullmatch(m.group(1)) else m.group(0), text)


def normalize(text: str) -> str:
    """NFKC, Traditional -> Simplified, ruby removed, all whitespace removed."""
    text = strip_ruby(text)
    text = _T2S.convert(unicodedata.normalize("NFKC", text))
    text = strip_ruby(text)  # a full-width （ becomes ( under NFKC; harmless second pass
    return _WS.sub("", text)


def load_docs(seeds: Path) -> dict[str, list[str]]:
    """doc id -> normalised non-empty lines."""
    docs = {}
    for path in sorted(seeds.glob("*.txt")):
        lines = (normalize(line) for line in path.read_text(encoding="utf-8").splitlines())
        docs[path.stem] = [line for line in lines if line]
    return docs


def found_in(s: str, lines: list[str]) -> bool:
    return any(s in line for line in lines)


def check(rows: list[tuple[int, dict]], docs: dict[str, list[str]]) -> list[str]:
    errors: list[str] = []
    seen: dict[str, int] = {}
    for lineno, q in rows:
        where = f"line {lineno} ({q.get('id', '?')})"
        missing = [f for f in FIELDS if f not in q]
        if missing:
            errors.append(f"{where}: missing field(s) {missing}")
            continue
        qid, kind = q["id"], q["kind"]
        if kind not in KINDS:
            errors.append(f"{where}: unknown kind {kind!r}")
            continue
        if not re.fullmatch(rf"{KINDS[kind]}-\d{{3}}", qid):
            errors.append(f"{where}: id should look like {KINDS[kind]}-NNN for kind {kind}")
        if qid in seen:
            errors.append(f"{where}: duplicate id (first on line {seen[qid]})")
        seen.setdefault(qid, lineno)
        if not isinstance(q["question"], str) or not q["question"].strip():
            errors.append(f"{where}: empty question")
        bad = [f for f in ("gold_docs", "evidence", "answer")
               if not isinstance(q[f], list) or not all(isinstance(x, str) and x.strip() for x in q[f])]
        if bad:
            errors.append(f"{where}: {bad} must be lists of non-empty strings")
            continue
        expect = q.get("expect")
        if expect is not None and expect not in EXPECT:
            errors.append(f"{where}: unknown expect {expect!r} (known: {sorted(EXPECT)})")
        gold, evidence, answer = q["gold_docs"], q["evidence"], q["answer"]

        # --- what each kind requires -----------------------------------------------------------
        declines = kind == "unanswerable" or (kind == "place_honesty" and not gold)
        if declines:
            if gold or evidence or answer:
                errors.append(f"{where}: a question that expects a decline needs empty gold_docs, evidence and answer")
            continue
        if not gold:
            errors.append(f"{where}: gold_docs empty (only unanswerable / declining place_honesty may be)")
        if expect == "no_table":
            if kind != "status" or evidence or answer:
                errors.append(f"{where}: expect=no_table is for status questions with empty evidence and answer")
        elif expect == "all_met":
            if kind != "status" or answer or not evidence:
                errors.append(f"{where}: expect=all_met is for status questions with evidence and an empty answer")
        else:
            if not evidence:
                errors.append(f"{where}: evidence empty")
            if not answer:
                errors.append(f"{where}: answer empty")

        # --- strings against the gold documents ------------------------------------------------
        unknown = [d for d in gold if d not in docs]
        if unknown:
            errors.append(f"{where}: gold doc(s) not in seeds: {unknown}")
        gold_lines = [line for d in gold if d in docs for line in docs[d]]
        for field in ("evidence", "answer"):
            for s in q[field]:
                n = normalize(s)
                if "|" in n:
                    errors.append(f"{where}: {field} {s!r} contains a table separator |")
                elif not found_in(n, gold_lines):
                    errors.append(f"{where}: {field} {s!r} not found in {gold}")
        if len(gold) > 1:
            for d in gold:
                if d in docs and not any(found_in(normalize(e), docs[d]) for e in evidence):
                    errors.append(f"{where}: no evidence string from gold doc {d}")
    return errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", nargs="?", default=str(ROOT / "eval" / "questions.jsonl"))
    parser.add_argument("--seeds", default=str(ROOT / "seeds"), help="folder of the gold documents (*.txt)")
    args = parser.parse_args(argv)

    docs = load_docs(Path(args.seeds))
    if not docs:
        print(f"no documents in {args.seeds}", file=sys.stderr)
        return 2
    rows: list[tuple[int, dict]] = []
    errors: list[str] = []
    for lineno, line in enumerate(Path(args.path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"line {lineno}: invalid JSON ({exc})")
            continue
        if not isinstance(obj, dict):
            errors.append(f"line {lineno}: not a JSON object")
            continue
        rows.append((lineno, obj))
    errors += check(rows, docs)

    counts = Counter(q.get("kind") for _, q in rows)
    print(f"{len(rows)} questions in {args.path}")
    for kind in KINDS:
        if counts.get(kind):
            print(f"  {kind:14s} {counts[kind]:4d}")
    dup_questions = [t for t, n in Counter(q.get("question") for _, q in rows).items() if n > 1]
    for t in dup_questions:
        print(f"warning: question text used more than once: {t}")
    if errors:
        for e in errors:
            print("ERROR", e, file=sys.stderr)
        print(f"{len(errors)} error(s)", file=sys.stderr)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
