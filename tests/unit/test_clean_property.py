"""Property tests of cleaning on generated text: alignment, idempotence, and nothing but ruby removed."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from rag.ingest.clean import clean_display_text, strip_pinyin_ruby
from rag.zh import to_search_text
from tests.conftest import SEEDS

SEED_TEXT = "".join(p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt")))
seed_slices = st.integers(0, len(SEED_TEXT) - 400).map(lambda i: SEED_TEXT[i : i + 400])
any_text = st.one_of(seed_slices, st.text(max_size=300))


@settings(max_examples=150, deadline=None)
@given(any_text)
def test_search_text_is_aligned_with_display_text(text):
    assert len(to_search_text(text)) == len(text)


@settings(max_examples=100, deadline=None)
@given(any_text)
def test_cleaning_is_idempotent(text):
    once = clean_display_text(text)
    assert clean_display_text(once) == once


@settings(max_examples=150, deadline=None)
@given(seed_slices)
def test_ruby_stripping_removes_only_parenthesised_pinyin(text):
    stripped = strip_pinyin_ruby(text)
    removed = len(text) - len(stripped)
    ruby = re.findall(r"[(（][a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]{1,7}[)）]", text)
    assert removed <= sum(len(r) for r in ruby)
    assert re.sub(r"[(（][a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]{1,7}[)）]", "", text) == re.sub(
        r"[(（][a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]{1,7}[)）]", "", stripped)
