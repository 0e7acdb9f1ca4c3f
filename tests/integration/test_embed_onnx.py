"""The int8 ONNX encoder reproduces the fp32 model's vectors on real seed text, in input order."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rag.embed.build import sample_passages
from rag.embed.model import default_model_path
from rag.zh import looks_traditional
from tests.conftest import SEEDS


@pytest.fixture(scope="module")
def onnx_dir(tmp_path_factory, settings, embedder):
    from rag.embed.onnx import export_int8

    # `embedder` builds the default model folder if it is missing.
    return export_int8(default_model_path(settings), tmp_path_factory.mktemp("onnx") / "e5-int8")


@pytest.fixture(scope="module")
def encoder(onnx_dir):
    from rag.embed.onnx import OnnxEncoder

    return OnnxEncoder(onnx_dir)


@pytest.fixture(scope="module")
def passages() -> list[str]:
    texts = sample_passages(SEEDS, per_document=14, min_chars=40, max_chars=450)
    assert len(texts) >= 50
    assert any(looks_traditional(t) for t in texts), "the sample must include Traditional text (seed 002)"
    assert any(not looks_traditional(t) for t in texts)
    return texts


def test_export_is_complete_and_idempotent(onnx_dir):
    from rag.embed.onnx import INFO_FILE, ONNX_FILE, export_int8

    info = json.loads((onnx_dir / INFO_FILE).read_text(encoding="utf-8"))
    assert info["pooling"] == "mean" and info["hidden_size"] == 384
    assert (onnx_dir / "tokenizer.json").is_file()
    stamp = (onnx_dir / ONNX_FILE).stat().st_mtime_ns
    # an existing export is kept as is (the source folder is not even read)
    assert export_int8(onnx_dir.parent / "no-such-model", onnx_dir) == onnx_dir
    assert (onnx_dir / ONNX_FILE).stat().st_mtime_ns == stamp
    assert not [p for p in onnx_dir.parent.iterdir() if p.name.startswith(".onnx-export-")]


def test_int8_passages_match_fp32(encoder, embedder, passages):
    ref = embedder.encode_passages(passages)
    got = encoder.encode(passages, prompt_name="passage")
    assert got.dtype == np.float32 and got.shape == ref.shape
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-4)
    cos = np.sum(got * ref, axis=1)
    traditional = np.array([looks_traditional(t) for t in passages])
    assert cos.min() >= 0.99, f"min cosine {cos.min():.4f}"
    assert cos[traditional].min() >= 0.99
    # the literal prompt string and the prompt name give the same vectors
    assert np.allclose(encoder.encode(passages[:4], "passage: "), encoder.encode(passages[:4], prompt_name="passage"))


def test_int8_queries_match_fp32(encoder, embedder, passages):
    queries = [t[:15] for t in passages[::5]]
    ref = embedder.encode_queries(queries)
    got = encoder.encode(queries, prompt_name="query")
    assert np.sum(got * ref, axis=1).min() >= 0.99


def test_order_is_preserved_across_varied_lengths(encoder, passages):
    # Lengths from a few characters to several hundred, deliberately unsorted; batch size 3
    # makes the length sort regroup them across batches.
    texts = [passages[0][:6], passages[1], passages[2][:40], "税收", passages[3] * 2, passages[4][:90], passages[5]]
    batched = encoder.encode(texts, prompt_name="passage", batch_size=3)
    one_by_one = np.stack([encoder.encode([t], prompt_name="passage")[0] for t in texts])
    # int8 activations are quantised per batch, so batch-mates move a vector slightly (cos ~0.997)
    assert np.sum(batched * one_by_one, axis=1).min() >= 0.99
    # every row is closer to its own text's vector than to any other's
    sims = batched @ one_by_one.T
    assert (sims.argmax(axis=1) == np.arange(len(texts))).all()
    assert encoder.encode([], prompt_name="passage").shape == (0, 384)


def test_query_tokenizer_gives_the_full_tokenizers_ids(embedder):
    """The start-up shortcut for questions (QueryTokenizer) must be exact, not approximately right."""
    from rag.config import PROJECT_ROOT
    from rag.embed.onnx import load_tokenizer
    from rag.evaluation.metrics import load_questions

    encoder = embedder._onnx
    assert encoder is not None and encoder.query_tokenizer is not None
    full = load_tokenizer(encoder.onnx_dir, encoder.max_seq_length)
    questions = [q.question for q in load_questions(PROJECT_ROOT / "eval" / "questions.jsonl")]
    lines = [line.strip()[:380] for path in sorted(SEEDS.glob("*.txt"))
             for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    odd = ["", " ", "ＧＤＰ２０２１年　增长７．５％", "a\tb\nc  d", "😀 é ﬁ ① Ⅻ", "e\u0301", "x" * 60, "税收"]
    texts = [f"query: {t}" for t in questions + lines] + odd
    assert len(texts) > 500 and any(looks_traditional(t) for t in lines)
    for text in texts:
        assert encoder.query_tokenizer.encode(text) == full.encode(text).ids, text
    # texts it does not take (long, or possibly holding a special-token literal) go to the full tokenizer
    assert encoder.query_tokenizer.encode("query: <mask> 是什么") is None
    assert encoder.query_tokenizer.encode("query: <b>余杭</b> 1<2") == full.encode("query: <b>余杭</b> 1<2").ids
    assert encoder.query_tokenizer.encode("长" * 401) is None
    # one question alone (QueryTokenizer) and in a batch (full tokenizer) get the same vector
    alone = encoder.encode([questions[0]], prompt_name="query")[0]
    batched = encoder.encode([questions[0], questions[1]], prompt_name="query")[0]
    assert float(alone @ batched) > 0.99  # int8 activations are quantised per batch (see above)
