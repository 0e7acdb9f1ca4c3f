"""Text primitives shared by every stage: normalisation, the one jieba instance, number and year patterns.

- `to_search_text` gives the aligned normalised form of a text (NFKC + OpenCC t2s, same length), so
  an offset into a document's normalised Simplified text is an offset into its original characters;
  questions go through exactly the same normalisation (`normalize_query`).
- `tokenize` cuts normalised text into BM25 tokens with jieba and the lexicon's user dictionary;
  numbers stay whole (2502.2, 7.5%) since questions ask for them.
- `YEAR`, `YEAR_MENTION`, `NUMBER`, `QUANTITY`, `UNIT` are the one definition of each pattern.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from functools import lru_cache

from rag.lexicon import lexicon

# --- patterns -------------------------------------------------------------------------------------
HAN = "\u3400-\u9fff"
YEAR = re.compile(r"(?<!\d)(19[5-9]\d|20[0-4]\d)(?!\d)")  # a four-digit year anywhere
YEAR_MENTION = re.compile(r"(?<!\d)(19[5-9]\d|20[0-4]\d)(?=年)")  # 「2021年」: a year written as one
TWO_DIGIT_YEAR = re.compile(r"(?<![\d.])([0-4]\d)(?=年)")  # 「21年」
NUMBER = re.compile(r"[+\-−]?\d+(?:\.\d+)?%?")  # a number as a token, with its sign and percent
QUANTITY = re.compile(r"(?<![\d.])\d+(?:\.\d+)?(?![\d.])(?!年)")  # a quantity, not a year
SIGNED = r"[-−+]?\d+(?:\.\d+)?"  # building block for patterns with a unit after the number
UNIT = "(?:" + "|".join(re.escape(u) for u in lexicon().units) + ")"
SENTENCE = re.compile(r"[^。；！？\n]+[。；！？]?")
CN_DIGITS = "一二三四五六七八九十百零〇"


def expand_two_digit_years(text: str) -> str:
    """「21年」 -> 「2021年」; 「2021年」 and 「100年」 are left alone."""
    return TWO_DIGIT_YEAR.sub(lambda m: f"20{m.group(1)}", text)


def years_in(text: str, *, written: bool = False) -> set[int]:
    """Years named in a text; `written=True` only those followed by 年."""
    return {int(y) for y in (YEAR_MENTION if written else YEAR).findall(text)}


def compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


# --- normalisation ----------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def _nfkc_char(ch: str) -> str:
    out = unicodedata.normalize("NFKC", ch)
    return out if len(out) == 1 else ch


def to_simplified(text: str) -> str:
    """Traditional -> Simplified (OpenCC), used for queries and for documents alike."""
    return _t2s().convert(text)


def to_search_text(display: str) -> str:
    """Aligned normalised form of `display`: same length, char i maps to char i.

    NFKC (full-width digits and punctuation to half-width) and OpenCC t2s with phrase context.
    Where a conversion would change the length (rare), that stretch is converted char by char so
    offsets stay valid for highlighting in the original.
    """
    widened = "".join(_nfkc_char(c) for c in display)
    converted = to_simplified(widened)
    if len(converted) == len(widened):
        return converted
    pieces: list[str] = []
    for segment in re.split(r"([\n。；！？,，])", widened):
        simple = to_simplified(segment)
        if len(simple) != len(segment):
            simple = "".join(_single_char_t2s(c) for c in segment)
        pieces.append(simple)
    return "".join(pieces)


def _single_char_t2s(ch: str) -> str:
    out = to_simplified(ch)
    return out if len(out) == 1 else ch


def normalize_query(text: str) -> str:
    """Queries go through exactly the same normalisation as documents."""
    return to_search_text(text.strip())


def looks_traditional(text: str, threshold: float = 0.05) -> bool:
    """True when converting to Simplified changes a noticeable share of the Han characters."""
    han = [c for c in text if "\u4e00" <= c <= "\u9fff"]
    if not han:
        return False
    sample = "".join(han[:20000])
    changed = sum(a != b for a, b in zip(sample, to_simplified(sample)))
    return changed / len(sample) >= threshold


# --- tokens -----------------------------------------------------------------------------------------
_PUNCT_OR_SPACE = re.compile(r"^[\s\W_]+$")
_TOKEN_NUMBER = re.compile(r"\d+(?:\.\d+)?%?")


_JIEBA_LOCK = threading.Lock()


def jieba_tokenizer():
    """The one jieba instance, with the lexicon's user dictionary (region and indicator names)."""
    # lru_cache alone lets every thread that arrives before the first load finishes load its own
    # dictionary (0.6 s CPU each): 20 chat sessions asking at start-up took 27 s. One loads, the rest wait.
    with _JIEBA_LOCK:
        return _load_jieba()


@lru_cache(maxsize=1)
def _load_jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.load_userdict(str(lexicon().user_dict))
    tokenizer.initialize()
    return tokenizer


def tokenize(text: str) -> list[str]:
    """Normalised Simplified text -> BM25 tokens (lower-case, no punctuation, numbers whole)."""
    tokens: list[str] = []
    pos = 0
    for match in _TOKEN_NUMBER.finditer(text):
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
    stopwords = lexicon().stopwords
    out = []
    for word in jieba_tokenizer().lcut(text, HMM=True):
        word = word.strip().lower()
        if not word or word in stopwords or _PUNCT_OR_SPACE.match(word):
            continue
        out.append(word)
    return out


def char_bigrams(text: str) -> list[str]:
    """Overlapping character bigrams of the Han runs, plus whole ASCII words and numbers.

    What Lucene's CJK bigram analyzer does: immune to segmentation choices (网络零售额 and 网上零售
    still share 零售). A lone Han character between non-Han text is kept as a unigram.
    """
    grams: list[str] = []
    for run in re.finditer(rf"[{HAN}]+|[a-z0-9]+(?:\.\d+)?%?", text.lower()):
        piece = run.group(0)
        if not ("\u3400" <= piece[0] <= "\u9fff"):
            grams.append(piece)
        elif len(piece) == 1:
            grams.append(piece)
        else:
            grams.extend(piece[i : i + 2] for i in range(len(piece) - 1))
    return grams
