"""The lexicon: words and patterns of Chinese government documents, as data, with one loader.

Everything domain-specific that `rag` matches — synonyms users type, question words, stop words,
units, status words, boilerplate lines, title words — lives in `data/lexicon.toml`; jieba's user
dictionary in `data/userdict.txt`; China's administrative divisions in `places` (a national list).
`lexicon()` reads them once per process. `data_files()` lists every file, for the index fingerprint.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"
LEXICON_FILE = DATA_DIR / "lexicon.toml"


@dataclass(frozen=True)
class StatusWords:
    done: str
    exceeded: str
    not_done: str
    in_progress: str
    awaiting: str
    unknown: str
    not_started: str
    says: tuple[tuple[re.Pattern[str], str], ...]  # (cell wording, status), tried in order
    ask: dict[str, re.Pattern[str]]  # what a status question asks: not_done, exceeded, done, lowest …


@dataclass(frozen=True)
class AnswerWords:
    """What the answer layer reads: clause fillers, growth clauses, list openers, comparison and part words."""

    lead_fillers: tuple[str, ...]
    growth_clause: re.Pattern[str]
    list_intro: re.Pattern[str]
    list_item_start: re.Pattern[str]
    asks_compare: re.Pattern[str]
    asks_each: re.Pattern[str]
    part_joiners: tuple[str, ...]
    sub_area: re.Pattern[str]
    status_one: re.Pattern[str]
    status_exceeded: re.Pattern[str]
    status_lowest: re.Pattern[str]


def _answer_words(data: dict) -> AnswerWords:
    return AnswerWords(tuple(data["lead_fillers"]), re.compile(data["growth_clause"]), re.compile(data["list_intro"]),
                       re.compile(data["list_item_start"]), re.compile(data["asks_compare"]),
                       re.compile(data["asks_each"]), tuple(data["part_joiners"]), re.compile(data["sub_area"]),
                       re.compile(data["status_one"]), re.compile(data["status_exceeded"]),
                       re.compile(data["status_lowest"]))


@dataclass(frozen=True)
class Lexicon:
    question_words: frozenset[str]
    question_word_pattern: re.Pattern[str]
    asks_number: re.Pattern[str]
    asks_entity: re.Pattern[str]
    asks_amount: re.Pattern[str]
    asks_target: re.Pattern[str]
    cloze_blank: re.Pattern[str]
    synonyms: dict[str, tuple[str, ...]]
    everyday: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...]  # how people say it -> how reports write it
    stopwords: frozenset[str]
    not_places: frozenset[str]
    place_suffixes: tuple[str, ...]
    office_words: tuple[str, ...]
    units: tuple[str, ...]
    comparators: tuple[str, ...]
    empty_cells: frozenset[str]
    growth_words: tuple[str, ...]
    target_sentence: re.Pattern[str]
    target_column: re.Pattern[str]
    target_intro: re.Pattern[str]
    today_words: tuple[str, ...]
    status: StatusWords
    boilerplate_line: re.Pattern[str]
    font_picker: re.Pattern[str]
    footer_start: re.Pattern[str]
    title_words: tuple[str, ...]
    not_title_start: tuple[str, ...]
    year_heading_words: re.Pattern[str]
    doc_types: tuple[tuple[str, str], ...]
    user_dict: Path
    review_heading: re.Pattern[str]
    plan_heading: re.Pattern[str]
    review_always: re.Pattern[str]
    multi_year: re.Pattern[str]
    related_words: dict[str, tuple[str, ...]]
    answer: AnswerWords | None = None

    def related(self, term: str) -> tuple[str, ...]:
        """Words a report may write for `term`, both ways: its synonyms, and the words whose synonyms it is
        (实际利用外资 -> 实到外资, 实际使用外资)."""
        return self.related_words.get(term.lower(), ())

    def in_report_words(self, text: str) -> tuple[str, list[tuple[str, ...]]]:
        """The question as a report would word it, and the report wordings its everyday words stand for, one
        group per phrase: 「余杭2021年孩子上学的位置多出来多少」 -> (「余杭2021年孩子新增学位多出来多少」,
        [(新增学位, 学位, 新建学校)]). Patterns apply in file order, each to the text the earlier ones left."""
        groups: list[tuple[str, ...]] = []
        for pattern, report in self.everyday:
            if pattern.search(text):
                text = pattern.sub(report[0], text)
                groups.append(report)
        return text, groups

    def expansions(self, text: str) -> list[str]:
        """Report terms for the user's words found in `text` (lower-cased), not already in it."""
        lowered = text.lower()
        return [full for short, fulls in self.synonyms.items() if short in lowered for full in fulls if full not in text]


def _both_ways(synonyms: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """term -> its synonyms, then the words whose synonyms it is — other wordings only (实到外资 for
    实际利用外资), not a part of it (外资, 就业 say less than 实际利用外资, 新增城镇就业)."""
    out: dict[str, list[str]] = {k: [w for w in v if w.lower() != k] for k, v in synonyms.items()}
    for key, values in synonyms.items():
        for value in values:
            words = out.setdefault(value.lower(), [])
            if key not in value.lower() and key not in words:
                words.append(key)
    return {k: tuple(v) for k, v in out.items()}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _status(data: dict) -> StatusWords:
    says = (
        (re.compile(data["says_not_done"]), data["not_done"]),
        (re.compile(data["says_done"]), data["done"]),
        (re.compile(data["says_awaiting"]), data["awaiting"]),
        (re.compile(data["says_in_progress"]), data["in_progress"]),
        (re.compile(data["says_not_started"]), data["not_started"]),  # after 推进中: 「序时推进，将于9月启动二期」
    )
    ask = {key.removeprefix("ask_"): re.compile(value) for key, value in data.items() if key.startswith("ask_")}
    return StatusWords(data["done"], data["exceeded"], data["not_done"], data["in_progress"], data["awaiting"],
                       data["unknown"], data["not_started"], says, ask)


@cache
def lexicon() -> Lexicon:
    data = tomllib.loads(LEXICON_FILE.read_text(encoding="utf-8"))
    query, numbers, meta = data["query"], data["numbers"], data["metadata"]
    return Lexicon(
        question_words=_words(query["question_words"]),
        question_word_pattern=re.compile(query["question_word_pattern"]),
        asks_number=re.compile(query["asks_number"]),
        asks_entity=re.compile(query["asks_entity"]),
        asks_amount=re.compile(query["asks_amount"]),
        asks_target=re.compile(query["asks_target"]),
        cloze_blank=re.compile(query["cloze_blank"]),
        synonyms={k: tuple(v) for k, v in query["synonyms"].items()},
        everyday=tuple((re.compile(k), tuple(v)) for k, v in query["everyday"].items()),
        related_words=_both_ways({k: tuple(v) for k, v in query["synonyms"].items()}),
        stopwords=_words(data["bm25"]["stopwords"]),
        not_places=_words(data["places"]["not_places"]),
        place_suffixes=tuple(data["places"]["suffixes"]),
        office_words=tuple(data["places"]["office_words"]),
        units=tuple(numbers["units"]),
        comparators=tuple(numbers["comparators"]),
        empty_cells=frozenset(numbers["empty_cells"]),
        growth_words=tuple(numbers["growth_words"]),
        target_sentence=re.compile(data["targets"]["target_sentence"]),
        target_column=re.compile(data["targets"]["target_column"]),
        target_intro=re.compile(data["targets"]["target_intro"]),
        today_words=tuple(data["targets"]["today_words"]),
        status=_status(data["status"]),
        boilerplate_line=re.compile(data["boilerplate"]["line"]),
        font_picker=re.compile(data["boilerplate"]["font_picker"]),
        footer_start=re.compile(data["boilerplate"]["footer_start"]),
        title_words=tuple(meta["title_words"]),
        not_title_start=tuple(meta["not_title_start"]),
        year_heading_words=re.compile(meta["year_heading_words"]),
        doc_types=tuple((a, b) for a, b in meta["doc_types"]),
        user_dict=DATA_DIR / "userdict.txt",
        answer=_answer_words(data["answer"]),
        review_heading=re.compile(data["sections"]["review_heading"]),
        plan_heading=re.compile(data["sections"]["plan_heading"]),
        review_always=re.compile(data["sections"]["review_always"]),
        multi_year=re.compile(data["sections"]["multi_year"]),
    )


def data_files() -> list[Path]:
    """Every data file of the lexicon, for the index fingerprint."""
    return sorted(p for p in DATA_DIR.rglob("*") if p.is_file() and p.suffix in {".toml", ".txt", ".tsv", ".csv", ".json"})
