"""The chat page: the empty screen that teaches, the conversation, each answer with its sources.

An answer is kept in the session as a plain dict (see `answer_message`): its text, the mode and
filters it was made with, and its sources (cited first, then extras) with their labels and the terms
to highlight, so older answers still render after the index is rebuilt.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

import streamlit as st

from rag.config import Settings
from rag.engine import Engine
from rag.present import (
    MODE_LABELS,
    anchor_id,
    cited_numbers,
    conversation_markdown,
    example_questions,
    fact_rows,
    feedback_record,
    index_summary,
    passage_html,
    safe_answer_markdown,
    source_label,
    table_html,
    terms_to_highlight,
    years_label,
)
from rag.records import Answer, Chunk
from rag.search.retriever import QueryFilters
from rag.ui.style import scroll_to

FEEDBACK_FILE = "feedback.jsonl"


# --- from an Answer to a stored message --------------------------------------------------------------

def _paragraph_numbers(engine: Engine, chunks: Sequence[Chunk]) -> dict[str, int]:
    """1-based position of each chunk among its document's chunks (the index keeps a document's chunks together)."""
    numbers: dict[str, int] = {}
    for chunk in chunks:
        try:
            pos = engine.index.position(chunk.chunk_id)
        except KeyError:
            continue
        first = pos
        while first > 0 and engine.index.chunks[first - 1].doc_id == chunk.doc_id:
            first -= 1
        numbers[chunk.chunk_id] = pos - first + 1
    return numbers


def answer_message(answer: Answer, engine: Engine, *, mode: str, filters_label: str, top_k: int,
                   serial: int, context: str = "") -> dict:
    """What the session keeps of an answer: everything needed to draw it again, as plain data."""
    evidence_by_number: dict[int, list[str]] = {}
    for e in answer.evidence:
        evidence_by_number.setdefault(e.number, []).append(e.display)
    fact_chunks = {f.chunk_id for f in answer.facts}
    cited = set(cited_numbers(answer.text)) | set(evidence_by_number)
    cited |= {c.number for c in answer.citations if c.hit.chunk.chunk_id in fact_chunks}
    if not answer.found:
        cited = set()
    chunks = [c.hit.chunk for c in answer.citations]
    paragraphs = _paragraph_numbers(engine, chunks)
    sources = []
    for citation in sorted(answer.citations, key=lambda c: (c.number not in cited, c.number)):
        chunk = citation.hit.chunk
        label = source_label(chunk, engine.index.documents.get(chunk.doc_id), paragraphs.get(chunk.chunk_id, 0))
        sources.append({
            "number": citation.number,
            "cited": citation.number in cited,
            "label": label.text,
            "document": label.document,
            "chunk": chunk.to_dict(),
            "terms": terms_to_highlight(answer.query, answer.text, evidence_by_number.get(citation.number, ())),
        })
    extras = [s for s in sources if not s["cited"]]
    keep_extras = max(0, top_k - (len(sources) - len(extras)))  # the slider limits what is shown
    sources = [s for s in sources if s["cited"]] + extras[:keep_extras]
    labels = {s["chunk"]["chunk_id"]: f"[{s['number']}] {s['label']}" for s in sources}
    return {
        "role": "assistant",
        "id": serial,
        "content": answer.text,
        "question": answer.question,
        "found": answer.found,
        "notice": answer.notice,
        "method": answer.method,
        "mode": mode,
        "filters_label": filters_label,
        "context": context or _context_line(mode, filters_label),
        "sources": sources,
        "fact_rows": fact_rows(answer.facts, labels) if answer.facts else [],
    }


def _context_line(mode: str, filters_label: str) -> str:
    return f"检索方式：{MODE_LABELS.get(mode, mode)} · " + (f"筛选：{filters_label}" if filters_label else "未筛选")


# --- drawing --------------------------------------------------------------------------------------

def _preview(source: Mapping) -> str:
    text = source["chunk"]["display_text"].replace("\n", " ")
    return source["label"] + "\n" + (text[:120] + "…" if len(text) > 120 else text)


def _groups(sources: Sequence[Mapping]) -> list[list[Mapping]]:
    """Sources in order, cited rows of one table gathered so that each table is shown once."""
    groups: list[list[Mapping]] = []
    by_table: dict[tuple, list[Mapping]] = {}
    for source in sources:
        chunk = source["chunk"]
        if source["cited"] and chunk.get("cells"):
            key = (chunk["doc_id"], tuple(chunk.get("display_breadcrumb", ())))
            if key in by_table:
                by_table[key].append(source)
                continue
            by_table[key] = [source]
            groups.append(by_table[key])
        else:
            groups.append([source])
    return groups


def _render_source_group(group: Sequence[Mapping], message: Mapping, engine: Engine | None, expanded: bool) -> None:
    first = Chunk.from_dict(group[0]["chunk"])
    prefix = f"m{message['id']}"
    st.html("".join(f'<div class="rag-anchor" id="{anchor_id(prefix, s["number"])}"></div>' for s in group))
    numbers = "".join(f"[{s['number']}]" for s in group)
    if len(group) > 1:
        caption = first.display_breadcrumb[-1] if first.display_breadcrumb else "表格"
        title = f"{numbers} {group[0]['document']} · {caption}（{len(group)} 行）"
    else:
        title = f"{numbers} {group[0]['label']}"
    key = f"m{message['id']}-s{group[0]['number']}"
    with st.expander(title, expanded=expanded):
        chunks = [Chunk.from_dict(s["chunk"]) for s in group]
        if len(group) > 1:
            terms = [t for s in group for t in s["terms"]]
            st.html(table_html(chunks, terms, {s["chunk"]["chunk_id"]: s["number"] for s in group}))
        else:
            st.html(passage_html(first, group[0]["terms"]))
        meta = " · ".join(x for x in (first.region, years_label(first.years), first.title) if x)
        st.caption(meta)
        if engine is None:
            return
        left, right = st.columns(2)
        if left.toggle("显示上下文", key=f"{key}-ctx") and len(group) == 1:
            try:
                context = engine.retriever.neighbours(first, before=2, after=2)
            except KeyError:  # the passage is from an earlier build of the index
                context = []
            st.html("<div style='border-left:3px solid #ddd;padding-left:.6em'>"
                    + "".join(passage_html(c, group[0]["terms"] if c.chunk_id == first.chunk_id else [])
                              for c in context) + "</div>")
        if right.button("打开全文", key=f"{key}-open", help="在原文中查看这段，可返回对话原处"):
            st.session_state.open_document = {
                "doc_id": first.doc_id, "chunk_id": first.chunk_id, "terms": group[0]["terms"],
                "back_to": anchor_id(f"m{message['id']}", group[0]["number"]),
            }
            st.rerun()


def _facts_csv(rows: Sequence[Mapping]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")  # BOM: Excel opens it as UTF-8


def _save_feedback(settings: Settings, message: Mapping, key: str) -> None:
    value = st.session_state.get(key)
    if value is None:
        return
    folder = Path(settings.feedback_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / FEEDBACK_FILE).open("a", encoding="utf-8") as handle:
            handle.write(feedback_record(message, "up" if value == 1 else "down", datetime.now().astimezone()) + "\n")
        st.toast(f"已记录反馈（保存在本机 {folder / FEEDBACK_FILE}）")
    except OSError as exc:
        st.toast(f"反馈未能保存：{exc.strerror or exc}")


def render_answer(message: dict, engine: Engine | None, settings: Settings) -> None:
    sources = message["sources"]
    by_number = {s["number"]: s for s in sources}

    def link(number: int) -> tuple[str, str] | None:
        source = by_number.get(number)
        if source is None:
            return None
        return "#" + anchor_id(f"m{message['id']}", number), _preview(source)

    st.markdown(safe_answer_markdown(message["content"], link), unsafe_allow_html=True)
    if message.get("notice"):
        st.warning(message["notice"])
    st.caption(message["context"])
    unfiltered = message.get("unfiltered")
    if unfiltered:
        st.warning(f"按当前筛选（{message['filters_label']}）没有找到答案，去掉筛选后可以找到。")
        if st.button("显示不加筛选的结果", key=f"m{message['id']}-unfiltered"):
            st.session_state.messages.append(unfiltered)
            message["unfiltered"] = None
            st.rerun()
    if message.get("fact_rows"):
        st.download_button("下载指标表 CSV", _facts_csv(message["fact_rows"]), file_name="指标.csv",
                           mime="text/csv", key=f"m{message['id']}-csv")
    tools = st.columns([1, 1, 4])
    with tools[0].popover("复制", help="复制这条回答的文字"):
        st.code(message["content"], language=None, wrap_lines=True)
    with tools[1]:
        key = f"m{message['id']}-fb"
        st.feedback("thumbs", key=key, on_change=_save_feedback, args=(settings, message, key))
    cited = [s for s in sources if s["cited"]]
    extras = [s for s in sources if not s["cited"]]
    if cited:
        st.markdown("**来源**")
        for i, group in enumerate(_groups(cited)):
            _render_source_group(group, message, engine, expanded=i < 2)
    if extras:
        st.markdown("**更多相关段落**" if cited else "**最接近的段落**")
        for group in _groups(extras):
            _render_source_group(group, message, engine, expanded=False)


def _choose_example(question: str) -> None:
    st.session_state.pending_question = question


def render_empty_screen(manifest: Mapping, examples: Sequence[str], stage: str = "m") -> None:
    """What a first visit sees: what is indexed and questions to start from (clickable)."""
    summary = index_summary(manifest)
    if summary.n_documents:
        types = "、".join(f"{t} {n} 篇" for t, n in summary.doc_types)
        st.markdown(
            f"已收录 **{summary.n_documents}** 篇文档（{types}），共 {summary.n_chunks} 个段落。  \n"
            f"地区：{'、'.join(summary.regions) or '未标注'}  \n"
            f"年份：{years_label(summary.years) or '未标注'}"
        )
    if examples:
        st.markdown("**可以这样问：**")
        for i, question in enumerate(examples):
            # A callback, not the return value: the click counts even when the examples are redrawn
            # differently on the next run (from the facts, once the engine has loaded).
            st.button(question, key=f"example-{stage}-{i}", width="stretch", on_click=_choose_example, args=(question,))


def draw_history(engine: Engine | None, settings: Settings) -> None:
    for message in st.session_state.messages:
        with st.chat_message(message["role"]):
            if message["role"] == "user":
                st.markdown(safe_answer_markdown(message["content"]))
                if message.get("notice"):
                    st.info(message["notice"])
            else:
                render_answer(message, engine, settings)
    back = st.session_state.pop("scroll_back_to", None)
    if back:
        scroll_to(back, block="start")


def ask(engine: Engine, question: str, *, mode: str, top_k: int, filters: QueryFilters, filters_label: str,
        notice: str = "") -> None:
    """Ask, stream an LLM answer as it comes, and keep the answer (and the unfiltered one, when the
    filters excluded the answer) in the session."""
    st.session_state.messages.append({"role": "user", "content": question, "notice": notice})
    with st.chat_message("user"):
        st.markdown(safe_answer_markdown(question))
    with st.chat_message("assistant"):
        placeholder = st.empty()
        streamed: list[str] = []

        def show(piece: str) -> None:
            streamed.append(piece)
            placeholder.markdown(safe_answer_markdown("".join(streamed)) + "▌", unsafe_allow_html=True)

        with st.spinner("正在查找…"):
            answer = engine.ask(question, mode=mode, top_k=top_k, filters=filters, on_token=show)
    serial = st.session_state.serial = st.session_state.get("serial", 0) + 1
    message = answer_message(answer, engine, mode=mode, filters_label=filters_label, top_k=top_k, serial=serial)
    if filters_label and _filters_may_exclude(answer, filters):
        free = engine.ask(question, mode=mode, top_k=top_k)
        if free.found and free.citations:
            st.session_state.serial += 1
            message["unfiltered"] = answer_message(
                free, engine, mode=mode, filters_label="", top_k=top_k, serial=st.session_state.serial,
                context=f"检索方式：{MODE_LABELS.get(mode, mode)} · 不加筛选（原筛选：{filters_label}）")
    st.session_state.messages.append(message)
    st.rerun()


def _filters_may_exclude(answer: Answer, filters: QueryFilters) -> bool:
    """Whether the sidebar filters may be why there is no answer: nothing found or cited, or the question
    names a place or year the filters leave out."""
    if not answer.found or not answer.citations:
        return True
    query = answer.query
    if query is None:
        return False
    return bool((filters.regions and query.regions - set(filters.regions))
                or (filters.years and query.years - set(filters.years)))


def export_button(messages: Sequence[Mapping]) -> None:
    st.download_button("导出对话", help="把整段对话和来源存成 Markdown 文件",
                       data=conversation_markdown(messages).encode("utf-8"),
                       file_name=f"对话-{datetime.now():%Y%m%d-%H%M}.md", mime="text/markdown",
                       disabled=not messages, width="stretch")


def examples_for(manifest: Mapping, facts) -> list[str]:
    return example_questions(manifest, facts, limit=5)
