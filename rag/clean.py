"""Cleaning: pure text -> text functions, each unit-tested on real snippets.

Order matters and is fixed by `clean_display_text`: drop web boilerplate, drop mis-decoded
garbage, drop pinyin ruby annotations, drop repeated blocks. The result keeps the document's own
script (Traditional stays Traditional); `to_search_text` then gives its aligned Simplified form.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# --- pinyin ruby annotations ------------------------------------------------------------------
# Some web exports print the reading after a character: 區(qū)劃調(diào)整. No library removes these,
# so it is hand-written: a parenthesis is dropped only when it holds exactly one pinyin syllable
# and follows a Han character; (亿元) (%) (2020年) (一) (村) (完) (GDP) all stay.
_TONED_VOWELS = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü"
_PINYIN_SYLLABLE = re.compile(
    r"(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?"
    rf"[aeiouv{_TONED_VOWELS}]{{1,3}}"
    r"(?:ng|n|r)?"
)
_RUBY = re.compile(rf"(?<=[\u3400-\u9fff])[(（]([a-z{_TONED_VOWELS}]{{1,7}})[)）]")


def is_pinyin_syllable(text: str) -> bool:
    return bool(_PINYIN_SYLLABLE.fullmatch(text))


def strip_pinyin_ruby(text: str) -> str:
    """`區(qū)劃調(diào)整` -> `區劃調整`; parentheses holding anything but one syllable stay."""
    return _RUBY.sub(lambda m: "" if is_pinyin_syllable(m.group(1)) else m.group(0), text)


# --- web boilerplate -----------------------------------------------------------------------------
# Lines that government portals wrap around an article: index numbers, publishing metadata,
# share/print toolbars, font-size pickers. Matched as whole lines, never inside body text.
_BOILERPLATE_LINE = re.compile(
    r"^\s*(?:"
    r"信息索引号.*|索引号[:：].*|发布机构.*|公开方式.*|公开范围.*|公开时限.*|备注/文号.*|"
    r"生成日期.*|发布日期[:：]?\s*[\d\-/年月日: ]*(?:点击率[:：]?\s*\d*)?\s*|"
    r"点击率[:：]?\s*\d*|浏览次数[:：]?\s*\d*|来源[:：].{0,30}|"
    r"分享到[:：]?.*|(?:下载|打印|全屏|关闭|收藏|分享)(?:\s+(?:下载|打印|全屏|关闭|收藏|分享))+\s*|"
    r"【\s*字号.*|字号[:：]?\s*[大中小\s]+|【\s*(?:打印|关闭)(?:本页|窗口)?\s*】.*|"
    r"扫一扫.*|相关链接.*|上一篇.*|下一篇.*|\(本文有删减\)|"
    r"索引号|文号|公布日期|发布单位|主动公开|依申请公开|规划计划|发展规划"
    r")\s*$"
)


def strip_boilerplate_lines(text: str) -> str:
    """Remove portal furniture lines (信息索引号, 发布机构, 点击率, 分享到, 下载 打印 全屏, 【字号】…)."""
    lines = text.split("\n")
    return "\n".join("" if _BOILERPLATE_LINE.match(line) else line for line in lines)


# --- mis-decoded garbage --------------------------------------------------------------------------
# Private-use code points never belong in a published report; they mark text that went through a
# wrong decoder. The run of look-alike characters around them is kept (we cannot know its extent
# safely), but the code points themselves are dropped so they never reach the index.
_GARBAGE = re.compile(r"[\ue000-\uf8ff\ufffd\x00-\x08\x0b\x0c\x0e-\x1f]")


def strip_garbage(text: str) -> str:
    return _GARBAGE.sub("", text)


# --- repeated blocks ----------------------------------------------------------------------------
def drop_repeated_blocks(text: str, min_chars: int = 12) -> str:
    """Index repeated content once: drop a repeated paragraph and the run that repeats with it.

    Some portals print the whole article twice (seed 001), annex table included. A paragraph of at
    least `min_chars` characters seen before starts a repeated run; the lines that follow are
    dropped for as long as they match the lines after the first copy, short table cells included.
    Short lines outside such a run (numbers, units, 「序号」) repeat legitimately and stay.
    """
    lines = text.split("\n")
    keys = [re.sub(r"\s+", "", line) for line in lines]
    first_seen: dict[str, int] = {}
    keep = [True] * len(lines)
    i = 0
    while i < len(lines):
        key = keys[i]
        if len(key) >= min_chars and key in first_seen:
            j = first_seen[key]
            while i < len(lines) and j < i and keys[i] == keys[j]:
                keep[i] = False
                i, j = i + 1, j + 1
            continue
        if len(key) >= min_chars:
            first_seen.setdefault(key, i)
        i += 1
    return "\n".join(line if k else "" for line, k in zip(lines, keep))


def collapse_blank_lines(text: str) -> str:
    text = re.sub(r"[ \t\u3000\xa0]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


def clean_display_text(raw: str) -> str:
    """The text shown to users: original script, without noise."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    text = strip_boilerplate_lines(text)
    text = strip_garbage(text)
    text = strip_pinyin_ruby(text)
    text = drop_repeated_blocks(text)
    return collapse_blank_lines(text)


# --- normalisation for matching ---------------------------------------------------------------
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
