"""The Streamlit app driven through Streamlit's own testing API, on an index of the real seeds."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from rag.config import PROJECT_ROOT


@pytest.fixture()
def app(seed_index, monkeypatch):
    monkeypatch.setenv("RAG_INDEX_DIR", str(seed_index))
    monkeypatch.setenv("RAG_EMBED_MODEL", "multilingual-e5-small")
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=300)
    at.run()
    assert not at.exception
    return at


def _assistant_text(at) -> str:
    return "\n".join(md.value for msg in at.chat_message if msg.name == "assistant" for md in msg.markdown)


def test_question_gets_answer_with_sources(app):
    app.chat_input[0].set_value("余杭区2021年地区生产总值是多少").run()
    assert not app.exception
    text = _assistant_text(app)
    assert "2502.2" in text and "[1]" in text
    assert any(e.label.startswith("[1]") for e in app.expander)
    assert "余杭" in app.expander[0].label


def test_unanswerable_question_says_so(app):
    app.chat_input[0].set_value("西湖区2022年财政收入是多少").run()
    assert "未在文档中找到" in _assistant_text(app)


def test_sidebar_shows_index_status(app):
    captions = " ".join(c.value for c in app.sidebar.caption)
    assert "5 篇文档" in captions


def test_traditional_source_question_shows_traditional_passage(app):
    app.chat_input[0].set_value("余杭2021年新增上市企业多少家").run()
    assert not app.exception
    passages = " ".join(md.value for e in app.expander for md in e.markdown)
    assert "企業" in passages or "上市" in passages
    assert any(ch in passages for ch in "區億業經") , "the cited 余杭 passage keeps its Traditional characters"


def test_html_in_question_is_shown_as_text(app):
    app.chat_input[0].set_value("<script>alert(1)</script>拱墅2022年新增就业").run()
    assert not app.exception
    user_text = " ".join(md.value for msg in app.chat_message if msg.name == "user" for md in msg.markdown)
    assert "<script>" in user_text  # Markdown without unsafe HTML: rendered as text, never executed


def test_flagship_question_answers_from_the_gongshu_table(app):
    app.chat_input[0].set_value("拱墅2022年哪些指标未完成").run()
    assert not app.exception
    text = _assistant_text(app)
    assert "12 项" in text and "实际利用外资" in text and "[12]" in text
    assert app.dataframe and len(app.dataframe[0].value) == 12  # the records as a table, with CSV download
    labels = [e.label for e in app.expander]
    assert labels and all("拱墅" in label for label in labels[:12])


def test_open_document_at_the_cited_passage(app):
    app.chat_input[0].set_value("余杭区2021年地区生产总值是多少").run()
    open_buttons = [b for b in app.button if b.label.startswith("打开全文")]
    assert open_buttons
    open_buttons[0].click().run()
    assert not app.exception
    assert app.subheader and "余杭" in app.subheader[0].value
    body = " ".join(md.value for md in app.markdown)
    assert "<mark id='hit'>" in body and "2502.2" in body  # the whole document, the cited passage marked
