"""Property test of the search contract on generated documents (real seed lines, shuffled and cut)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from rag.index.build import build_index
from rag.index.store import load_index
from rag.ingest.load import LoadError, document_from_text
from rag.search.retriever import Retriever
from tests.conftest import SEEDS

LINES = [line.strip() for path in sorted(SEEDS.glob("*.txt"))
         for line in path.read_text(encoding="utf-8").splitlines() if 8 <= len(line.strip()) <= 300]
CONTRACT_KEYS = {"rank", "score", "doc_id", "source", "title", "section", "text", "chunk_id"}

documents_strategy = st.lists(
    st.lists(st.sampled_from(LINES), min_size=1, max_size=12).map("\n".join), min_size=1, max_size=4
)
questions_strategy = st.one_of(st.sampled_from(LINES).map(lambda s: s[:20]), st.text(max_size=30))


@hsettings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=documents_strategy, question=questions_strategy, top_k=st.integers(1, 12))
def test_search_contract_holds_on_generated_documents(embedder, settings, texts, question, top_k):
    docs = []
    for i, text in enumerate(texts):
        try:
            docs.append(document_from_text(text, doc_id=f"gen-{i}", source=f"gen-{i}.txt"))
        except LoadError as exc:  # only boilerplate (「信息索引号 … 公开方式 主动公开」): refused by name, by design
            assert "no text left after cleaning" in str(exc)
    assume(docs)
    with tempfile.TemporaryDirectory() as tmp:
        build_index(docs, Path(tmp), embed=embedder.encode_passages, model_name=settings.embed_model,
                    dimension=embedder.dimension)
        index = load_index(Path(tmp), expected_model=settings.embed_model)
        retriever = Retriever(index, embedder)
        by_id = {d.doc_id: d for d in docs}
        for mode in ("hybrid", "dense", "bm25"):
            hits = retriever.search(question, mode=mode, top_k=top_k)
            rows = [h.to_contract() for h in hits]
            assert len(rows) <= top_k
            assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
            assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
            assert len({r["chunk_id"] for r in rows}) == len(rows)
            for row, hit in zip(rows, hits):
                assert CONTRACT_KEYS <= row.keys()
                doc = by_id[row["doc_id"]]
                assert doc.display_text[hit.chunk.start : hit.chunk.end].strip()  # offsets point into the document
                if hit.chunk.kind == "text":
                    assert row["text"] in doc.display_text
