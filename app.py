"""Streamlit chat over the indexed documents: `make app` (or `streamlit run app.py`).

A thin front: the pages live in rag/ui (chat, document view, documents page); everything they show
comes from `rag.engine.Engine` and `rag.present`. The page (title, sidebar, what is indexed, example
questions) is drawn from the index's manifest first; the model and index load after, once per
process and again only when a new build goes live.
"""

from __future__ import annotations

import streamlit as st

from rag.config import ConfigError, load_settings
from rag.embed.model import ModelUnavailableError
from rag.engine import build
from rag.index.store import IndexUnavailableError
from rag.present import MODE_HELP, MODE_LABELS, built_at_label, filters_label, trim_question
from rag.search.retriever import MODES, QueryFilters
from rag.ui import chat, loader
from rag.ui.document import render_document
from rag.ui.library import render_library
from rag.ui.style import inject_css

st.set_page_config(page_title="政府文件问答", page_icon="📑", layout="wide")


def sidebar(settings, live: loader.LiveIndex) -> dict:
    docs = live.manifest.get("documents") or {}
    with st.sidebar:
        st.header("政府文件问答")
        page = st.radio("页面", ["对话", "文档管理"], horizontal=True, label_visibility="collapsed", key="page")
        st.subheader("检索设置")
        mode = st.selectbox("检索方式", MODES, format_func=lambda m: MODE_LABELS.get(m, m), help=MODE_HELP)
        top_k = st.slider("参考段落数", 3, 20, 8, help="每个回答最多列出几段来源；回答引用的段落总会列出。")
        regions = st.multiselect("地区", sorted({d["region"] for d in docs.values() if d.get("region")}),
                                 placeholder="全部地区")
        years = st.multiselect("年份", sorted({y for d in docs.values() for y in d.get("years", [])}),
                               placeholder="全部年份")
        chosen = st.multiselect("文档", list(docs), format_func=lambda d: docs[d].get("title", d),
                                placeholder="全部文档")
        st.divider()
        left, right = st.columns(2)
        if left.button("清空对话", width="stretch", disabled=not st.session_state.messages):
            st.session_state.messages = []
            st.session_state.open_document = None
            st.rerun()
        with right:
            chat.export_button(st.session_state.messages)
        if live.manifest:
            st.caption(f"索引：{live.manifest.get('n_documents', 0)} 篇文档 · {live.manifest.get('n_chunks', 0)} 个段落  \n"
                       f"更新于 {built_at_label(live.manifest.get('built_at', ''))}")
    return {
        "page": page, "mode": mode, "top_k": top_k,
        "filters": QueryFilters(tuple(regions), tuple(years), tuple(chosen)),
        "filters_label": filters_label(regions, years, [docs[d].get("title", d) for d in chosen]),
    }


def main() -> None:
    st.session_state.setdefault("messages", [])
    st.session_state.setdefault("open_document", None)
    try:
        settings = load_settings()
    except ConfigError as exc:
        st.error(f"配置文件有误：{exc}")
        st.stop()
    inject_css()
    live = loader.live_index(settings)
    choice = sidebar(settings, live)

    if choice["page"] == "文档管理":
        render_library(settings, live.manifest)
        return

    if not st.session_state.open_document:
        st.title("政府文件问答")
        st.caption("根据已收录的政府工作报告、计划执行报告和任务进度表回答问题，每句答案都标注出处，点 [n] 可查看原文。")
        empty_slot = st.empty()
        examples = chat.examples_for(live.manifest, loader.known_facts(live.build))
        if not st.session_state.messages:  # drawn from the manifest, before the engine loads
            with empty_slot.container():
                chat.render_empty_screen(live.manifest, examples)

    try:
        if not live.build:
            with st.spinner("还没有索引：正在为文档建立索引（首次约需一两分钟）…"):
                build(settings)
            live = loader.live_index(settings)
        with st.spinner("正在加载模型和索引…"):
            engine = loader.get_engine(settings, live.build)
    except (IndexUnavailableError, ModelUnavailableError, ValueError, OSError) as exc:
        st.error(f"无法加载索引或模型：{exc}")
        st.stop()

    if st.session_state.open_document:
        render_document(engine)
        return

    if not st.session_state.messages and (better := chat.examples_for(live.manifest, engine.facts)) != examples:
        with empty_slot.container():  # the first visit: examples from the indexed facts, now loaded
            chat.render_empty_screen(live.manifest, better, stage="f")
    chat.draw_history(engine, settings)
    typed = st.chat_input("输入问题，例如：余杭2021年GDP")
    pending = st.session_state.pop("pending_question", None)
    raw = typed if typed is not None else pending
    if raw is None:
        return
    question, notice = trim_question(raw)
    if not question:
        st.info(notice)
        return
    empty_slot.empty()
    chat.ask(engine, question, mode=choice["mode"], top_k=choice["top_k"], filters=choice["filters"],
             filters_label=choice["filters_label"], notice=notice)


main()
