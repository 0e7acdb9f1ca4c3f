"""The documents page: what is indexed, add documents (to the user documents folder), remove them, rebuild.

Uploads go to `settings.user_docs_dir`, never to the documents folder (the repository's seeds/): a
name already taken is saved under a new numbered name, so nothing is overwritten. `rag.engine.build`
indexes both folders; the chat notices the new build by itself (rag/ui/loader.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import streamlit as st

from rag.config import Settings
from rag.engine import USER_DOCS_PREFIX, build
from rag.present import built_at_label, document_short_name, years_label
from rag.ui import loader

UPLOAD_TYPES = ["txt", "md", "docx", "pdf", "html", "htm"]


def free_name(folder: Path, name: str) -> str:
    """`name`, or `stem (2).ext`, `stem (3).ext` … when taken: an upload never overwrites a file."""
    candidate, n = name, 1
    while (folder / candidate).exists():
        n += 1
        candidate = f"{Path(name).stem} ({n}){Path(name).suffix}"
    return candidate


def save_upload(folder: Path, name: str, data: bytes) -> tuple[str, str]:
    """Save one uploaded file into `folder`; returns (saved name, message for the user)."""
    clean = Path(name.replace("\\", "/")).name.strip()
    if not clean or clean.startswith("."):
        raise ValueError(f"文件名「{name}」不能用：请改成普通文件名再上传。")
    if Path(clean).suffix.lower().lstrip(".") not in UPLOAD_TYPES:
        raise ValueError(f"「{clean}」不是支持的格式（{' / '.join(UPLOAD_TYPES)}）。")
    folder.mkdir(parents=True, exist_ok=True)
    saved = free_name(folder, clean)
    with (folder / saved).open("xb") as handle:  # "x": fail rather than overwrite, even in a race
        handle.write(data)
    note = f"已保存「{saved}」" + (f"（已有同名文件「{clean}」，新文件另存为新名字）" if saved != clean else "")
    return saved, note


def _rebuild(settings: Settings) -> None:
    bar = st.progress(0.0, text="开始重建索引…")
    try:
        embedder = loader._embedder(settings, settings.embed_model, settings.embed_backend)
        result = build(settings, embedder=embedder,
                       progress=lambda step, fraction: bar.progress(min(1.0, max(0.0, fraction)), text=step))
    except Exception as exc:  # noqa: BLE001 — any failure is shown on the page, the old index stays live
        st.session_state.build_result = ("error", f"重建失败，原来的索引仍在使用：{exc}", [])
        return
    problems = [f"{r.path}：{r.message}" for r in result.reports if not r.ok]
    text = f"重建完成：已索引 {result.manifest['n_documents']} 篇文档、{result.manifest['n_chunks']} 个段落。新问题将使用新索引。"
    st.session_state.build_result = ("warning" if problems else "success", text, problems)


def render_library(settings: Settings, manifest: Mapping) -> None:
    st.title("文档管理")
    user_dir = Path(settings.user_docs_dir)
    st.caption(f"项目文档在 {settings.docs_dir}（只读）；你添加的文档保存在 {user_dir}。")

    if result := st.session_state.get("build_result"):
        kind, text, problems = result
        getattr(st, kind)(text)
        for line in problems:
            st.warning(line)

    docs = (manifest.get("documents") or {}) if manifest else {}
    st.subheader(f"已索引的文档（{len(docs)} 篇）")
    if manifest:
        st.caption(f"索引更新于 {built_at_label(manifest.get('built_at', ''))}")
    rows = [{"文档": document_short_name(d.get("region", ""), d.get("years", []), d.get("doc_type", ""), d.get("title", "")),
             "标题": d.get("title", ""), "地区": d.get("region", ""), "年份": years_label(d.get("years", [])),
             "类型": d.get("doc_type", ""), "来源": "我添加的" if doc_id.startswith(USER_DOCS_PREFIX) else "项目文档"}
            for doc_id, d in docs.items()]
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch")

    st.subheader("添加文档")
    files = st.file_uploader("选择文件（txt / md / docx / pdf / html）", accept_multiple_files=True, type=UPLOAD_TYPES,
                             key=f"uploader-{st.session_state.get('uploader_round', 0)}")
    if st.button("保存并重建索引", disabled=not files, type="primary"):
        notes = []
        for file in files or []:
            try:
                notes.append(save_upload(user_dir, file.name, file.getvalue())[1])
            except (ValueError, OSError) as exc:
                notes.append(f"「{file.name}」未保存：{exc}")
        st.session_state.uploader_round = st.session_state.get("uploader_round", 0) + 1  # clears the picker
        _rebuild(settings)
        kind, text, problems = st.session_state.build_result
        st.session_state.build_result = (kind, "；".join(notes) + "。" + text, problems)
        st.rerun()

    st.subheader("我添加的文档")
    mine = sorted(p for p in user_dir.glob("*") if p.is_file() and not p.name.startswith(".")) if user_dir.is_dir() else []
    if not mine:
        st.caption("还没有添加文档。")
    for path in mine:
        left, right = st.columns([4, 1])
        left.write(path.name)
        if right.button("删除", key=f"remove-{path.name}", help="删除这份文档并重建索引"):
            path.unlink(missing_ok=True)
            _rebuild(settings)
            kind, text, problems = st.session_state.build_result
            st.session_state.build_result = (kind, f"已删除「{path.name}」。" + text, problems)
            st.rerun()

    if st.button("重建索引", help="重新读取全部文档；只有新增或改动的段落需要重新计算向量"):
        _rebuild(settings)
        st.rerun()
