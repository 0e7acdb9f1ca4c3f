"""Uses ../shared: the SQuAD-style benchmark path of `rag eval --benchmark` on the first paragraphs of DRCD
dev and CMRC 2018 dev — the real paragraphs and questions, indexed and answered end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.evaluation.run import benchmark_path, run_squad_benchmark

PARAGRAPHS = 15  # about 45-75 questions each: the answer path, not the benchmark's figure (eval/reports/)


def _head_of(name: str, out: Path) -> Path:
    """The benchmark's first articles until PARAGRAPHS paragraphs, written as a SQuAD file of their own."""
    data = json.loads(benchmark_path(name).read_text(encoding="utf-8"))
    articles, count = [], 0
    for article in data["data"]:
        paragraphs = article["paragraphs"][: PARAGRAPHS - count]
        articles.append({**article, "paragraphs": paragraphs})
        count += len(paragraphs)
        if count >= PARAGRAPHS:
            break
    out.write_text(json.dumps({"data": articles}, ensure_ascii=False), encoding="utf-8")
    return out


@pytest.mark.parametrize("name", ["drcd", "cmrc"])
def test_extractive_answers_show_the_gold_span(settings, tmp_path, name: str) -> None:
    path = _head_of(name, tmp_path / f"{name}.json")
    report = run_squad_benchmark(settings, path, ("hybrid",), baseline=False, index_dir=tmp_path / "bench")
    answers = report["answers"]
    assert report["paragraphs"] == PARAGRAPHS and report["questions"] >= 40
    # the full dev sets measure 0.866 (DRCD) and 0.865 (CMRC); fifteen paragraphs vary around that
    assert answers["gold_span_in_answer"] >= 0.7, answers
    assert answers["declined"] <= 0.15, answers  # every question here has an answer in its paragraph
    assert len(answers["missed"]) == round((1 - answers["gold_span_in_answer"]) * report["questions"])
