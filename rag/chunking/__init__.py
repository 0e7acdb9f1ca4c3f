"""Chunking along a document's own structure: headings, lists, tables rebuilt as rows with their header.

lines.py classifies lines (pure), tables.py rebuilds tables, walker.py walks a document keeping the
heading path, list and table state, builder.py writes the chunks.
"""

from rag.chunking.walker import chunk_document

__all__ = ["chunk_document"]
