"""Citation numbers: each passage an answer quotes gets one [n], in the order it is first quoted."""

from __future__ import annotations

from dataclasses import replace

from rag.records import Citation, Hit


class Numbering:
    def __init__(self) -> None:
        self.numbers: dict[str, int] = {}
        self.citations: list[Citation] = []

    def cite(self, hit: Hit, *, renumber: bool = False) -> int:
        """The [n] of `hit`'s passage, new or already given; `renumber` gives the cited hit rank n."""
        chunk_id = hit.chunk.chunk_id
        if chunk_id not in self.numbers:
            n = self.numbers[chunk_id] = len(self.numbers) + 1
            self.citations.append(Citation(n, replace(hit, rank=n) if renumber else hit))
        return self.numbers[chunk_id]
