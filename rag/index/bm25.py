"""BM25 scoring with a sparse matrix: rank-bm25's `BM25Okapi` formula, without its per-document loop.

rank-bm25 scores every document in Python on each query (seconds at 100k chunks). Here each
document's term weights  tf·(k1+1) / (tf + k1·(1 − b + b·dl/avgdl))  are precomputed once into a
CSC matrix; a query is then a weighted sum of a few matrix columns. Scores equal `BM25Okapi`'s with
the same parameters (tested to 1e-6), including its floor for negative idf (epsilon × mean idf).
"""

from __future__ import annotations

import os
import shutil
from functools import lru_cache
from array import array
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
from scipy import sparse


class SparseBM25:
    def __init__(self, corpus: Sequence[Sequence[str]], k1: float = 1.5, b: float = 0.75, epsilon: float = 0.25) -> None:
        self.k1, self.b, self.epsilon = k1, b, epsilon
        self.n_docs = len(corpus)
        self.vocabulary: dict[str, int] = {}
        # Compact arrays, not lists of Python ints: a bigram index of 1M chunks has ~150M entries.
        cols, tfs, indptr = array("i"), array("i"), array("q", [0])
        lengths = np.zeros(self.n_docs, dtype=np.float64)
        vocab = self.vocabulary
        for d, tokens in enumerate(corpus):
            lengths[d] = len(tokens)
            counts = Counter(tokens)
            cols.extend(vocab.setdefault(term, len(vocab)) for term in counts)
            tfs.extend(counts.values())
            indptr.append(len(cols))
        self.avgdl = float(lengths.sum() / max(1, self.n_docs))
        col = np.frombuffer(cols, dtype=np.int32) if cols else np.zeros(0, dtype=np.int32)
        row_ptr = np.frombuffer(indptr, dtype=np.int64)
        # weight = tf·(k1+1) / (tf + k1·(1 − b + b·dl/avgdl)), computed in place (memory: 8 bytes an entry)
        weights = np.frombuffer(tfs, dtype=np.int32).astype(np.float64) if tfs else np.zeros(0)
        del tfs
        norm = np.repeat(self.k1 * (1 - self.b + self.b * lengths / (self.avgdl or 1.0)), np.diff(row_ptr))
        norm += weights
        weights *= self.k1 + 1
        weights /= norm
        del norm
        shape = (self.n_docs, len(vocab))
        self.matrix = sparse.csr_matrix((weights, col, row_ptr), shape=shape).tocsc()
        del weights
        self.idf = self._idf(np.bincount(col, minlength=len(vocab)))

    def _idf(self, doc_freq: np.ndarray) -> np.ndarray:
        """rank-bm25's idf: log(N − n + 0.5) − log(n + 0.5), per vocabulary column."""
        n = doc_freq.astype(np.float64)
        idf = np.log(self.n_docs - n + 0.5) - np.log(n + 0.5)
        # rank-bm25 replaces negative idf (terms in over half the documents) by epsilon × average idf
        floor = self.epsilon * (float(idf.mean()) if len(idf) else 0.0)
        idf[idf < 0] = floor
        return idf

    def get_scores(self, query: Sequence[str]) -> np.ndarray:
        """Scores of every document; repeated query tokens count repeatedly, as in rank-bm25."""
        counts = Counter(t for t in query if t in self.vocabulary)
        if not counts:
            return np.zeros(self.n_docs, dtype=np.float64)
        cols = [self.vocabulary[t] for t in counts]
        coef = np.asarray([self.idf[self.vocabulary[t]] * n for t, n in counts.items()])
        return np.asarray(self.matrix[:, cols] @ coef).ravel()

    def top(self, query: Sequence[str], limit: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The `limit` best rows with a positive score; only rows in `allowed` when given."""
        scores = self.get_scores(query)
        if allowed is not None:
            masked = np.zeros_like(scores)
            masked[allowed] = scores[allowed]
            scores = masked
        if limit < len(scores):
            candidates = np.argpartition(-scores, limit)[:limit]
        else:
            candidates = np.arange(len(scores))
        order = candidates[np.argsort(-scores[candidates], kind="stable")]
        return [(int(i), float(scores[i])) for i in order if scores[i] > 0]

    # --- persistence: a build writes its matrices once; loading them maps the files, nothing is counted --
    def save(self, folder: Path) -> None:
        """Write the scorer as a folder of .npy files (written aside, then renamed into place).

        Columns are reordered so the vocabulary is sorted: a loaded scorer finds a term by binary
        search in a memory-mapped UTF-8 blob instead of building a dict of millions of terms.
        """
        folder = Path(folder)
        terms = list(self.vocabulary)
        order = sorted(range(len(terms)), key=terms.__getitem__)
        matrix = self.matrix[:, order] if order != list(range(len(terms))) else self.matrix
        blob = [terms[i].encode("utf-8") for i in order]
        offsets = np.zeros(len(blob) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(b) for b in blob], dtype=np.int64)
        index_dtype = np.int32 if matrix.nnz < 2**31 else np.int64  # scipy wants indices and indptr alike
        arrays = {
            "data": matrix.data.astype(np.float64, copy=False),
            "indices": matrix.indices.astype(index_dtype, copy=False),
            "indptr": matrix.indptr.astype(index_dtype, copy=False),
            "idf": self.idf[order] if len(order) else self.idf,
            "params": np.asarray([self.k1, self.b, self.epsilon, self.avgdl, self.n_docs, matrix.shape[1]]),
            "terms": np.frombuffer(b"".join(blob), dtype=np.uint8),
            "term_offsets": offsets,
        }
        tmp = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for name, array in arrays.items():
            np.save(tmp / f"{name}.npy", array)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)

    @classmethod
    def load(cls, folder: Path, *, mmap: bool = True) -> SparseBM25:
        """The scorer `save` wrote; its arrays memory-mapped (pages are read as queries touch them)."""
        mode = "r" if mmap else None
        arrays = {name: np.load(Path(folder) / f"{name}.npy", mmap_mode=mode, allow_pickle=False)
                  for name in ("data", "indices", "indptr", "idf")}
        # The vocabulary is small beside the matrix and searched per query term: read, not mapped.
        arrays |= {name: np.load(Path(folder) / f"{name}.npy", allow_pickle=False)
                   for name in ("params", "terms", "term_offsets")}
        self = cls.__new__(cls)
        k1, b, epsilon, avgdl, n_docs, n_terms = np.asarray(arrays["params"]).tolist()
        self.k1, self.b, self.epsilon, self.avgdl, self.n_docs = k1, b, epsilon, avgdl, int(n_docs)
        shape = (self.n_docs, int(n_terms))
        if len(arrays["indptr"]) != shape[1] + 1 or len(arrays["idf"]) != shape[1] or len(arrays["term_offsets"]) != shape[1] + 1:
            raise ValueError(f"{folder}: inconsistent BM25 matrix")
        self.matrix = sparse.csc_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=shape, copy=False)
        self.idf = arrays["idf"]
        self.vocabulary = SortedVocabulary(arrays["terms"], arrays["term_offsets"])
        return self


class SortedVocabulary(Mapping[str, int]):
    """term -> column of a saved scorer: binary search over its sorted UTF-8 terms (memory-mapped).

    UTF-8 byte order is code-point order, so terms sorted as str are sorted as bytes.
    """

    def __init__(self, blob: np.ndarray, offsets: np.ndarray) -> None:
        self.blob, self.offsets = blob.tobytes(), offsets
        self._find = lru_cache(maxsize=65_536)(self._search)  # query terms repeat across questions

    def _term(self, i: int) -> bytes:
        return self.blob[int(self.offsets[i]) : int(self.offsets[i + 1])]

    def _search(self, term: str) -> int:
        key = term.encode("utf-8")
        lo, hi = 0, len(self)
        while lo < hi:
            mid = (lo + hi) // 2
            if self._term(mid) < key:
                lo = mid + 1
            else:
                hi = mid
        return lo if lo < len(self) and self._term(lo) == key else -1

    def __getitem__(self, term: str) -> int:
        i = self._find(term) if isinstance(term, str) else -1
        if i < 0:
            raise KeyError(term)
        return i

    def __contains__(self, term: object) -> bool:
        return isinstance(term, str) and self._find(term) >= 0

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __iter__(self) -> Iterator[str]:
        return (self._term(i).decode("utf-8") for i in range(len(self)))


def cached_bm25(rows: Callable[[], Sequence[Sequence[str]]], cache: Path | None, n_docs: int) -> SparseBM25:
    """The scorer saved at `cache` when it is there and fits, else built from `rows()` and saved there.

    Builds since the matrices became part of the build (rag/index/store.py) never get here; for older
    builds the cache lives inside the build, named by the checksum of the token file it was made
    from, so it cannot go stale. A read-only index only means the matrix is rebuilt on each load.
    """
    if cache is not None and cache.is_dir():
        try:
            loaded = SparseBM25.load(cache)
            if loaded.n_docs == n_docs:
                return loaded
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache is rebuilt below
    bm25 = SparseBM25([t or ["∅"] for t in rows()])
    if cache is not None:
        try:
            bm25.save(cache)
        except OSError:
            pass
    return bm25
