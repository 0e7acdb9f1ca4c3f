"""int8 ONNX Runtime encoder for the sentence-transformers embedding model (CPU speed-up).

`export_int8` turns a fp32 sentence-transformers folder (BERT-style encoder + mean pooling +
normalisation, e.g. the built-in multilingual-e5-small) into a folder holding an int8 ONNX
model plus the tokenizer and prompt files; `OnnxEncoder` loads that folder and encodes texts
exactly like `SentenceTransformer.encode(..., normalize_embeddings=True)` does (same
tokenisation, truncation at max_seq_length, prompt prefix, mean pooling over the attention
mask, L2 normalisation), only faster.

How the model is made, all offline:
1. `torch.onnx.export` (TorchScript exporter) of the transformer -> last_hidden_state;
2. ONNX Runtime's BERT graph fusion (fused attention, embedding/skip LayerNorm, bias-GELU);
3. dynamic int8 quantisation of MatMul/Attention weights, per output channel (per-tensor
   quantisation loses too much: cosine vs fp32 drops to ~0.98), 7-bit range to avoid the
   u8*s8 saturation of AVX2 kernels.
Pooling stays in numpy so it is exactly the fp32 model's pooling.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rag.embed.build import publish_folder

ONNX_FILE = "model_int8.onnx"
INFO_FILE = "onnx_info.json"
FORMAT_VERSION = 1
# Files copied from the sentence-transformers folder so the ONNX folder is self-contained.
_COPIED = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "sentencepiece.bpe.model",
    "config.json",
    "config_sentence_transformers.json",
    "sentence_bert_config.json",
)


class OnnxExportError(RuntimeError):
    """The model folder cannot be exported to int8 ONNX; the message says why."""


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


def _check_supported(model_dir: Path) -> None:
    modules = _read_json(model_dir / "modules.json") if (model_dir / "modules.json").is_file() else []
    types = [m.get("type", "") for m in modules] if isinstance(modules, list) else []
    if not types or not types[0].endswith("models.Transformer") or not any(t.endswith("models.Pooling") for t in types):
        raise OnnxExportError(f"{model_dir} is not a Transformer+Pooling sentence-transformers folder.")
    allowed = {"Transformer", "Pooling", "Normalize"}
    extra = [t for t in types if t.rsplit(".", 1)[-1] not in allowed]
    if extra:
        raise OnnxExportError(f"{model_dir} has modules the ONNX encoder does not reproduce: {extra}")
    pooling = next(m for m in modules if m.get("type", "").endswith("models.Pooling"))
    cfg = _read_json(model_dir / pooling.get("path", "1_Pooling") / "config.json")
    modes = [k for k, v in cfg.items() if k.startswith("pooling_mode") and v]
    if modes != ["pooling_mode_mean_tokens"]:
        raise OnnxExportError(f"Only mean pooling is supported, {model_dir} uses {modes or 'none'}.")


def is_exported(out_dir: Path) -> bool:
    info = _read_json(Path(out_dir) / INFO_FILE)
    return info.get("format") == FORMAT_VERSION and (Path(out_dir) / ONNX_FILE).is_file()


def _export_fp32(model_dir: Path, target: Path) -> tuple[int, int]:
    """Export the transformer to ONNX (fp32); returns (hidden size, attention heads)."""
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()

    class _Hidden(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    # A padded example, so no "mask is all ones" shortcut gets baked into the trace.
    ids = torch.full((2, 16), 5, dtype=torch.long)
    mask = torch.ones((2, 16), dtype=torch.long)
    mask[1, 9:] = 0
    axes = {0: "batch", 1: "tokens"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Hidden(model),
            (ids, mask),
            str(target),
            input_names=["input_ids", "attention_mask"],
            output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "last_hidden_state": axes},
            opset_version=17,
            dynamo=False,
        )
    return int(model.config.hidden_size), int(model.config.num_attention_heads)


def _fuse(src: Path, dst: Path, heads: int, hidden: int) -> bool:
    """ONNX Runtime's BERT fusions; False (and nothing written) if they do not apply."""
    try:
        from onnxruntime.transformers.optimizer import optimize_model

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            optimized = optimize_model(str(src), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=0)
        optimized.save_model_to_file(str(dst))
        return True
    except Exception:  # noqa: BLE001 - fusion is an optimisation; quantise the plain graph instead
        return False


def export_int8(model_dir: Path, out_dir: Path, *, force: bool = False) -> Path:
    """Write an int8 ONNX copy of the sentence-transformers model at `model_dir` into `out_dir`.

    Idempotent (an existing complete export is kept unless `force`), and atomic: the folder is
    assembled in a temporary sibling and renamed into place.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model_dir, out_dir = Path(model_dir), Path(out_dir)
    if is_exported(out_dir) and not force:
        return out_dir
    _check_supported(model_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".onnx-export-", dir=out_dir.parent))
    try:
        work = staging / "work"
        work.mkdir()
        hidden, heads = _export_fp32(model_dir, work / "fp32.onnx")
        source = work / "fp32.onnx"
        fused = _fuse(source, work / "fused.onnx", heads, hidden)
        if fused:
            source = work / "fused.onnx"
        quantize_dynamic(
            str(source),
            str(staging / ONNX_FILE),
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul", "Attention"],
            per_channel=True,
            reduce_range=True,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
        shutil.rmtree(work)
        for name in _COPIED:
            if (model_dir / name).is_file():
                shutil.copyfile(model_dir / name, staging / name)
        info = {
            "format": FORMAT_VERSION,
            "source": str(model_dir.resolve()),
            "hidden_size": hidden,
            "fused": fused,
            "quantization": "dynamic int8, MatMul+Attention weights, per-channel, reduce_range",
            "pooling": "mean",
            "normalize": True,
        }
        (staging / INFO_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        staging.chmod(0o755)
        publish_folder(staging, out_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return out_dir


def _available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


class OnnxEncoder:
    """Encodes texts with an `export_int8` folder; output matches the fp32 model (cosine > 0.99)."""

    def __init__(self, onnx_dir: Path, *, threads: int | None = None, batch_size: int = 32) -> None:
        import onnxruntime as ort
        from transformers import AutoTokenizer

        onnx_dir = Path(onnx_dir)
        if not is_exported(onnx_dir):
            raise FileNotFoundError(f"No int8 ONNX export at {onnx_dir}; run export_int8 first.")
        info = _read_json(onnx_dir / INFO_FILE)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or _available_cores()
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(onnx_dir / ONNX_FILE), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self.session.get_inputs()}
        self.tokenizer = AutoTokenizer.from_pretrained(str(onnx_dir))
        st_cfg = _read_json(onnx_dir / "sentence_bert_config.json")
        self.max_seq_length = int(st_cfg.get("max_seq_length") or 512)
        self.prompts: dict[str, str] = _read_json(onnx_dir / "config_sentence_transformers.json").get("prompts") or {}
        self.batch_size = batch_size
        self.dimension = int(info["hidden_size"])

    def encode(
        self,
        texts: Sequence[str],
        prompt: str | None = None,
        *,
        prompt_name: str | None = None,
        batch_size: int | None = None,
    ) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text, in input order.

        `prompt` is a literal prefix ("passage: "); `prompt_name` looks one up in the model's prompts.
        """
        if prompt is None and prompt_name is not None:
            prompt = self.prompts[prompt_name]
        texts = [(prompt or "") + t for t in texts]
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        size = batch_size or self.batch_size
        # Longest first, as sentence-transformers does: similar lengths share a batch, so
        # little compute goes to padding. Rows are written back to their original positions.
        order = np.argsort([-len(t) for t in texts], kind="stable")
        for start in range(0, len(texts), size):
            idx = order[start : start + size]
            batch = self.tokenizer(
                [texts[i] for i in idx],
                padding=True,
                truncation=True,
                max_length=self.max_seq_length,
                return_tensors="np",
            )
            mask = batch["attention_mask"].astype(np.int64)
            feed = {"input_ids": batch["input_ids"].astype(np.int64), "attention_mask": mask}
            hidden = self.session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            out[idx] = pooled / norms
        return out
