"""The small typed records that flow forward through the pipeline.

load -> `Document` -> chunking -> `Chunk` (+ `Fact`s) -> index/search (`Query`) -> `Hit` -> answer -> `Answer`.
Records are frozen and carry their structure — a breadcrumb's parts, a table row's cells, a list
item's list and position — so no later stage re-parses a string an earlier one rendered.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

BREADCRUMB_SEP = " › "  # for showing a breadcrumb; never split again


@dataclass(frozen=True)
class Document:
    """One source document after loading and cleaning.

    `display_text` keeps the original characters (Traditional stays Traditional) and is what users
    see; `search_text` is its normalised Simplified form used for matching. Both have the same
    length and are aligned character by character, so an offset into one is an offset into the
    other. `metadata_source` says how sure region and years are: "manifest", "title" (the
    document names itself), "text" (inferred from mentions) or "" (unknown).
    """

    doc_id: str
    source: str
    title: str
    display_text: str
    search_text: str
    region: str = ""
    years: tuple[int, ...] = ()
    doc_type: str = ""
    content_hash: str = ""
    script: str = "simplified"  # or "traditional": the script of the original
    metadata_source: str = ""

    def __post_init__(self) -> None:
        if len(self.display_text) != len(self.search_text):
            raise ValueError(f"{self.doc_id}: display and search text must be aligned")

    def to_dict(self) -> dict:
        data = asdict(self)
        data["years"] = list(self.years)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Document:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known} | {"years": tuple(data.get("years", ()))})


Cells = tuple[tuple[str, str], ...]  # (column header, value) pairs of one table row


@dataclass(frozen=True)
class Chunk:
    """A retrievable passage: a slice [start, end) of its document plus its place in the structure.

    `display_text` is the body in the document's own characters (what users read); `body` is the
    same body normalised to Simplified. `breadcrumb` holds the headings above the chunk (below the
    document title), in Simplified; `display_breadcrumb` the same in the document's script. A table
    row carries its cells; a list item its list and 1-based position.
    """

    chunk_id: str
    doc_id: str
    kind: str  # text, heading, list_item, table_row, table, glossary_entry
    start: int
    end: int
    display_text: str
    body: str
    breadcrumb: tuple[str, ...] = ()
    display_breadcrumb: tuple[str, ...] = ()
    title: str = ""
    source: str = ""
    region: str = ""
    years: tuple[int, ...] = ()
    cells: Cells = ()  # table rows: display script
    search_cells: Cells = ()  # table rows: Simplified
    list_id: str = ""  # list items: the chunk id of the list's first item
    list_pos: int = 0

    @property
    def indexed_text(self) -> str:
        """What the embedder and the lexical rankers see: title and headings, then the body."""
        return BREADCRUMB_SEP.join(p for p in (self.title, *self.breadcrumb) if p) + "\n" + self.body

    @property
    def section(self) -> str:
        """Title and headings in Simplified, for showing (never to be split again)."""
        return BREADCRUMB_SEP.join(p for p in (self.title, *self.breadcrumb) if p)

    @property
    def display_section(self) -> str:
        """Title and headings in the document's own script, for showing."""
        return BREADCRUMB_SEP.join(p for p in (self.title, *self.display_breadcrumb) if p)

    @property
    def is_table_row(self) -> bool:
        return bool(self.cells)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["years"] = list(self.years)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Chunk:
        return cls(**{
            **data,
            "years": tuple(data.get("years", ())),
            "breadcrumb": tuple(data.get("breadcrumb", ())),
            "display_breadcrumb": tuple(data.get("display_breadcrumb", ())),
            "cells": tuple(tuple(c) for c in data.get("cells", ())),
            "search_cells": tuple(tuple(c) for c in data.get("search_cells", ())),
        })


@dataclass(frozen=True)
class Fact:
    """An indicator of a table row or a target list, with what it was set to, what it reached and its status.

    Extracted at build time (rag/facts) and stored beside the chunks; `chunk_id` is its source.
    """

    indicator: str  # as written in the table
    name: str  # normalised, for matching questions
    unit: str
    target: str
    actual: str
    completion: str
    status: str
    gap_points: float | None
    rate: float | None
    note: str
    region: str
    year: int | None
    doc_id: str
    chunk_id: str
    table: str
    target_parsed: dict | None = None
    actual_parsed: dict | None = None
    target_source: str = ""  # the column the target came from (区年度目标 / 市下达年度目标 …)
    kind: str = "indicator"  # or "task": a work item of a task list (序时推进 …), not a measured indicator
    status_basis: str = ""  # how the status was decided: the table's words, or the comparison made

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Fact:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class Query:
    """A question, parsed once and read by the retriever and every answerer.

    `text` is normalised (NFKC, Simplified, 「21年」 -> 「2021年」); `expansions` are the report terms
    for the user's words (GDP -> 地区生产总值); `regions` the index's regions the question names;
    `unknown_places` places named that no indexed document covers; `topic` the key terms once place
    and time are set aside; `report_words` the report wordings the question's everyday words stand for, one
    group of alternatives per phrase (「卖了多少货」 -> (社会消费品零售总额, 消费品零售总额)); `measure` what is asked: "value", "growth", "target", "status", "list"
    or ""; `parts` the sub-questions of a question about two places, years or indicators.
    """

    raw: str
    text: str
    expansions: tuple[str, ...] = ()
    regions: frozenset[str] = frozenset()
    years: frozenset[int] = frozenset()
    unknown_places: frozenset[str] = frozenset()
    places: tuple[str, ...] = ()  # every place named, as written
    terms: tuple[str, ...] = ()
    topic: tuple[str, ...] = ()
    report_words: tuple[tuple[str, ...], ...] = ()
    reworded: str = ""  # `text` with its everyday words in report wording ("" when it has none)
    measure: str = ""
    parts: tuple[Query, ...] = ()

    @property
    def lexical_text(self) -> str:
        return " ".join((self.text, *self.expansions))


@dataclass(frozen=True)
class Hit:
    """A chunk retrieved for a question, with its fused score and rank (1-based)."""

    rank: int
    score: float
    chunk: Chunk
    scores: dict[str, float] = field(default_factory=dict)  # per ranker, for debugging
    # The whole-answer passage: the chunk with its neighbours of the same section, in document order
    # (rag.search.passages); empty means the chunk alone. A fact cut by a chunk boundary shows whole.
    passage: tuple[Chunk, ...] = ()
    # The chunk's region and years come from a manifest or the document's own title, not from mentions
    # in its text: only then does the answer layer trust them to say a passage is about another place.
    sure_metadata: bool = False

    def to_contract(self) -> dict:
        """The stable JSON shape of `rag search --json` (see README, "Search contract")."""
        c = self.chunk
        return {
            "rank": self.rank,
            "score": round(float(self.score), 6),
            "doc_id": c.doc_id,
            "source": c.source,
            "title": c.title,
            "section": c.display_section,
            "text": c.display_text,
            "chunk_id": c.chunk_id,
            "kind": c.kind,
            "region": c.region,
            "years": list(c.years),
        }


@dataclass(frozen=True)
class Citation:
    number: int
    hit: Hit


@dataclass(frozen=True)
class Evidence:
    """One sentence or table row an answer quotes, and the citation it carries."""

    number: int
    display: str
    search: str


@dataclass(frozen=True)
class Answer:
    question: str
    text: str  # Markdown with [n] markers
    citations: tuple[Citation, ...]
    found: bool  # False when the documents do not answer the question
    notice: str = ""  # e.g. "LLM unavailable, extractive answer shown"
    facts: tuple[Fact, ...] = ()  # the indicator facts a status answer was built from
    evidence: tuple[Evidence, ...] = ()  # the sentences and rows quoted
    query: Query | None = None
    method: str = ""  # which answerer made it: extractive, status, llm
