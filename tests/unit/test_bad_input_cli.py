"""`rag search --batch FILE` input: every unusable line is named by file and line, the rest are kept.

Parsing needs no model; the whole command on a real index is in tests/integration/test_bad_input.py.
"""

from __future__ import annotations

import os

import pytest

from rag.cli import _batch_items, build_parser, main

BAD_LINES = [
    (b'{"id": 1}', 'has no "question"'),
    (b'{"id": 1, "question": 5}', '"question" must be text, got 5'),
    (b'{"id": 1, "question": null}', '"question" must be text, got null'),
    (b'{"id": 1, "question": ["a"]}', '"question" must be text, got ["a"]'),
    (b'{"id": 1, "question": {"q": 1}}', '"question" must be text'),
    (b'["a", "b"]', "expected an object like"),
    (b"42", "expected an object like"),
    (b'"just text"', "expected an object like"),
    (b"null", "expected an object like"),
    (b'{"id": 1, "question": "abc"', "not valid JSON"),
    (b"question: abc", "not valid JSON (Expecting value at column 1)"),
    (b'{"id": 1, "question": "\xff\xfe"}', "not valid UTF-8 (byte 23); save the file as UTF-8"),
]


@pytest.mark.parametrize(("line", "message"), BAD_LINES, ids=[repr(b[0])[2:30] for b in BAD_LINES])
def test_bad_batch_line_is_named_by_file_and_line_and_the_rest_kept(tmp_path, line, message):
    path = tmp_path / "questions.jsonl"
    path.write_bytes(b'{"id": "a", "question": "\xe4\xbd\x99\xe6\x9d\xad"}\n\n' + line + b'\n{"id": "b", "question": "GDP"}\n')
    items = _batch_items(str(path))
    assert [(n, i, q) for n, i, q, problem in items if not problem] == [(1, "a", "余杭"), (4, "b", "GDP")]
    (bad,) = [problem for *_, problem in items if problem]
    assert bad.startswith(f"{path}:3: ") and message in bad, bad


def test_bom_on_the_first_line_is_accepted(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"id": 7, "question": "abc"}\r\n')
    assert _batch_items(str(path)) == [(1, 7, "abc", "")]


def test_batch_file_with_a_non_utf8_name_is_shown_escaped(tmp_path):
    path = tmp_path / os.fsdecode(b"\xc4\xe3.jsonl")
    path.write_bytes(b"{")
    ((_, _, _, problem),) = _batch_items(os.fsdecode(path))
    assert "\\xc4\\xe3.jsonl:1: not valid JSON" in problem
    problem.encode("utf-8")


def test_missing_batch_file_is_one_line_not_a_traceback(tmp_path, capsys):
    code = main(["search", "--batch", str(tmp_path / "nope.jsonl"), "--index", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "No such file or directory" in err and "nope.jsonl" in err and "Traceback" not in err


@pytest.mark.parametrize("value", ["0", "-5", "ten", "1.5"])
def test_top_k_below_one_or_not_a_number_is_refused(value, capsys):
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(["search", "q", "--top-k", value])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "--top-k" in err and ("must be at least 1" in err or "is not a whole number" in err)


def test_lone_surrogate_escapes_in_a_question_become_replacement_characters(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": "\\ud800", "question": "\\udc00\\u4f59\\u676d"}\n', encoding="utf-8")
    ((number, item_id, question, problem),) = _batch_items(str(path))
    assert (number, question, problem) == (1, "\ufffd余杭", "")
    assert item_id == "\ud800"  # echoed back as given; printing escapes it (see main)
