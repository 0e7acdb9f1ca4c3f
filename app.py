"""Streamlit chat over the indexed documents: `streamlit run app.py`.

A thin front: everything it shows comes from `rag.engine.Engine` (search and answers) and
`rag.present` (highlighting). The model and index load once per process (st.cache_resource).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from rag.config import load_settings
from rag.embed.model import ModelUnavailableError
from rag.engine import Engine, build
from rag.index.store import IndexUnavailableError
from rag.present import highlight_html, section_label, table_row_cells, terms_to_highlight, years_label
from rag.records import Answer, Chunk
from rag.search.retriever import QueryFilters

st.set_page_config(page_title="政府文件问答 rag", page_icon="📑", layout="wide")


@st.cache_resource(show_spinner="正在加载模型和索引 Loading model and index…")
def get_engine(index_dir: str, model: str) -> Engine:
    settings = load_settings()
    try:
        return Engine(settings, index_dir=Path(index_dir))
    except IndexUnavailableError:
        if any(Path(index_dir).glob("build-*")):
            raise  # an index exists but is broken: say so, never silently rebuild over it
        build(settings, index_dir=Path(index_dir))
        return Engine(settings, index_dir=Path(index_dir))


def render_sources(answer_terms: list[str], citations: list[dict], engine: Engine, key: str) -> None:
    for citation in citations:
        chunk = Chunk.from_dict(citation["chunk"])
        meta = " · ".join(x for x in (chunk.region, years_label(chunk.years)) if x)
        with st.expander(f"[{citation['number']}] {chunk.title}  ({meta})", expanded=citation["number"] <= 2):
            if label := section_label(chunk):
                st.caption(label)
            if row := table_row_cells(chunk):
                st.table([row])
            else:
                st.markdown(highlight_html(chunk.display_text, answer_terms), unsafe_allow_html=True)
            left, right = st.columns(2)
            if left.toggle("显示上下文 Show context", key=f"{key}-ctx-{citation['number']}"):
                context = engine.retriever.neighbours(chunk, before=2, after=2)
                st.markdown(
                    "<div style='border-left:3px solid #ddd;padding-left:.6em'>"
                    + "<br><br>".join(highlight_html(c.display_text, answer_terms) for c in context)
                    + "</div>",
                    unsafe_allow_html=True,
                )
            if right.button("打开全文 Open document", key=f"{key}-open-{citation['number']}"):
                st.session_state.open_document = (chunk.doc_id, chunk.start, chunk.end)
                st.rerun()


RECORD_COLUMNS = {"indicator": "指标", "target": "目标", "actual": "完成", "completion": "差距/完成率", "status": "状态",
                  "note": "备注", "region": "地区", "year": "年份", "table": "表", "chunk_id": "出处"}


def render_records(records: list[dict], key: str) -> None:
    """The indicator records an answer came from, as a table and a CSV download."""
    import csv
    import io

    rows = [{label: r.get(field) for field, label in RECORD_COLUMNS.items()} for r in records]
    st.dataframe(rows, width="stretch", hide_index=True)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(RECORD_COLUMNS.values()))
    writer.writeheader()
    writer.writerows(rows)
    st.download_button("下载 CSV Download", buffer.getvalue().encode("utf-8-sig"), file_name="indicators.csv",
                       mime="text/csv", key=f"{key}-csv")


def render_document(engine: Engine) -> None:
    doc_id, start, end = st.session_state.open_document
    doc = engine.index.documents.get(doc_id)
    if doc is None:
        st.session_state.open_document = None
        return
    st.subheader(doc.title)
    st.caption(f"{doc.region} · {years_label(doc.years)} · {doc.doc_type} · {doc.source}")
    if st.button("← 返回对话 Back to chat"):
        st.session_state.open_document = None
        st.rerun()
    import html

    text = doc.display_text
    body = (html.escape(text[:start]) + "<mark id='hit'>" + html.escape(text[start:end]) + "</mark>"
            + html.escape(text[end:])).replace("\n", "<br>")
    st.markdown(f"<div style='max-height:70vh;overflow:auto'>{body}</div>", unsafe_allow_html=True)


def render_upload(settings) -> None:
    """Add documents to the documents folder and rebuild the index, with progress and per-file errors."""
    with st.expander("添加文档 Add documents"):
        files = st.file_uploader("txt / md / docx / pdf / html", accept_multiple_files=True,
                                 type=["txt", "md", "docx", "pdf", "html", "htm"])
        if st.button("保存并重建索引 Save and rebuild", disabled=not files):
            target = Path(settings.docs_dir)
            target.mkdir(parents=True, exist_ok=True)
            for file in files or []:
                (target / Path(file.name).name).write_bytes(file.getvalue())
            bar = st.progress(0.0, text="开始 Starting…")
            try:
                result = build(settings, progress=lambda step, fraction: bar.progress(min(1.0, fraction), text=step))
            except ValueError as exc:
                st.error(str(exc))
                return
            for report in result.reports:
                if not report.ok:
                    st.warning(f"{report.path}: {report.message}")
            st.success(f"已索引 {result.manifest['n_documents']} 篇文档 Indexed.")
            get_engine.clear()
            st.rerun()


def answer_to_message(answer: Answer) -> dict:
    return {
        "role": "assistant",
        "content": answer.text,
        "found": answer.found,
        "notice": answer.notice,
        "question": answer.question,
        "citations": [{"number": c.number, "chunk": c.hit.chunk.to_dict()} for c in answer.citations],
    }


def main() -> None:
    settings = load_settings()
    st.session_state.setdefault("messages", [])
    st.session_state.setdefault("open_document", None)
    try:
        engine = get_engine(str(settings.index_dir), settings.embed_model)
    except (IndexUnavailableError, ModelUnavailableError, ValueError) as exc:
        st.error(str(exc))
        st.stop()

    with st.sidebar:
        st.header("检索设置 Search")
        mode = st.selectbox("检索方式 Mode", ["hybrid", "dense", "bm25"], index=0)
        top_k = st.slider("返回段落数 Top-k", 3, 20, 8)
        docs = engine.index.documents
        regions = st.multiselect("地区 Region", sorted({d.region for d in docs.values() if d.region}))
        years = st.multiselect("年份 Year", sorted({y for d in docs.values() for y in d.years}))
        chosen_docs = st.multiselect("文档 Document", list(docs), format_func=lambda d: docs[d].title)
        st.divider()
        render_upload(settings)
        m = engine.index.manifest
        st.caption(f"索引 Index: {m['n_documents']} 篇文档 · {m['n_chunks']} 个段落\n\n模型 Model: {m['model']}\n\n"
                   f"构建于 Built: {m['built_at']}")

    if st.session_state.open_document:
        render_document(engine)
        return

    st.title("政府文件问答")
    st.caption("基于区县政府工作报告、计划执行报告和任务进度表回答问题，每句答案都标注出处。")

    for n, message in enumerate(st.session_state.messages):
        with st.chat_message(message["role"]):
            st.markdown(message["content"])
            if message.get("notice"):
                st.warning(message["notice"])
            if message.get("records"):  # indicator facts behind the answer (rag/facts)
                render_records(message["records"], key=f"m{n}")
            if message["role"] == "assistant" and message["citations"]:
                st.markdown("**来源 Sources**" if message["found"] else "**最接近的段落 Closest passages**")
                terms = terms_to_highlight(engine.parse(message["question"]), message["content"])
                render_sources(terms, message["citations"], engine, key=f"m{n}")

    question = st.chat_input("输入问题，例如：拱墅2022年哪些指标未完成")
    if question:
        st.session_state.messages.append({"role": "user", "content": question, "citations": []})
        filters = QueryFilters(tuple(regions), tuple(years), tuple(chosen_docs))
        with st.chat_message("user"):
            st.markdown(question)
        with st.chat_message("assistant"):
            placeholder = st.empty()
            streamed: list[str] = []

            def show(piece: str) -> None:
                streamed.append(piece)
                placeholder.markdown("".join(streamed) + "▌")

            answer = engine.ask(question, mode=mode, top_k=top_k, filters=filters, on_token=show)
        # The rerun redraws from history, so the final answer (or the fallback) replaces the streamed text.
        message = answer_to_message(answer)
        if answer.found and answer.facts:  # the indicator facts a status answer was built from
            message["records"] = [f.to_dict() for f in answer.facts]
        st.session_state.messages.append(message)
        st.rerun()


main()
