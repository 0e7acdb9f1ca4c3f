"""Sentence embeddings: resolve the configured model, then encode queries and passages.

Query/passage prefixes come from the model's own `prompts` (config_sentence_transformers.json),
so e5's "query: "/"passage: " are applied for e5 and nothing is assumed for other models.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rag.config import DEFAULT_MODEL, Settings

QUERY_PROMPT_NAMES = ("query",)
PASSAGE_PROMPT_NAMES = ("passage", "document", "corpus")


class ModelUnavailableError(RuntimeError):
    """The embedding model cannot be found or loaded; the message says what to do."""


def default_model_path(settings: Settings) -> Path:
    return Path(settings.models_dir) / DEFAULT_MODEL


def resolve_model(settings: Settings, *, build_if_missing: bool = True) -> str:
    """Return what to hand to `SentenceTransformer(...)`: a local folder or a hub name."""
    if not settings.uses_default_model:
        return settings.embed_model
    path = default_model_path(settings)
    if not (path / "modules.json").is_file():
        if not build_if_missing:
            raise ModelUnavailableError(
                f"The default embedding model is not built at {path}. Run `rag model build`."
            )
        from rag.embed.build import build_e5_small

        build_e5_small(path)
    return str(path)


EMBED_BACKENDS = ("auto", "onnx-int8", "torch")


def effective_backend(settings: Settings) -> str:
    """`auto` means int8 ONNX for the built-in model (2x faster, cosine >= 0.99 to fp32), torch otherwise."""
    backend = settings.embed_backend
    if backend not in EMBED_BACKENDS:
        raise ModelUnavailableError(f"Unknown embed backend {backend!r}; use one of {', '.join(EMBED_BACKENDS)}.")
    if backend == "auto":
        return "onnx-int8" if settings.uses_default_model else "torch"
    return backend


def onnx_model_path(model_folder: Path) -> Path:
    return model_folder.parent / f"{model_folder.name}-onnx-int8"


QUERY_CACHE = 4096  # question vectors kept (1.5 KB each)


class Embedder:
    """A loaded embedding model with the query/passage split made explicit.

    Two backends: sentence-transformers on torch (fp32, any model), or int8 ONNX Runtime for a
    local model folder (rag/embed_onnx.py), exported once next to the folder.
    """

    def __init__(self, settings: Settings, *, batch_size: int = 32) -> None:
        self.name = settings.embed_model
        self.batch_size = batch_size
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._query_lock = threading.Lock()
        self.backend = effective_backend(settings)
        self.model = None
        self._onnx = None
        name = resolve_model(settings)
        if self.backend == "onnx-int8":
            if not Path(name).is_dir():
                raise ModelUnavailableError(f"The onnx-int8 backend needs a local model folder, not {name!r}.")
            from rag.embed.onnx import OnnxEncoder, export_int8

            self._onnx = OnnxEncoder(export_int8(Path(name), onnx_model_path(Path(name))), batch_size=batch_size)
            prompts = self._onnx.prompts
        else:
            import torch
            from sentence_transformers import SentenceTransformer

            torch.set_num_threads(max(1, torch.get_num_threads()))
            try:
                self.model = SentenceTransformer(name, device="cpu")
            except OSError as exc:
                raise ModelUnavailableError(
                    f"Cannot load embedding model {name!r}: {exc}. Without internet only local folders "
                    "work; set RAG_EMBED_MODEL to a folder, or unset it to use the built-in default "
                    "(`rag model build`)."
                ) from exc
            prompts = getattr(self.model, "prompts", {}) or {}
        self.prompts = dict(prompts)
        self.query_prompt = next((p for p in QUERY_PROMPT_NAMES if p in prompts), None)
        self.passage_prompt = next((p for p in PASSAGE_PROMPT_NAMES if p in prompts), None)

    @property
    def dimension(self) -> int:
        if self._onnx is not None:
            return int(self._onnx.dimension)
        # sentence-transformers 6 renamed the method; keep working with 5.x too.
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        dim = getter()
        assert dim is not None
        return int(dim)

    def encode_passages(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        return self._encode(list(texts), self.passage_prompt, show_progress)

    def encode_query(self, text: str) -> np.ndarray:
        """One question's vector. One ask encodes its question several times (the corpus-wide and the
        in-scope dense rankers, each part, sentence choice) and people repeat questions: the last
        QUERY_CACHE vectors are kept (read-only, shared between sessions)."""
        with self._query_lock:
            cached = self._query_cache.get(text)
            if cached is not None:
                self._query_cache.move_to_end(text)
                return cached
        vector = self._encode([text], self.query_prompt, False)[0]
        vector.setflags(write=False)
        with self._query_lock:
            self._query_cache[text] = vector
            while len(self._query_cache) > QUERY_CACHE:
                self._query_cache.popitem(last=False)
        return vector

    def clear_query_cache(self) -> None:
        """Forget cached question vectors (a benchmark timing the embedding too calls this)."""
        with self._query_lock:
            self._query_cache.clear()

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(list(texts), self.query_prompt, False)

    def _encode(self, texts: list[str], prompt_name: str | None, show_progress: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self._onnx is not None:
            return self._onnx.encode(texts, prompt_name=prompt_name, batch_size=self.batch_size)
        assert self.model is not None
        vectors = self.model.encode(
            texts,
            prompt_name=prompt_name,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
