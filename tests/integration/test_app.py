"""The Streamlit app driven through Streamlit's own testing API, on an index of the real seeds.

Tests that change the index (uploads, a new build) work on their own copy of the seed index and
their own user-documents folder; the rest share the session's seed index read-only.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from rag.config import PROJECT_ROOT

SEEDS = PROJECT_ROOT / "seeds"
ENGLISH_WIDGET_TEXT = ("Choose options", "Top-k", "hybrid", "dense", "bm25", "Deploy", "Browse files")


def _start(monkeypatch, index_dir: Path, tmp_path: Path) -> AppTest:
    monkeypatch.setenv("RAG_INDEX_DIR", str(index_dir))
    monkeypatch.setenv("RAG_EMBED_MODEL", "multilingual-e5-small")
    monkeypatch.setenv("RAG_USER_DOCS_DIR", str(tmp_path / "user-docs"))
    monkeypatch.setenv("RAG_FEEDBACK_DIR", str(tmp_path / "feedback"))
    monkeypatch.setenv("RAG_DOCS_DIR", str(SEEDS))
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=300)
    at.run()
    assert not at.exception
    return at


@pytest.fixture()
def app(seed_index, monkeypatch, tmp_path):
    return _start(monkeypatch, seed_index, tmp_path)


@pytest.fixture()
def own_index(seed_index, tmp_path) -> Path:
    """A private copy of the seed index, for tests that build over it."""
    target = tmp_path / "index"
    shutil.copytree(seed_index, target)
    return target


def _assistant_text(at) -> str:
    return "\n".join(md.value for msg in at.chat_message if msg.name == "assistant" for md in msg.markdown)


def _html(at) -> str:
    return "\n".join(h.proto.body for h in at.get("html"))


def _ask(at, question: str):
    at.chat_input[0].set_value(question).run()
    assert not at.exception
    return at


def test_answer_cites_with_clickable_links_to_sources_titled_by_what_they_are(app):
    _ask(app, "余杭区2021年地区生产总值是多少")
    text = _assistant_text(app)
    assert "2502.2" in text
    link = re.search(r'<a class="rag-cite" href="#(m\d+-src-1)" title="([^"]+)"', text)
    assert link, "[1] is a link to its source, with a preview"
    assert f'id="{link.group(1)}"' in _html(app)  # the link's target exists on the page
    first = app.expander[0].label
    assert first.startswith("[1] 余杭区") and "政府工作报告" in first and "段" in first
    assert ".txt" not in first and "_" not in first  # a short name, not the internal file name
    assert any("检索方式：综合检索" in c.value and "未筛选" in c.value for c in app.caption)


def test_empty_screen_teaches_and_example_questions_are_clickable(app):
    app.run()  # the second visit of a loaded engine draws examples from the indexed facts too
    intro = " ".join(md.value for md in app.markdown)
    assert "已收录 **5** 篇文档" in intro and "地区：" in intro and "年份：" in intro
    assert "政府工作报告" in intro  # document types with counts
    examples = [b for b in app.button if b.key and b.key.startswith("example-")]
    assert 4 <= len(examples) <= 6
    regions = {"余杭区", "拱墅区", "滨江区", "钱塘新区"}
    assert all(any(r in b.label for r in regions) for b in examples)  # drawn from the indexed documents
    examples[0].click().run()
    assert not app.exception
    assert [m.name for m in app.chat_message] == ["user", "assistant"]


def test_unanswerable_question_says_so(app):
    _ask(app, "西湖区2022年财政收入是多少")
    assert "未在文档中找到" in _assistant_text(app)


def test_labels_are_chinese_and_plain(app):
    captions = " ".join(c.value for c in app.sidebar.caption)
    assert "5 篇文档" in captions
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d", captions), "no raw ISO timestamp"
    mode = app.sidebar.selectbox[0]
    assert mode.label == "检索方式" and mode.options == ["综合检索", "语义", "关键词"]
    widgets = [*app.sidebar.selectbox, *app.sidebar.slider, *app.sidebar.multiselect, *app.sidebar.button]
    shown = " ".join(w.label for w in widgets) + " ".join(m.placeholder for m in app.sidebar.multiselect)
    assert not any(word in shown for word in ENGLISH_WIDGET_TEXT), shown
    assert all(m.placeholder.startswith("全部") for m in app.sidebar.multiselect)
    config = (PROJECT_ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8")
    assert 'toolbarMode = "minimal"' in config and 'address = "127.0.0.1"' in config


def test_traditional_source_question_shows_traditional_passage(app):
    _ask(app, "余杭2021年新增上市企业多少家")
    passages = _html(app)
    assert any(ch in passages for ch in "區億業經"), "the cited 余杭 passage keeps its Traditional characters"


def test_html_and_markdown_in_question_are_shown_as_text(app):
    _ask(app, "<script>alert(1)</script>![t](http://example.invalid/p.png)拱墅2022年新增就业")
    user_text = " ".join(md.value for msg in app.chat_message if msg.name == "user" for md in msg.markdown)
    assert "&lt;script&gt;" in user_text and "<script>" not in user_text
    assert "](http" not in user_text and "http://" not in user_text


def test_flagship_question_shows_each_table_once_with_caption_and_readable_csv(app):
    _ask(app, "拱墅2022年哪些指标未完成")
    text = _assistant_text(app)
    assert "12 项" in text and "实际利用外资" in text and 'href="#m' in text
    labels = [e.label for e in app.expander]
    assert labels and all("拱墅" in label for label in labels)
    assert len(labels) == len(set(labels)) and len(labels) < 12  # rows of one table are gathered
    tables = re.findall(r"<caption>([^<]+)</caption>", _html(app))
    assert tables and len(tables) == len(set(tables)), "each cited table once, with its caption"
    csv_button = next(d for d in app.get("download_button") if "CSV" in d.proto.label)
    assert csv_button is not None
    message = app.session_state["messages"][-1]
    rows = message["fact_rows"]
    assert len(rows) == 12 and {"指标", "状态", "出处"} <= rows[0].keys()
    assert all(re.match(r"\[\d+\] 拱墅区", row["出处"]) and "#" not in row["出处"] for row in rows)


def test_top_k_limits_the_sources_shown(app):
    app.sidebar.slider[0].set_value(3).run()
    _ask(app, "钱塘新区2020年工作安排")
    message = app.session_state["messages"][-1]
    cited = [s for s in message["sources"] if s["cited"]]
    assert len(message["sources"]) <= max(3, len(cited))
    extras = [s for s in message["sources"] if not s["cited"]]
    if cited and extras:
        headings = [md.value for md in app.markdown]
        assert "**更多相关段落**" in headings and headings.index("**来源**") < headings.index("**更多相关段落**")


def test_open_document_at_the_cited_passage_and_back(app):
    _ask(app, "余杭区2021年地区生产总值是多少")
    open_buttons = [b for b in app.button if b.label == "打开全文"]
    assert open_buttons
    open_buttons[0].click().run()
    assert not app.exception
    title = app.subheader[0].value
    assert "余杭" in title and ".txt" not in title  # the document's title, not its file name
    body = _html(app)
    assert 'id="rag-hit"' in body and "2502.2" in body and "scrollIntoView" in body
    back = [b for b in app.button if b.label == "← 返回对话"]
    back[0].click().run()
    assert not app.exception
    assert "2502.2" in _assistant_text(app)
    assert re.search(r'getElementById\("m\d+-src-1"\)', _html(app)), "back to the same place in the chat"


def test_filter_that_excludes_the_answer_says_so_and_offers_the_unfiltered_result(app):
    app.sidebar.multiselect[0].set_value(["余杭区"]).run()
    _ask(app, "拱墅2022年哪些指标未完成")
    warnings = " ".join(w.value for w in app.warning)
    assert "筛选" in warnings and "余杭区" in warnings
    assert any("筛选：地区：余杭区" in c.value for c in app.caption)
    offer = [b for b in app.button if b.label == "显示不加筛选的结果"]
    offer[0].click().run()
    assert not app.exception
    assert "12 项" in _assistant_text(app)
    assert any("不加筛选" in c.value for c in app.caption)


def test_input_limits(app):
    app.chat_input[0].set_value("   ").run()
    assert not app.exception and not app.chat_message
    assert any("请输入问题" in i.value for i in app.info)
    _ask(app, "余杭2021年地区生产总值" + "。" * 5000)
    asked = app.session_state["messages"][0]
    assert len(asked["content"]) == 500 and "500" in asked["notice"]
    assert any("500 字" in i.value for i in app.info)


def test_clear_export_copy_and_feedback_stored_locally(app, tmp_path):
    _ask(app, "余杭区2021年地区生产总值是多少")
    export = next(d for d in app.get("download_button") if "导出对话" in d.proto.label)
    assert not export.proto.disabled
    assert any("2502.2" in c.value for c in app.code)  # the copy box holds the answer text
    app.feedback[0].set_value(1).run()
    assert not app.exception
    lines = (tmp_path / "feedback" / "feedback.jsonl").read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[-1])
    assert record["rating"] == "up" and "2502.2" in record["answer"] and record["citations"]
    clear = next(b for b in app.sidebar.button if b.label == "清空对话")
    clear.click().run()
    assert not app.exception and not app.chat_message


def test_app_switches_to_a_new_index_build_without_restart(own_index, monkeypatch, tmp_path, settings, embedder):
    from rag.engine import build

    at = _start(monkeypatch, own_index, tmp_path)
    _ask(at, "余杭区2021年地区生产总值是多少")
    assert "2502.2" in _assistant_text(at)
    fewer = tmp_path / "fewer"
    fewer.mkdir()
    for path in SEEDS.glob("*.txt"):
        if "余杭" not in path.read_text(encoding="utf-8")[:200]:
            shutil.copy2(path, fewer / path.name)  # copy2 keeps mtimes: unchanged files are reused
    build(settings, docs_dir=fewer, index_dir=own_index, embedder=embedder)  # as `rag index build` would
    at.run()
    assert "5 篇文档" not in " ".join(c.value for c in at.sidebar.caption)
    _ask(at, "余杭区2021年地区生产总值是多少")
    assert "未在文档中找到" in at.session_state["messages"][-1]["content"]


def test_documents_page_adds_versions_and_removes_user_documents(own_index, monkeypatch, tmp_path):
    at = _start(monkeypatch, own_index, tmp_path)
    at.sidebar.radio[0].set_value("文档管理").run()
    assert not at.exception and at.title[0].value == "文档管理"
    seeds_before = sorted(p.name for p in SEEDS.iterdir())
    doc = "2024年测试区政府工作报告\n一、主要指标\n测试区2024年实现地区生产总值123.4亿元，增长6.1%。\n".encode()
    at.file_uploader[0].set_value(("测试区.txt", doc, "text/plain")).run()
    next(b for b in at.button if b.label == "保存并重建索引").click().run()
    assert not at.exception
    assert any("重建完成" in s.value and "6 篇文档" in s.value for s in at.success), "the result stays on screen"
    at.file_uploader[0].set_value(("测试区.txt", doc, "text/plain")).run()
    next(b for b in at.button if b.label == "保存并重建索引").click().run()
    user_docs = sorted(p.name for p in (tmp_path / "user-docs").iterdir())
    assert user_docs == ["测试区 (2).txt", "测试区.txt"], "a same-name upload never overwrites"
    assert sorted(p.name for p in SEEDS.iterdir()) == seeds_before, "uploads never go into seeds/"
    assert any("另存为" in s.value for s in [*at.success, *at.warning])
    for _ in range(2):
        next(b for b in at.button if b.label == "删除").click().run()
        assert not at.exception
    assert not list((tmp_path / "user-docs").iterdir())
    assert any("已删除" in s.value and "5 篇文档" in s.value for s in [*at.success, *at.warning])
