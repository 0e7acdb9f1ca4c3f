"""BM25 tokens: jieba segmentation tuned for government reports.

A user dictionary (`rag/data/userdict.txt`) teaches jieba region names, indicator names and plan
vocabulary so that 规上工业增加值 or 社会消费品零售总额 stay whole. Numbers with their decimal
point and percent sign are kept as single tokens (2502.2, 7.5%), since questions ask for them.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path

USER_DICT = Path(__file__).parent / "data" / "userdict.txt"

_NUMBER = re.compile(r"\d+(?:\.\d+)?%?")
_PUNCT_OR_SPACE = re.compile(r"^[\s\W_]+$")
# Function words that carry no retrieval signal in these documents.
STOPWORDS = frozenset(
    "的 了 和 与 及 等 在 是 为 对 将 把 以 于 并 或 也 其 中 年 个 有 哪些 多少 什么 怎么 如何 是否 哪个 "
    "吗 呢 啊 之 由 从 向 被 就 都 而 我们 全 各 各项 进一步 方面 情况 › | : ; ,".split()
)


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    if USER_DICT.is_file():
        tokenizer.load_userdict(str(USER_DICT))
    tokenizer.initialize()
    return tokenizer


def tokenize(text: str) -> list[str]:
    """Normalised Simplified text -> BM25 tokens (lower-case, no punctuation, numbers whole)."""
    tokens: list[str] = []
    pos = 0
    for match in _NUMBER.finditer(text):
        tokens.extend(_words(text[pos : match.start()]))
        tokens.append(match.group(0))
        pos = match.end()
        # 「2021年老旧小区」: the 年/月/日 belongs to the number; left in the text, jieba would glue it
        # to the next word (年老, 年省) and lose both.
        if pos < len(text) and text[pos] in "年月日":
            pos += 1
    tokens.extend(_words(text[pos:]))
    return tokens


def _words(text: str) -> list[str]:
    if not text:
        return []
    out = []
    for word in _jieba().lcut(text, HMM=True):
        word = word.strip().lower()
        if not word or word in STOPWORDS or _PUNCT_OR_SPACE.match(word):
            continue
        out.append(word)
    return out
