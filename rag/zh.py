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
from rag.lexicon.places import national_places

# --- patterns -------------------------------------------------------------------------------------
HAN = "\u3400-\u9fff"
YEAR = re.compile(r"(?<!\d)(19[5-9]\d|20[0-4]\d)(?!\d)")  # a four-digit year anywhere
YEAR_MENTION = re.compile(r"(?<!\d)(19[5-9]\d|20[0-4]\d)(?=[ \u3000]?年)")  # 「2021年」 (a .docx may write 「2024 年」)
# 「21年」 names 2021; 「长达40年」「近20年来」「30年代」 are spans of time, not years
TWO_DIGIT_YEAR = re.compile(r"(?<![\d.达近约逾超过满余第每共历经了])([0-4]\d)(?=年(?!来|间|代|之久|以来|前|后|多|左右|的历史))")
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


# --- places as jieba reads them ---------------------------------------------------------------------
NATIONAL = "全国"  # the region of a national report


@lru_cache(maxsize=1)
def _pos_tokenizer():
    import jieba.posseg

    return jieba.posseg.POSTokenizer(jieba_tokenizer())


Word = tuple[int, int, str]  # start, end, part-of-speech flag


@lru_cache(maxsize=4096)
def pos_words(text: str) -> tuple[Word, ...]:
    """jieba's words of `text` with their character spans and part-of-speech flags (ns = place name)."""
    out, pos = [], 0
    for pair in _pos_tokenizer().lcut(text, HMM=True):
        out.append((pos, pos + len(pair.word), pair.flag))
        pos += len(pair.word)
    return tuple(out)


def reads_as_place(words: tuple[Word, ...], start: int, end: int, full_name: bool = False,
                   tags: tuple[str, ...] = ("ns",)) -> bool:
    """Does `text[start:end]` read as a place name in its sentence, not as a piece of other words?

    The span must start and end on jieba word boundaries (方正 in 西方|正典, 安达 in 卢安达, 东区 in 划分|为|东区
    are pieces), and its first word must be tagged a place name (ns) — 发球区, 控制区 (n), 主要 (b), 一个 / 第一
    (m), 哪一 (r), 武功 (nr) are not. An official full name with its suffix (广州市, 西湖区) needs the
    boundaries only."""
    inside = [w for w in words if start <= w[0] and w[1] <= end]
    if not inside or inside[0][0] != start or inside[-1][1] != end:
        return False
    return full_name or inside[0][2].startswith(tags)


def plausible_region(name: str) -> bool:
    """An index region that can be a place: a listed division, the nation, or a name jieba reads as a
    place (钱塘新区) — not a phrase a metadata reader took for one (一个区, 主要区, 发球区)."""
    if name == NATIONAL or national_places().by_name(name):
        return True
    stem = re.sub(r"(?:新区|区|县|市)$", "", name)
    if len(stem) >= 2 and stem != name and national_places().by_name(stem):
        return True  # 钱塘新区: a listed place's name with a zone suffix (no tagger needed at start-up)
    return reads_as_place(pos_words(name), 0, len(name))
