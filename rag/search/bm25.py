"""Moved to rag/index/bm25.py (the matrices are written by the build); kept while callers move."""

from rag.index.bm25 import SparseBM25, cached_bm25

__all__ = ["SparseBM25", "cached_bm25"]
