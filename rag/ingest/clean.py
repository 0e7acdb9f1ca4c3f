"""Cleaning: pure text -> text functions, each unit-tested on real snippets.

Order matters and is fixed by `clean_display_text`: drop web boilerplate, drop pinyin ruby
annotations, drop mis-decoded garbage, drop repeated blocks. The result keeps the document's own
script (Traditional stays Traditional); `to_search_text` then gives its aligned Simplified form.
"""

from __future__ import annotations

import re
import unicodedata

from rag.lexicon import lexicon
from rag.zh import jieba_tokenizer, to_search_text, to_simplified

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
# The patterns (portal furniture: index numbers, share/print toolbars, font pickers, footers) are in the lexicon.
_FOOTER_MAX_SHARE = 0.15


def strip_boilerplate_lines(text: str) -> str:
    """Remove portal furniture (信息索引号, 发布机构, 点击率, 分享到, 下载 打印 全屏, 【字号】, footers).

    Patterns are matched on the aligned Simplified form, so a Traditional page's 聲明:本文有刪減 goes too.
    """
    for match in reversed(list(lexicon().font_picker.finditer(to_search_text(text)))):
        text = text[: match.start()] + text[match.end() :]
    lines = text.split("\n")
    simple = to_search_text(text).split("\n")  # same length, so the same line breaks
    keep = len(_cut_footer(simple))
    return "\n".join("" if lexicon().boilerplate_line.match(s) else line for line, s in zip(lines[:keep], simple[:keep]))


def _cut_footer(lines: list[str]) -> list[str]:
    """Drop a trailing footer block, but only when it is a small tail of the document."""
    total = sum(len(line) + 1 for line in lines)
    tail = 0
    cut = None
    for i in range(len(lines) - 1, -1, -1):
        tail += len(lines[i]) + 1
        if tail > max(_FOOTER_MAX_SHARE * total, 200):
            break
        if lexicon().footer_start.match(lines[i]):
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


def _is_han(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\U00020000" <= ch <= "\U0002ffff"


def _is_suspect(token: str) -> bool:
    """A single-character token that real Chinese prose almost never has on its own."""
    if _is_han(token):
        return jieba_tokenizer().FREQ.get(token, 0) < _RARE_CHAR_FREQ
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

    for word, start, _end in jieba_tokenizer().tokenize(search, HMM=False):
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
    for word in jieba_tokenizer().cut(to_simplified(text[:20000]), HMM=False):
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
