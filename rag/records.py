"""The small typed records that flow forward through the pipeline.

load -> `Document` -> chunk -> `Chunk` -> index/retrieve -> `Hit` -> answer -> `Answer`.
Records are frozen: a later stage builds new records, it never edits an earlier one's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Document:
    """One source document after loading and cleaning.

    `display_text` keeps the original characters (Traditional stays Traditional) and is what users
    see; `search_text` is its normalised Simplified form used for matching. Both have the same
    length and are aligned character by character, so an offset into one is an offset into the
    other.
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

    def __post_init__(self) -> None:
        if len(self.display_text) != len(self.search_text):
            raise ValueError(f"{self.doc_id}: display and search text must be aligned")


@dataclass(frozen=True)
class Chunk:
    """A retrievable passage: a slice [start, end) of its document plus context."""

    chunk_id: str
    doc_id: str
    kind: str  # text, list_item, table_row, table, glossary_entry ...
    section: str  # breadcrumb, in Simplified, e.g. "标题 › 一、… › (二)…"
    start: int
    end: int
    display_text: str  # original characters, what users read
    search_text: str  # normalised Simplified, what BM25 and the embedder see (breadcrumb included)
    title: str = ""
    source: str = ""
    region: str = ""
    years: tuple[int, ...] = ()
    display_section: str = ""  # the breadcrumb in the document's own script

    def to_dict(self) -> dict:
        data = asdict(self)
        data["years"] = list(self.years)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Chunk:
        return cls(**{**data, "years": tuple(data.get("years", ()))})


@dataclass(frozen=True)
class Hit:
    """A chunk retrieved for a question, with its fused score and rank (1-based)."""

    rank: int
    score: float
    chunk: Chunk
    scores: dict[str, float] = field(default_factory=dict)  # per retriever, for debugging

    def to_contract(self) -> dict:
        """The stable JSON shape of `rag search --json` (see README, "Search contract")."""
        c = self.chunk
        return {
            "rank": self.rank,
            "score": round(float(self.score), 6),
            "doc_id": c.doc_id,
            "source": c.source,
            "title": c.title,
            "section": c.display_section or c.section,
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
class Answer:
    question: str
    text: str  # Markdown with [n] markers
    citations: tuple[Citation, ...]
    found: bool  # False when the documents do not answer the question
    notice: str = ""  # e.g. "LLM unavailable, extractive answer shown"
