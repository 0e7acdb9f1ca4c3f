"""Whole-answer passages: a retrieved chunk widened to its neighbours of the same section.

Chunks are cut along sentences and rows, so a fact can straddle a boundary (「实现地区生产总值」 |
「67665亿元」) and no ranking could return it whole. At retrieval time each hit is widened to a
sentence window: the chunk, its previous and next chunk when they belong to the same document and
section, and more neighbours while the passage is still short. Ranking stays on chunks (small
units rank sharply); the passage is what is shown and quoted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rag.records import Chunk

WINDOW = 1  # neighbours always taken on each side (a span straddling one boundary is covered)
MIN_CHARS = 300  # a passage shorter than this grows by further neighbours of the same section
MAX_CHARS = 1200  # and never beyond this, so a hit stays readable


class Passages:
    def __init__(self, chunks: Sequence[Chunk], position: Callable[[str], int] | None = None) -> None:
        self.chunks = chunks
        # The index's own lookup when given (it finds a row without reading every chunk: rag/index/store.py).
        self._position = position or {c.chunk_id: i for i, c in enumerate(chunks)}.__getitem__

    def row(self, chunk: Chunk) -> int | None:
        try:
            return self._position(chunk.chunk_id)
        except KeyError:
            return None

    def _joins(self, chunk: Chunk, j: int) -> bool:
        if not 0 <= j < len(self.chunks):
            return False
        other = self.chunks[j]
        # table rows stand alone (their header is in the row); prose joins prose of the same section
        return (other.doc_id == chunk.doc_id and other.breadcrumb == chunk.breadcrumb
                and not other.cells and not chunk.cells)

    def around(self, chunk: Chunk) -> tuple[Chunk, ...]:
        """The chunk and its same-section neighbours in document order (the chunk alone when it has none)."""
        i = self.row(chunk)
        if i is None:
            return (chunk,)
        lo = hi = i
        total = len(chunk.display_text)
        for step in range(1, WINDOW + 1):
            if self._joins(chunk, i - step) and total + len(self.chunks[i - step].display_text) <= MAX_CHARS:
                lo = i - step
                total += len(self.chunks[lo].display_text)
            if self._joins(chunk, i + step) and total + len(self.chunks[i + step].display_text) <= MAX_CHARS:
                hi = i + step
                total += len(self.chunks[hi].display_text)
        while total < MIN_CHARS:
            grown = False
            for j in (hi + 1, lo - 1):
                size = len(self.chunks[j].display_text) if 0 <= j < len(self.chunks) else 0
                if total < MIN_CHARS and self._joins(chunk, j) and total + size <= MAX_CHARS:
                    total += size
                    lo, hi = min(lo, j), max(hi, j)
                    grown = True
            if not grown:
                break
        return tuple(self.chunks[lo : hi + 1])

    def text(self, chunk: Chunk) -> str:
        """What the passage shows: the headings, then the chunks' texts in document order."""
        return chunk.display_section + "\n" + "\n".join(c.display_text for c in self.around(chunk))
