"""「哪几个方面」「哪八方面工作」「主要预期目标有哪些」: an enumeration answered as the whole list, each item cited.

A document's own structure says what its lists are: the child headings under one heading
(「二、2022年工作安排」 -> （一）…（八）…), and the items of one list (`Chunk.list_id`). The
candidate lists are those the top hits sit in; each is scored on how well its heading matches the
question (topic words, the asked year), how many of the top hits it holds, and whether it has as
many items as the question says (「八方面」 -> 8). Nothing is re-parsed from rendered text: headings
come from `breadcrumb`, items from `list_id`/`list_pos`.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.answer.citations import Numbering
from rag.answer.extractive import names_quoted, quoted_names
from rag.index.store import row_documents
from rag.lexicon import lexicon
from rag.records import Answer, Chunk, Evidence, Hit, Query
from rag.zh import CN_DIGITS, char_bigrams

MIN_ITEMS, MAX_ITEMS, MAX_TABLE_ITEMS = 3, 16, 30
_ITEM_MARK = re.compile(rf"^(?:[(（][{CN_DIGITS}\d]+[)）]|[{CN_DIGITS}]+、|\d+[.、．])")
MIN_LIST_SCORE = 0.9  # below this the extractive answer is shown instead
REPEATED_FIT = 0.5
HEADING_DOCS = 3  # documents of the top hits whose every heading is matched against the question
HEADING_FIT = 0.6  # share of the question's topic a heading must hold for its children to be a candidate list
_COUNT = re.compile(rf"([{CN_DIGITS}两\d]+)\s*(?:大|个|项|条|方面|类|件|点)")
_CN = {c: i for i, c in enumerate("零一二三四五六七八九十")} | {"两": 2, "〇": 0}


def asked_count(text: str) -> int | None:
    """「哪八方面」 -> 8, 「几个方面」 -> None."""
    match = _COUNT.search(text)
    if not match:
        return None
    word = match.group(1)
    if word.isdigit():
        return int(word)
    if word == "十":
        return 10
    if len(word) == 2 and word[0] == "十":
        return 10 + _CN.get(word[1], 0)
    if len(word) == 2 and word[1] == "十":
        return _CN.get(word[0], 0) * 10
    return _CN.get(word) if len(word) == 1 else None


@dataclass(frozen=True)
class Enumeration:
    heading: str  # the heading (or list intro) the items sit under
    items: tuple[tuple[str, Chunk], ...]  # (item text as shown, the chunk cited for it)
    score: float


def _coverage(query: Query, text: str) -> float:
    topic = [t for t in query.topic if t not in ("方面", "工作", "几个") and not _ENUMERATION.search(t)]
    if not topic:
        return 0.0
    # 「计划执行情况分成哪几块来写」: a heading holding what is asked fits whole although 分成, 几块 (how it is
    # asked) are not in it; 「主要措施是哪四个聚焦」: 措施 still counts for the heading 「…的主要措施」
    specific = [t for t in topic if not _GENERIC.match(t)]
    return max(_topic_share(topic, text), _topic_share(specific, text) if specific else 0.0)


def _topic_share(topic: Sequence[str], text: str) -> float:
    """Share of the topic words in `text`; a word not there whole counts 0.6 × the share of its bigrams."""
    total = 0.0
    for term in topic:
        if term in text:
            total += 1
        else:
            grams = char_bigrams(term)
            total += 0.6 * sum(g in text for g in grams) / len(grams) if grams else 0
    return total / len(topic)


# Words of an enumeration question that say what is listed, not what about: 「…有哪些措施」「…重点抓哪几方面工作」.
_GENERIC = re.compile(r"^(?:方面|工作|几个|措施|举措|做法|安排|打算|重点|主要|内容|任务|哪些|分别|什么|有何|包括|推进|开展|要|是"
                      r"|抓好|做好|抓|做|来写|分成|分为|围绕|展开|部署|涉及|组成|构成|总结|提出|[一二三四五六七八九十两几\d]+(?:个|大|项|条|类|件|块|方面)?)+$")
_MEASURES = re.compile(r"如何|怎么|怎样|措施|举措|做法|(?:什么|哪些)(?:打算|安排)")


def _specific_topic(query: Query) -> list[str]:
    """The question's words less the generic ones (方面, 措施, 哪几块 …): what it asks a list about."""
    return [t for t in query.topic if not _GENERIC.match(t) and not _ENUMERATION.search(t)]


def _specific_fit(query: Query, text: str) -> float:
    """Share of the question's specific topic a list's heading and items hold; 1.0 when the question names
    nothing specific."""
    topic = _specific_topic(query)
    return _topic_share(topic, text) if topic else 1.0


def _repeated(query: Query, items: Sequence[str]) -> bool:
    """The question names the word every item repeats (「哪几个一批」: 「——建成了一批…」「——引进了一批…」)."""
    words = [t for t in query.topic if len(t) >= 2 and not _GENERIC.match(t) and not _ENUMERATION.search(t)]
    return len(items) >= MIN_ITEMS and any(sum(w in t for t in items) >= 0.8 * len(items) for w in words)


class Lister:
    """Finds the enumerations of an index's documents (config in `__init__`: the chunks in order)."""

    def __init__(self, chunks: Sequence[Chunk], row_docs: np.ndarray | None = None, doc_ids: Sequence[str] = ()) -> None:
        """`row_docs`/`doc_ids`: each row's document (rag/index/store.row_documents); derived when not given."""
        self.chunks = chunks
        if row_docs is None:
            row_docs, doc_ids = row_documents(chunks)
        order = np.argsort(row_docs, kind="stable")  # rows grouped by document, in document order
        bounds = np.searchsorted(row_docs[order], np.arange(len(doc_ids) + 1))
        self._rows = {doc: order[bounds[n] : bounds[n + 1]] for n, doc in enumerate(doc_ids)}
        self._doc_cache: OrderedDict[str, list[Chunk]] = OrderedDict()

    def doc_chunks(self, doc_id: str) -> list[Chunk]:
        """A document's chunks in order, read when first asked for (a few documents stay cached)."""
        cached = self._doc_cache.get(doc_id)
        if cached is None:
            cached = self._doc_cache[doc_id] = [self.chunks[int(i)] for i in self._rows.get(doc_id, ())]
            while len(self._doc_cache) > 16:
                self._doc_cache.popitem(last=False)
        return cached

    def children(self, doc_id: str, parent: tuple[str, ...]) -> list[tuple[str, Chunk]]:
        """The child headings right under `parent`, in document order, each with its first chunk."""
        depth = len(parent)
        out: dict[str, Chunk] = {}
        for c in self.doc_chunks(doc_id):
            if len(c.breadcrumb) > depth and c.breadcrumb[:depth] == parent:
                name = c.breadcrumb[depth]
                if name not in out:
                    out[name] = c
        items = list(out.items())
        marked = [(n, c) for n, c in items if _ITEM_MARK.match(n)]
        # 「（一）…（五）」 beside a stray table caption: the numbered headings are the list
        return marked if len(marked) >= MIN_ITEMS and len(marked) >= 0.6 * len(items) else items

    def headings(self, doc_id: str) -> dict[tuple[str, ...], Chunk]:
        """Every heading path of a document, each with its first chunk, in document order."""
        out: dict[tuple[str, ...], Chunk] = {}
        for c in self.doc_chunks(doc_id):
            for depth in range(1, len(c.breadcrumb) + 1):
                out.setdefault(tuple(c.breadcrumb[:depth]), c)
        return out

    def list_group(self, chunk: Chunk) -> list[Chunk]:
        """The list items around a list item: same document, same headings, in document order."""
        return [c for c in self.doc_chunks(chunk.doc_id) if c.kind == "list_item" and c.breadcrumb == chunk.breadcrumb]

    def table_groups(self, query: Query, chunk: Chunk) -> list[tuple[tuple[str, ...], list[tuple[str, Chunk]]]]:
        """「由民政局牵头的任务」「主要预期指标有哪些」: the rows of a table whose cell holds a value the question
        names, each shown by its content cell."""
        groups = []
        for header, value in chunk.search_cells:
            value = value.strip()
            if not (2 <= len(value) <= 12) or value not in query.text or re.search(r"\d", value):
                continue
            columns = [h for h, _v in chunk.search_cells]
            # the same table: its rows share the header row, even where section headings split it
            rows = [c for c in self.doc_chunks(chunk.doc_id) if c.is_table_row
                    and [h for h, _v in c.search_cells] == columns
                    and any(h == header and value in v for h, v in c.search_cells)]
            groups.append(((f"{header}={value}",), [(_row_item(c), c) for c in rows]))
        return groups

    def candidates(self, query: Query, hits: Sequence[Hit], top: int = 8) -> list[Enumeration]:
        count = asked_count(query.text)
        years = {str(y) for y in query.years}
        seen: set[tuple[str, tuple[str, ...]]] = set()
        found: list[Enumeration] = []
        top_hits = [h for h in hits[:top] if not query.regions or h.chunk.region in query.regions]
        def consider(chunk: Chunk, key: tuple[str, ...], items: list[tuple[str, Chunk]], announced: int | None) -> None:
            by_cell = bool(key) and "=" in key[-1]
            if (chunk.doc_id, key) in seen or not (MIN_ITEMS <= len(items) <= (MAX_TABLE_ITEMS if by_cell else MAX_ITEMS)):
                return
            heading = " ".join(k for k in key if not k.startswith("#")) or chunk.title
            heading_fit = _coverage(query, heading)
            inside = sum(1 for h in top_hits if h.chunk.doc_id == chunk.doc_id and _under(h.chunk, key))
            told = announced is not None and key == chunk.breadcrumb and len(items) == announced
            repeated = _repeated(query, [t for t, _c in items])
            strong = heading_fit >= 0.5 or (heading_fit >= 0.3 and inside >= 2) or repeated  # the hits sit in its items
            if not key and not repeated:
                return  # the document's own parts: its title matches any question about the place (and 「哪三项」
                # any three parts), the word each part repeats (「分哪几个致力提升」: 「一、致力提升技术策源力…」) does not
            if by_cell:
                strong, heading_fit = True, 1.0  # the question names the cell value every row holds
            if not strong and not (count is not None and len(items) == count) and not told:
                return  # a list only answers when its heading is what is asked, or it has the count asked
            counted = (count is not None and len(items) == count) or told or repeated
            if not by_cell:
                if _specific_fit(query, heading + " " + " ".join(t for t, _c in items)) < (0.3 if counted else 0.5):
                    return  # 「优化营商环境有哪些措施」: the report's list of all its measures does not name it
            if not by_cell and not counted:
                if (_MEASURES.search(query.text) and _specific_fit(query, heading) < 0.5
                        and sum(_specific_fit(query, t) >= 0.5 for t, _c in items) == 1):
                    return  # one item is what is asked (「5.持续优化营商环境」): its passage answers, not the list
            seen.add((chunk.doc_id, key))
            # the most specific list that fits: a heading's own items before its parent's sections
            score = heading_fit + 0.15 * min(inside, 5) + (1.0 if told else 0.0) + (0.5 if key and key[-1] == "#list" else 0.0)
            score += 0.6 * _coverage(query, " ".join(t for t, _c in items)) / max(1, len(items)) ** 0.5
            if repeated:
                score += REPEATED_FIT  # every item repeats the word asked (「分哪几个致力提升」): that is the list
            if count is not None:
                score += 1.0 if len(items) == count else -0.5
            if years:
                written = set(re.findall(r"(?<!\d)(20\d\d)(?!\d)", heading))  # 「2022国民经济…」
                score += 0.3 if written & years else (-0.5 if written else 0.0)
            found.append(Enumeration(heading, tuple(items), score))

        for hit in top_hits:
            chunk = hit.chunk
            groups: list[tuple[tuple[str, ...], list[tuple[str, Chunk]]]] = []
            if chunk.kind == "list_item":
                items = self.list_group(chunk)
                groups.append(((*chunk.breadcrumb, "#list"),
                               [(c.display_text.strip(), c) for c in items]))
            named_rows = self.table_groups(query, chunk) if chunk.is_table_row else []
            groups.extend(named_rows)
            for depth in range(len(chunk.breadcrumb) + 1):
                parent = chunk.breadcrumb[:depth]
                groups.append((parent, self.children(chunk.doc_id, parent)))
            # 「主要做了以下七方面工作：」: a passage announcing N items under its own heading
            intro = lexicon().answer.list_intro.search(chunk.body) if lexicon().answer else None
            announced = asked_count(chunk.body) if intro else None
            for key, items in groups:
                consider(chunk, key, items, announced)
        specific = _specific_topic(query)
        # 「计划执行情况分成哪几块」: a heading of a top document that names what is asked, although no hit sits
        # under it (the hits matched the annex table 「主要指标执行情况表」 instead)
        for doc_id in list(dict.fromkeys(h.chunk.doc_id for h in top_hits))[:HEADING_DOCS]:
            for key, first in self.headings(doc_id).items():
                if specific and _topic_share(specific, key[-1]) >= HEADING_FIT:
                    consider(first, key, self.children(doc_id, key), None)
        found.sort(key=lambda e: -e.score)
        return found


_CONTENT_HEADERS = ("内容", "指标", "名称", "事项", "任务", "项目")  # the cell that says what a row is, by preference


def _row_item(chunk: Chunk) -> str:
    """A table row as a list item: its content cell (内容及要求, 指标名称 …), else its longest cell."""
    cells = [(h, v) for h, v in chunk.cells if v and v.strip()]
    for word in _CONTENT_HEADERS:
        for header, value in cells:
            if word in header and len(value) > 4:
                return value.strip()
    return max((v.strip() for _h, v in cells), key=len, default=chunk.display_text)


def _under(chunk: Chunk, key: tuple[str, ...]) -> bool:
    if key and "=" in key[-1]:
        return chunk.is_table_row
    if key and key[-1].startswith("#"):
        return chunk.kind == "list_item" and chunk.breadcrumb == key[:-1]
    return chunk.breadcrumb[: len(key)] == key and len(chunk.breadcrumb) > len(key)


def answer_list(query: Query, hits: Sequence[Hit], lister: Lister) -> Answer | None:
    """The best enumeration as a cited list, or None when no list fits the question well enough."""
    if not lexicon().answer or query.measure not in ("list", "", "target") or not _asks_enumeration(query.text):
        return None
    candidates = lister.candidates(query, hits)
    if not candidates or candidates[0].score < MIN_LIST_SCORE:
        return None
    best = candidates[0]
    quoted = quoted_names(query.text)
    if quoted and not names_quoted(quoted, best.heading + "\n".join(t for t, _c in best.items)):
        return None  # 「“三大工程”指哪三项」: a list that does not name it is another three (the sentence naming it answers)
    if "目标" in query.text and sum(bool(re.search(r"\d", t)) for t, _c in best.items) < len(best.items) / 2:
        return None  # 「主要预期目标有哪些」: targets state figures; a list of section headings is not them
    numbering = Numbering()
    lines = [f"共 {len(best.items)} 项（{best.heading.split(' ')[-1]}）："]
    evidence = []
    for text, chunk in best.items:
        n = numbering.cite(Hit(0, 0.0, chunk), renumber=True)
        shown = " ".join(text.split())
        lines.append(f"- {shown} [{n}]")
        evidence.append(Evidence(n, shown, shown))
    return Answer(query.raw, "\n".join(lines), tuple(numbering.citations), found=True, evidence=tuple(evidence), query=query,
                  method="extractive")


_ENUMERATION = re.compile(rf"哪些|哪几|几个方面|几方面|哪[{CN_DIGITS}两]+|有什么|包括|列举")


def _asks_enumeration(text: str) -> bool:
    return bool(_ENUMERATION.search(text))
