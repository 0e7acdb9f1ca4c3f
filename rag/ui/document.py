"""The document view: the whole document under its title, tables as tables, scrolled to the passage."""

from __future__ import annotations

import streamlit as st

from rag.engine import Engine
from rag.present import HIT_ID, document_html, years_label
from rag.ui.style import scroll_to


def render_document(engine: Engine) -> None:
    target = st.session_state.open_document
    doc = engine.index.documents.get(target["doc_id"])

    def back() -> None:
        st.session_state.open_document = None
        st.session_state.scroll_back_to = target.get("back_to")

    st.button("← 返回对话", on_click=back, key="doc-back-top")
    if doc is None:
        st.warning("这份文档已不在当前索引中（可能已被删除或索引已重建）。")
        return
    st.subheader(doc.title)
    meta = " · ".join(x for x in (doc.region, years_label(doc.years), doc.doc_type) if x)
    if meta:
        st.caption(meta)
    chunks = engine.router.lister.doc_chunks(doc.doc_id)  # read by row, not a pass over every chunk
    st.html(document_html(doc, chunks, target["chunk_id"], target.get("terms", [])))
    scroll_to(HIT_ID)
    st.button("← 返回对话", on_click=back, key="doc-back-bottom")
