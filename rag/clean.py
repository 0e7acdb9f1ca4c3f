"""Cleaning: pure text -> text functions, each unit-tested on real snippets.

Order matters and is fixed by `clean_display_text`: drop web boilerplate, drop pinyin ruby
annotations, drop mis-decoded garbage, drop repeated blocks. The result keeps the document's own
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
# share/print toolbars, font-size pickers, breadcrumbs, photo credits. Matched as whole lines, never
# inside body text, and each alternative is something no report sentence consists of.
_BOILERPLATE_LINE = re.compile(
    r"^\s*(?:"
    r"信息索引号.*|索引号[:：].*|发布机构.*|公开方式.*|公开范围.*|公开时限.*|备注/文号.*|"
    r"生成日期.*|发布日期[:：]?\s*[\d\-/年月日: ]*(?:点击率[:：]?\s*\d*)?\s*|"
    r"点击率[:：]?\s*\d*|浏览次数[:：]?\s*\d*|来源[:：].{0,30}|来源[:：]?|时间[:：]\s*[\d\-/: ]*|"
    r"(?:发布)?时间[:：]?\s*\d{4}-\d{1,2}-\d{1,2}(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?|"
    r"\d{4}-\d{1,2}-\d{1,2}\s+\d{1,2}:\d{2}(?::\d{2})?|\d{4}年\d{1,2}月\d{1,2}日\s*\d{1,2}[时:]\d{2}分?|"
    r"分享到.*|分享[:：].*|(?:下载|打印|全屏|关闭|收藏|分享|加大|还原|减小)(?:\s+(?:下载|打印|全屏|关闭|收藏|分享))*\s*|"
    r"【\s*字[号体].*|字号[:：]?\s*[大中小\s]+|【\s*(?:打印|关闭)(?:本页|窗口)?\s*】.*|打印本页|关闭窗口|"
    r"您(?:的|现在的)?(?:当前)?位置[:：]?.*|当前位置[:：]?.*|首页|>|×|\||"
    r"扫一扫.*|相关链接.*|相关附件.*|相关报道[:：]?|相关文档[:：]?|上一篇.*|下一篇.*|责任编辑[:：]?.{0,12}|"
    r"》》.*《《|[(（]?(?:声明[:：])?本文有删减[)）]?|.{0,40}记者\s*\S{1,4}(?:\s+\S{1,4})*\s*摄|"
    r"索引号|文号|公布日期|发布单位|主动公开|依申请公开|规划计划|发展规划"
    r")\s*$"
)
# A font-size picker spread over several lines: 【字号：/加大/还原/减小/】 or 【字体：/大/中/小/】.
_FONT_PICKER = re.compile(r"【\s*字[号体][:：]?[^】]{0,40}】")
# Footer furniture after which a portal page holds only navigation (related articles, share
# buttons, a second copy of the headline); everything from it to the end goes.
_FOOTER_START = re.compile(
    r"^\s*(?:责任编辑[:：]?.{0,12}|相关报道[:：]?|相关文档[:：]?|相关链接.*|相关附件.*|扫一扫.*)\s*$"
)
_FOOTER_MAX_SHARE = 0.15


def strip_boilerplate_lines(text: str) -> str:
    """Remove portal furniture (信息索引号, 发布机构, 点击率, 分享到, 下载 打印 全屏, 【字号】, footers).

    Patterns are matched on the aligned Simplified form, so a Traditional page's 聲明:本文有刪減 goes too.
    """
    for match in reversed(list(_FONT_PICKER.finditer(to_search_text(text)))):
        text = text[: match.start()] + text[match.end() :]
    lines = text.split("\n")
    simple = to_search_text(text).split("\n")  # same length, so the same line breaks
    keep = len(_cut_footer(simple))
    return "\n".join("" if _BOILERPLATE_LINE.match(s) else line for line, s in zip(lines[:keep], simple[:keep]))


def _cut_footer(lines: list[str]) -> list[str]:
    """Drop a trailing footer block, but only when it is a small tail of the document."""
    total = sum(len(line) + 1 for line in lines)
    tail = 0
    cut = None
    for i in range(len(lines) - 1, -1, -1):
        tail += len(lines[i]) + 1
        if tail > max(_FOOTER_MAX_SHARE * total, 200):
            break
        if _FOOTER_START.match(lines[i]):
            cut = i
    return lines if cut is None else lines[:cut]


# --- mis-decoded garbage --------------------------------------------------------------------------
# Text that went through a wrong decoder (UTF-8 bytes read as GBK, then converted) comes out as
# Han characters that are each valid but never form words: 發展?jié)摿Α崩砟睿瑘猿帧傲屏ⅰ保.
# jieba's dictionary knows which characters form words and how common each one is, so a run of
# single characters, several of them rare or stray symbols (Greek, Roman numerals, €, private
# use), is garbage; real text, even with a rare name like 王牮, is mostly dictionary words.
_CONTROL = re.compile(r"[\ue000-\uf8ff\ufffd\x00-\x08\x0b\x0c\x0e-\x1f]")
_RUN_BREAKERS = set(' \t\n\u3000\xa0,，。、;；:：!！“”‘’"《》〈〉|·…—')
_RARE_CHAR_FREQ = 100  # jieba frequency of a one-character word; 的 is ~300 000, 砟 13, 摿 0
_MIN_SUSPECTS = 3
_MIN_SUSPECT_SHARE = 0.35


@lru_cache(maxsize=1)
def _dictionary():
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def _is_han(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\U00020000" <= ch <= "\U0002ffff"


def _is_suspect(token: str) -> bool:
    """A single-character token that real Chinese prose almost never has on its own."""
    if _is_han(token):
        return _dictionary().FREQ.get(token, 0) < _RARE_CHAR_FREQ
    if token in "?_":
        return True
    if token in "○〇":  # 二○○○: a circle written for zero in years
        return False
    category = unicodedata.category(token)
    if category in ("Co", "Cn", "Cs", "Sc", "So", "Nl", "Mn") or token == "\ufffd":
        return True
    name = unicodedata.name(token, "")
    return ord(token) > 0x7F and name.startswith(("GREEK", "CYRILLIC", "LATIN"))


def find_garbage_runs(search: str) -> list[tuple[int, int]]:
    """[start, end) spans of mis-decoded garbage in normalised Simplified text."""
    spans: list[tuple[int, int]] = []
    run: list[tuple[int, int, bool]] = []  # (start, end, suspect) of single-character tokens

    def close() -> None:
        flagged = [k for k, (_, _, suspect) in enumerate(run) if suspect]
        if len(flagged) >= _MIN_SUSPECTS:
            first, last = flagged[0], flagged[-1]
            if len(flagged) / (last - first + 1) >= _MIN_SUSPECT_SHARE:
                spans.append((run[first][0], run[last][1]))
        run.clear()

    for word, start, _end in _dictionary().tokenize(search, HMM=False):
        if word in _RUN_BREAKERS or (len(word) > 1 and any(_is_han(c) for c in word)):
            close()
        else:
            run.extend((start + k, start + k + 1, _is_suspect(c)) for k, c in enumerate(word))
    close()
    return spans


def strip_garbage(text: str) -> str:
    """Drop stray control code points, then mis-decoded runs (found on the aligned Simplified form).

    Control characters go first so that a run they interrupt is seen whole, and a second pass
    finds nothing more to remove (cleaning is idempotent)."""
    text = _CONTROL.sub("", text)
    search = to_search_text(text)
    pieces, pos = [], 0
    for start, end in find_garbage_runs(search):
        pieces.append(text[pos:start])
        pos = end
    pieces.append(text[pos:])
    return "".join(pieces)


def han_word_share(text: str) -> float:
    """Share of Han characters that sit in multi-character dictionary words (0..1).

    Real Chinese scores ~0.9; text decoded with the wrong codec scores ~0.0, since its characters
    are valid one by one but never form words. Used to refuse a file that decodes to garbage.
    """
    han = in_words = 0
    for word in _dictionary().cut(to_simplified(text[:20000]), HMM=False):
        n = sum(_is_han(c) for c in word)
        han += n
        if len(word) > 1:
            in_words += n
    return in_words / han if han else 1.0


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
    """The text shown to users: original script, without noise.

    Removing one kind of noise can expose another (garbage cut from 「|ÀÀÀ」 leaves a bare 「|」
    separator line), so the pass repeats until nothing changes: cleaning is idempotent.
    """
    text = raw.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    for _ in range(4):
        cleaned = _clean_once(text)
        if cleaned == text:
            break
        text = cleaned
    return text


def _clean_once(text: str) -> str:
    text = _CONTROL.sub("", text)  # first, so no later step sees a line that a stray byte disguises
    text = strip_boilerplate_lines(text)
    text = strip_pinyin_ruby(text)  # before garbage: 區(qū) would otherwise read as a garbage run
    text = strip_garbage(text)
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
