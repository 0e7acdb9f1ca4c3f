"""Chunking along a document's own structure: headings, lists, tables rebuilt as rows with their header."""

from rag.chunking.builder import chunk_document

__all__ = ["chunk_document"]
