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

Start-up is part of the design (a cold `rag search` is timed end to end): nothing here imports torch
or transformers unless a model is exported; the weights sit outside the ONNX graph so they are
memory-mapped, not parsed; texts are tokenized by the `tokenizers` package directly, and a single
question by `QueryTokenizer`, which gives the same ids without building the 250k-piece model.
`OnnxEncoder` runs one inference at a time per process, so concurrent sessions queue instead of
oversubscribing the cores.
"""

from __future__ import annotations

import contextlib
import contextvars
import heapq
import json
import os
import shutil
import tempfile
import threading
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rag.embed.build import publish_folder

ONNX_FILE = "model_int8.onnx"
WEIGHTS_FILE = "model_int8.weights"  # the graph's tensors, outside the protobuf so they are memory-mapped
INFO_FILE = "onnx_info.json"
# 2: tensors in WEIGHTS_FILE. Most of the model is the 250k x 384 fp32 word-embedding table (~380 MB);
# inside the protobuf it is parsed and copied at every start (~1.5 s), as external data ONNX Runtime
# maps it and pages in only the rows a text uses (~0.1 s). A format-1 folder is converted in place.
FORMAT_VERSION = 2
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
    out_dir = Path(out_dir)
    return (info.get("format") == FORMAT_VERSION and (out_dir / ONNX_FILE).is_file()
            and (out_dir / WEIGHTS_FILE).is_file())


def _save_with_external_weights(model_path: Path, folder: Path) -> None:
    """Rewrite the ONNX file at `model_path` as a small graph in `folder` plus WEIGHTS_FILE.

    Both are written under temporary names and renamed into place (weights first: the old graph
    does not refer to them), so a process killed half-way leaves a folder that still loads.
    """
    import onnx

    model = onnx.load(str(model_path))  # also reads weights an earlier run already externalised
    tag = f".tmp-{os.getpid()}-{os.urandom(3).hex()}"
    tmp_graph, tmp_weights = folder / (ONNX_FILE + tag), folder / (WEIGHTS_FILE + tag)
    try:
        onnx.save_model(model, str(tmp_graph), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=tmp_weights.name, size_threshold=1024)
        del model
        # The graph names its weights file: point it at the final name before renaming.
        graph = onnx.load(str(tmp_graph), load_external_data=False)
        for tensor in graph.graph.initializer:
            for entry in tensor.external_data:
                if entry.key == "location":
                    entry.value = WEIGHTS_FILE
        onnx.save_model(graph, str(tmp_graph))
        tmp_weights.chmod(0o644)  # onnx creates it private; the model folder is readable like the rest
        os.replace(tmp_weights, folder / WEIGHTS_FILE)
        os.replace(tmp_graph, folder / ONNX_FILE)
    finally:
        tmp_graph.unlink(missing_ok=True)
        tmp_weights.unlink(missing_ok=True)


def _upgrade_format_1(out_dir: Path) -> bool:
    """Convert a complete format-1 export in place (seconds, no torch); False if there is none."""
    info = _read_json(out_dir / INFO_FILE)
    if info.get("format") != 1 or not (out_dir / ONNX_FILE).is_file():
        return False
    try:
        _save_with_external_weights(out_dir / ONNX_FILE, out_dir)
        info["format"] = FORMAT_VERSION
        tmp = out_dir / f".{INFO_FILE}.tmp-{os.getpid()}"
        tmp.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, out_dir / INFO_FILE)
    except OSError:
        return False  # e.g. a read-only models folder: export afresh elsewhere is not possible either
    return is_exported(out_dir)


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
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    if not force and (is_exported(out_dir) or _upgrade_format_1(out_dir)):
        return out_dir  # checked before the heavy imports below: a search must not pay for them
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

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
            str(work / "int8.onnx"),
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul", "Attention"],
            per_channel=True,
            reduce_range=True,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
        _save_with_external_weights(work / "int8.onnx", staging)
        shutil.rmtree(work)
        for name in _COPIED:
            if (model_dir / name).is_file():
                shutil.copyfile(model_dir / name, staging / name)
        if (staging / "tokenizer.json").is_file():
            with contextlib.suppress(ValueError):  # not a Unigram tokenizer: questions use the full one
                QueryTokenizer.prepare(staging / "tokenizer.json", staging / QUERY_VOCAB)
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


# When the request an inference belongs to began (a chat answer makes several: its question, each
# part, sentence choice). Set by whoever serves requests (Engine.ask); unset, a call is its own request.
request_started: contextvars.ContextVar[float | None] = contextvars.ContextVar("request_started", default=None)


@contextlib.contextmanager
def one_request():
    """Mark the inferences made inside as one request's, begun now (see `FairLock`)."""
    token = request_started.set(time.monotonic()) if request_started.get() is None else None
    try:
        yield
    finally:
        if token is not None:
            request_started.reset(token)


class FairLock:
    """A lock granted to the oldest request first, and in arrival order within a request's age.

    `threading.Lock` lets a thread that just released it take it again at once, so under load some
    sessions wait many turns. Arrival order (FIFO) fixes that for one inference per answer, but an
    answer that needs three inferences would queue behind every other session three times; serving
    the oldest request first lets an answer that is already under way finish, which bounds the tail.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._waiting: list[tuple[float, int]] = []  # heap of (request began, arrival ticket)
        self._next_ticket = 0
        self._held = False

    def __enter__(self) -> FairLock:
        began = request_started.get()
        with self._cond:
            entry = (time.monotonic() if began is None else began, self._next_ticket)
            self._next_ticket += 1
            heapq.heappush(self._waiting, entry)
            while self._held or self._waiting[0] != entry:
                self._cond.wait()
            heapq.heappop(self._waiting)
            self._held = True
        return self

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self._held = False
            self._cond.notify_all()


def load_tokenizer(folder: Path, max_length: int):
    """The model's fast tokenizer (`tokenizer.json`) through the `tokenizers` package directly.

    `transformers.AutoTokenizer` would give the same ids, but importing it pulls in torch
    (seconds at start-up, hundreds of MB); this is what makes a cold `rag search` quick. Set up
    like `AutoTokenizer(...)(texts, padding=True, truncation=True, max_length=max_length)`:
    truncation to `max_length` tokens with the special tokens, padding to the longest in a batch.
    """
    from tokenizers import Tokenizer

    path = Path(folder) / "tokenizer.json"
    if not path.is_file():
        raise FileNotFoundError(f"No tokenizer.json in {folder}: re-export the ONNX model (`rag model build`).")
    tokenizer = Tokenizer.from_file(str(path))
    special = {**_read_json(Path(folder) / "special_tokens_map.json"), **_read_json(Path(folder) / "tokenizer_config.json")}
    pad = special.get("pad_token", "<pad>")
    pad = pad.get("content", "<pad>") if isinstance(pad, dict) else pad
    pad_id = tokenizer.token_to_id(pad)
    if pad_id is None:
        raise FileNotFoundError(f"The tokenizer in {folder} has no padding token {pad!r}.")
    tokenizer.enable_truncation(max_length=max_length)
    tokenizer.enable_padding(pad_id=pad_id, pad_token=pad)
    return tokenizer


QUERY_VOCAB = "query_vocab"  # folder of the derived files QueryTokenizer maps (written on first use)
QUERY_VOCAB_VERSION = 2
_SPECIAL_IDS = 4  # <s> <pad> </s> <unk>: XLM-R's first ids, kept at the same place in every small vocabulary


class QueryTokenizer:
    """A short text's token ids, exactly as the full tokenizer gives them, without loading it.

    Building the full tokenizer means building a 250k-piece Unigram model (~0.6 s CPU) — a third of
    a cold `rag search`, for one question. Unigram segmentation of a word only ever uses pieces that
    are substrings of it, so the question's substrings (up to the longest piece) are looked up in a
    memory-mapped sorted piece table, and a Unigram of just those pieces (plus the lowest-scoring
    piece, which sets the unknown-character penalty, and the special tokens at their usual ids) is
    built in a millisecond; its ids are mapped back. Normaliser, pre-tokeniser and post-processor
    are the full tokenizer's own. `encode` returns None where it does not apply (long text, text that
    could hold a special-token literal), and the caller uses the full tokenizer.
    """

    MAX_CHARS = 400

    def __init__(self, folder: Path, max_length: int) -> None:
        from tokenizers import Tokenizer

        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        self.skeleton = json.dumps(meta["skeleton"])
        self.fixed: list[tuple[str, float]] = [tuple(p) for p in meta["fixed"]]  # type: ignore[misc]
        self.fixed_ids: list[int] = meta["fixed_ids"]
        self.longest = int(meta["longest"])
        self.literals: list[str] = meta["literals"]  # special tokens the tokenizer finds in raw text
        self.pieces = np.load(folder / "pieces.npy", mmap_mode="r")  # sorted
        self.ids = np.load(folder / "ids.npy", mmap_mode="r")  # global id of each sorted piece
        self.scores = np.load(folder / "scores.npy", mmap_mode="r")  # by global id
        self.max_length = max_length
        self._base = Tokenizer.from_str(self.skeleton)
        self._local = threading.local()  # one reusable tokenizer per thread: its model is swapped per text

    @staticmethod
    def prepare(tokenizer_json: Path, folder: Path) -> None:
        """Write the derived files for `tokenizer_json` into `folder` (atomically), or raise ValueError."""
        data = json.loads(tokenizer_json.read_text(encoding="utf-8"))
        model = data.get("model") or {}
        vocab = model.get("vocab")
        if model.get("type") != "Unigram" or model.get("byte_fallback") or not isinstance(vocab, list):
            raise ValueError("only byte-level-free Unigram tokenizers are supported")
        if model.get("unk_id") != 3 or [p for p, _ in vocab[:_SPECIAL_IDS]] != ["<s>", "<pad>", "</s>", "<unk>"]:
            raise ValueError("not an XLM-R style vocabulary")
        pieces = np.array([p for p, _ in vocab])
        if len(set(vocab_piece for vocab_piece, _ in vocab)) != len(vocab) or any("\0" in p for p, _ in vocab):
            raise ValueError("vocabulary pieces are not unique plain strings")
        scores = np.array([s for _, s in vocab], dtype=np.float64)
        order = np.argsort(pieces, kind="stable")
        lowest = int(np.argmin(scores))
        skeleton = dict(data, model={**model, "vocab": vocab[:_SPECIAL_IDS]})
        skeleton["added_tokens"] = [t for t in data.get("added_tokens") or [] if t.get("id", 99) < _SPECIAL_IDS]
        skeleton["truncation"] = skeleton["padding"] = None
        fixed_ids = [*range(_SPECIAL_IDS), lowest]
        literals = sorted({t["content"] for t in data.get("added_tokens") or [] if t.get("content")})
        meta = {"skeleton": skeleton, "fixed": [vocab[i] for i in fixed_ids], "fixed_ids": fixed_ids, "literals": literals,
                "longest": int(pieces.dtype.itemsize // 4), "source": _stamp(tokenizer_json),
                "version": QUERY_VOCAB_VERSION}
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
        try:
            np.save(staging / "pieces.npy", pieces[order])
            np.save(staging / "ids.npy", order.astype(np.int32))
            np.save(staging / "scores.npy", scores)
            (staging / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
            staging.chmod(0o755)
            shutil.rmtree(folder, ignore_errors=True)
            os.replace(staging, folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def encode(self, text: str) -> list[int] | None:
        from tokenizers.models import Unigram

        if len(text) > self.MAX_CHARS or any(literal in text for literal in self.literals):
            return None
        words = [w for w, _ in self._base.pre_tokenizer.pre_tokenize_str(self._base.normalizer.normalize_str(text))]
        substrings = sorted({w[i:j] for w in words for i in range(len(w))
                             for j in range(i + 1, min(len(w), i + self.longest) + 1)})
        local_ids = list(self.fixed_ids)
        vocab = list(self.fixed)
        if substrings:
            wanted = np.array(substrings)
            at = np.minimum(np.searchsorted(self.pieces, wanted), len(self.pieces) - 1)
            hit = self.pieces[at] == wanted
            for piece, gid in zip(wanted[hit].tolist(), self.ids[at[hit]].tolist(), strict=True):
                if gid not in self.fixed_ids:
                    local_ids.append(int(gid))
                    vocab.append((piece, float(self.scores[gid])))
        tokenizer = getattr(self._local, "tokenizer", None)
        if tokenizer is None:
            tokenizer = self._local.tokenizer = self._base.from_str(self.skeleton)
        tokenizer.model = Unigram(vocab, 3, False)
        ids = [local_ids[i] for i in tokenizer.encode(text).ids]
        return ids if len(ids) <= self.max_length else None


def _stamp(path: Path) -> dict:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def load_query_tokenizer(onnx_dir: Path, max_length: int) -> QueryTokenizer | None:
    """The QueryTokenizer for the export at `onnx_dir`, preparing its files once; None where it cannot."""
    folder = Path(onnx_dir) / QUERY_VOCAB
    source = Path(onnx_dir) / "tokenizer.json"
    try:
        meta = _read_json(folder / "meta.json") if (folder / "meta.json").is_file() else {}
        if meta.get("source") != _stamp(source) or meta.get("version") != QUERY_VOCAB_VERSION:
            QueryTokenizer.prepare(source, folder)
        return QueryTokenizer(folder, max_length)
    except Exception:  # noqa: BLE001 - an optimisation only: any failure means the full tokenizer
        return None


class OnnxEncoder:
    """Encodes texts with an `export_int8` folder; output matches the fp32 model (cosine > 0.99).

    Thread-safe, and one inference at a time per process: concurrent callers (chat sessions of
    the app, the load test) queue on a lock instead of each starting ONNX Runtime's intra-op
    threads on the same cores. Oversubscribed, a 5 ms query took seconds in the tail; queued, each
    runs at full speed in turn.
    """

    def __init__(self, onnx_dir: Path, *, threads: int | None = None, batch_size: int = 32) -> None:
        import onnxruntime as ort

        onnx_dir = Path(onnx_dir)
        if not is_exported(onnx_dir):
            raise FileNotFoundError(f"No int8 ONNX export at {onnx_dir}; run export_int8 first.")
        info = _read_json(onnx_dir / INFO_FILE)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or _available_cores()
        options.inter_op_num_threads = 1
        # Idle intra-op threads would spin-wait for the next piece of work, burning the cores other
        # sessions' BM25 and Python code need; they sleep instead.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(onnx_dir / ONNX_FILE), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self.session.get_inputs()}
        st_cfg = _read_json(onnx_dir / "sentence_bert_config.json")
        self.max_seq_length = int(st_cfg.get("max_seq_length") or 512)
        self.onnx_dir = onnx_dir
        self._tokenizer = None  # the full tokenizer, built on first need (passages, long questions)
        self._tokenizer_lock = threading.Lock()
        self.query_tokenizer = load_query_tokenizer(onnx_dir, self.max_seq_length)
        self.prompts: dict[str, str] = _read_json(onnx_dir / "config_sentence_transformers.json").get("prompts") or {}
        self.batch_size = batch_size
        self.dimension = int(info["hidden_size"])
        self._run_lock = FairLock()

    @property
    def tokenizer(self):
        with self._tokenizer_lock:
            if self._tokenizer is None:
                self._tokenizer = load_tokenizer(self.onnx_dir, self.max_seq_length)
            return self._tokenizer

    def _ids(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(input_ids, attention_mask) of one batch, padded to its longest text.

        A single short text (a question) goes through the QueryTokenizer: no 0.6 s load, ~2 ms a
        text. Loading the full tokenizer later, in the background, was tried: it holds the GIL for
        that 0.6 s and every session waiting meanwhile got a 2.6 s answer. Batches and long texts
        (building an index) use the full tokenizer, loaded on first need.
        """
        if len(texts) == 1 and self.query_tokenizer is not None:
            ids = self.query_tokenizer.encode(texts[0])
            if ids is not None:
                row = np.array([ids], dtype=np.int64)
                return row, np.ones_like(row)
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        return ids, np.array([e.attention_mask for e in encodings], dtype=np.int64)

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
            ids, mask = self._ids([texts[i] for i in idx])
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            with self._run_lock:
                hidden = self.session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            out[idx] = pooled / norms
        return out
