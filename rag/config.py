"""Settings: defaults, overridden by `rag.toml`, overridden by environment variables.

| setting      | rag.toml key   | environment          | default                      |
|--------------|----------------|----------------------|------------------------------|
| embed model  | embed_model    | RAG_EMBED_MODEL      | multilingual-e5-small (built offline into models/) |
| embed backend| embed_backend  | RAG_EMBED_BACKEND    | auto: onnx-int8 for the built-in model, torch otherwise; "torch" keeps fp32 |
| models dir   | models_dir     | RAG_MODELS_DIR       | <project>/models             |
| documents    | docs_dir       | RAG_DOCS_DIR         | <project>/seeds              |
| index        | index_dir      | RAG_INDEX_DIR        | <project>/index              |
| user docs    | user_docs_dir  | RAG_USER_DOCS_DIR    | <project>/userdata/documents (app uploads; indexed with docs_dir) |
| feedback     | feedback_dir   | RAG_FEEDBACK_DIR     | <project>/userdata/feedback (the app's 👍/👎 log, JSONL) |
| search backend | backend      | RAG_BACKEND          | local (FAISS + sparse matrices in index_dir); milvus (docs/scale-out.md) |
| Milvus       | milvus_uri     | RAG_MILVUS_URI       | <project>/milvus.db (milvus-lite); "http://host:19530" for a server |
| LLM endpoint | llm.base_url   | RAG_LLM_BASE_URL     | none (extractive answers)    |
| LLM model    | llm.model      | RAG_LLM_MODEL        |                              |
| LLM key      | llm.api_key    | RAG_LLM_API_KEY      |                              |

`rag.toml` is read from the current directory, or from the path in RAG_CONFIG.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = "multilingual-e5-small"


@dataclass(frozen=True)
class Settings:
    embed_model: str = DEFAULT_MODEL
    embed_backend: str = "auto"
    models_dir: Path = PROJECT_ROOT / "models"
    docs_dir: Path = PROJECT_ROOT / "seeds"
    index_dir: Path = PROJECT_ROOT / "index"
    # Uploads from the app live apart from the git-tracked seeds/, so an upload never overwrites a seed;
    # `build` indexes them together with docs_dir. userdata/ is git-ignored.
    user_docs_dir: Path = PROJECT_ROOT / "userdata" / "documents"
    feedback_dir: Path = PROJECT_ROOT / "userdata" / "feedback"
    # Where ranked search runs: "local" (the build's FAISS index and sparse BM25 matrices, the default) or
    # "milvus" (one collection per index at milvus_uri: a milvus-lite .db path, or http(s)://host:port).
    backend: str = "local"
    milvus_uri: str = str(PROJECT_ROOT / "milvus.db")
    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key: str = field(default="", repr=False)  # never printed with the settings

    @property
    def uses_default_model(self) -> bool:
        return self.embed_model == DEFAULT_MODEL

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)


_ENV = {
    "embed_model": "RAG_EMBED_MODEL",
    "embed_backend": "RAG_EMBED_BACKEND",
    "models_dir": "RAG_MODELS_DIR",
    "docs_dir": "RAG_DOCS_DIR",
    "index_dir": "RAG_INDEX_DIR",
    "user_docs_dir": "RAG_USER_DOCS_DIR",
    "feedback_dir": "RAG_FEEDBACK_DIR",
    "backend": "RAG_BACKEND",
    "milvus_uri": "RAG_MILVUS_URI",
    "llm_base_url": "RAG_LLM_BASE_URL",
    "llm_model": "RAG_LLM_MODEL",
    "llm_api_key": "RAG_LLM_API_KEY",
}
_PATHS = {"models_dir", "docs_dir", "index_dir", "user_docs_dir", "feedback_dir"}


_BACKENDS = ("auto", "onnx-int8", "torch")
SEARCH_BACKENDS = ("local", "milvus")
MILVUS_SERVER_SCHEMES = ("http://", "https://", "tcp://")
_LLM_KEYS = {"base_url", "model", "api_key"}


class ConfigError(ValueError):
    pass


def _from_toml(path: Path) -> dict[str, object]:
    """The settings of a rag.toml, refusing unknown keys and values of the wrong type by name."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"Cannot read config file {path}: {exc}") from exc
    flat: dict[str, object] = {}
    for key, value in data.items():
        if key == "llm":
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: [llm] must be a table with {', '.join(sorted(_LLM_KEYS))}.")
            for sub, sub_value in value.items():
                if sub not in _LLM_KEYS:
                    raise ConfigError(f"{path}: unknown setting llm.{sub} (known: {', '.join(sorted(_LLM_KEYS))}).")
                flat[f"llm_{sub}"] = sub_value
        elif key in _ENV:
            flat[key] = value
        else:
            known = ", ".join(sorted([*_ENV.keys() - {f"llm_{k}" for k in _LLM_KEYS}, "llm"]))
            raise ConfigError(f"{path}: unknown setting {key!r} (known: {known}).")
    for key, value in flat.items():
        shown = key.replace("llm_", "llm.", 1) if key.startswith("llm_") else key
        if not isinstance(value, str):
            raise ConfigError(f"{path}: {shown} must be a text value in quotes, got {value!r}.")
        if key in {"embed_model", "embed_backend", "backend", "milvus_uri", *_PATHS} and not value.strip():
            raise ConfigError(f"{path}: {shown} must not be empty.")
    return flat


def _validate(values: dict[str, object], where: str) -> None:
    backend = values.get("embed_backend")
    if backend is not None and backend not in _BACKENDS:
        raise ConfigError(f"{where}: embed_backend must be one of {', '.join(_BACKENDS)}, got {backend!r}.")
    search_backend = values.get("backend")
    if search_backend is not None and search_backend not in SEARCH_BACKENDS:
        raise ConfigError(f"{where}: backend must be one of {', '.join(SEARCH_BACKENDS)}, got {search_backend!r}.")
    uri = values.get("milvus_uri")
    # pymilvus opens milvus-lite only for a path ending in .db; anything else must name a server.
    if isinstance(uri, str) and not (uri.startswith(MILVUS_SERVER_SCHEMES) or uri.endswith(".db")):
        raise ConfigError(f"{where}: milvus_uri must be a milvus-lite file ending in .db (e.g. \"./milvus.db\") or a "
                          f"server address starting with {', '.join(MILVUS_SERVER_SCHEMES)}, got {uri!r}.")


def load_settings(environ: dict[str, str] | None = None, config_path: Path | None = None) -> Settings:
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    path = config_path or Path(env.get("RAG_CONFIG", "rag.toml"))
    if path.is_file():
        values.update(_from_toml(path))
        _validate(values, str(path))
    for key, var in _ENV.items():
        if env.get(var):
            values[key] = env[var]
    _validate(values, "environment")
    for key in _PATHS & values.keys():
        values[key] = Path(str(values[key])).expanduser()
    return replace(Settings(), **values)  # type: ignore[arg-type]


def with_overrides(settings: Settings, *, index: str | Path | None = None, docs: str | Path | None = None) -> Settings:
    """The one place command-line options (--index, --docs) override the settings."""
    changes: dict[str, Path] = {}
    if index:
        changes["index_dir"] = Path(index).expanduser()
    if docs:
        changes["docs_dir"] = Path(docs).expanduser()
    return replace(settings, **changes) if changes else settings
