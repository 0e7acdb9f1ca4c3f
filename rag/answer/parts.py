"""A question of several parts answered part by part: 「滨江和余杭2021年GDP各是多少」「谁更高」.

Each part (a place, a year or an indicator of the question; `Query.parts`) was retrieved and
answered on its own; here the parts' direct lines are put together, each with its own citation,
a part the documents do not answer is named as missing, and for 「哪个高/对比」 the comparison is
computed from the two cited figures — only when they have the same unit.
"""

from __future__ import annotations

from collections.abc import Sequence

from rag.answer.citations import Numbering
from rag.answer.extractive import NOT_FOUND, Lead
from rag.lexicon import lexicon
from rag.records import Answer, Citation, Evidence, Hit, Query

Part = tuple[Query, Answer, "Lead | None"]


def part_label(part: Query, whole: Query) -> str:
    """What sets a part apart: its place, its year, or its indicator."""
    pieces = []
    if len(whole.regions) > 1 or (part.regions and part.regions != whole.regions):
        pieces.append("、".join(sorted(part.regions)))
    if len(whole.years) > 1:
        pieces.append("、".join(f"{y}年" for y in sorted(part.years)))
    if not pieces:
        pieces.append("".join(t for t in part.topic if t not in whole.regions) or part.text)
    return "".join(pieces)


def compare_line(whole: Query, parts: Sequence[Part], cite) -> str:
    """「余杭区（2502.2亿元[2]）高于滨江区（2022.6亿元[1]）。」, or why the two cannot be compared."""
    leads = [(p, lead) for p, a, lead in parts if a.found and lead is not None and lead.value is not None]
    if len(leads) != 2:
        return "其中一项未在文档中找到，无法比较。"
    (pa, a), (pb, b) = leads
    if a.unit != b.unit:
        return f"两者单位不同（{a.unit or '无单位'}与{b.unit or '无单位'}），不可直接比较。"
    la, lb = part_label(pa, whole), part_label(pb, whole)
    fa, fb = f"（{a.figure}[{cite(a.hit)}]）", f"（{b.figure}[{cite(b.hit)}]）"
    if a.value == b.value:
        return f"比较：{la}{fa}与{lb}{fb}相同。"
    word = "高于" if (a.value or 0) > (b.value or 0) else "低于"
    return f"比较：{la}{fa}{word}{lb}{fb}。"


def merge_parts(whole: Query, parts: Sequence[Part]) -> Answer:
    """One answer from the parts' answers: a line per part (its direct line, else its best sentence), each
    cited, then the comparison when one is asked, then each part's supporting sentences."""
    numbering = Numbering()

    def cite(hit: Hit) -> int:
        return numbering.cite(hit, renumber=True)

    lines: list[str] = []
    support: list[str] = []
    evidence: list[Evidence] = []
    for part, answer, lead in parts:
        label = part_label(part, whole)
        if not answer.found:
            lines.append(f"- {label}：{NOT_FOUND}。")
            continue
        by_number = {c.number: c.hit for c in answer.citations}
        if lead is not None:
            lines.append(f"- {lead.text}[{cite(lead.hit)}]")
        for item in answer.evidence[: 2 if lead is not None else 1]:
            hit = by_number.get(item.number)
            if hit is None:
                continue
            n = cite(hit)
            (support if lead is not None else lines).append(f"- {item.display} [{n}]")
            evidence.append(Evidence(n, item.display, item.search))
    found = any(a.found for _, a, _ in parts)
    if not found:
        hits = [c.hit for _, a, _ in parts for c in a.citations][:3]
        closest = tuple(Citation(i + 1, h) for i, h in enumerate(hits))
        return Answer(whole.raw, f"{NOT_FOUND}能直接回答该问题的内容。以下是最接近的段落，供参考。", closest,
                      found=False, query=whole, method="extractive")
    if lexicon().answer.asks_compare.search(whole.text):
        lines.append(compare_line(whole, parts, cite))
    if support:
        lines += ["", "依据：", *support]
    return Answer(whole.raw, "\n".join(lines), tuple(numbering.citations), found=True, evidence=tuple(evidence), query=whole,
                  method="extractive")
