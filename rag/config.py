"""Settings: defaults, overridden by `rag.toml`, overridden by environment variables.

| setting      | rag.toml key   | environment          | default                      |
|--------------|----------------|----------------------|------------------------------|
| embed model  | embed_model    | RAG_EMBED_MODEL      | multilingual-e5-small (built offline into models/) |
| embed backend| embed_backend  | RAG_EMBED_BACKEND    | auto: onnx-int8 for the built-in model, torch otherwise; "torch" keeps fp32 |
| models dir   | models_dir     | RAG_MODELS_DIR       | <project>/models             |
| documents    | docs_dir       | RAG_DOCS_DIR         | <project>/seeds              |
| index        | index_dir      | RAG_INDEX_DIR        | <project>/index              |
| LLM endpoint | llm.base_url   | RAG_LLM_BASE_URL     | none (extractive answers)    |
| LLM model    | llm.model      | RAG_LLM_MODEL        |                              |
| LLM key      | llm.api_key    | RAG_LLM_API_KEY      |                              |

`rag.toml` is read from the current directory, or from the path in RAG_CONFIG.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, replace
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
    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key: str = ""

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
    "llm_base_url": "RAG_LLM_BASE_URL",
    "llm_model": "RAG_LLM_MODEL",
    "llm_api_key": "RAG_LLM_API_KEY",
}
_PATHS = {"models_dir", "docs_dir", "index_dir"}


class ConfigError(ValueError):
    pass


def _from_toml(path: Path) -> dict[str, object]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"Cannot read config file {path}: {exc}") from exc
    flat: dict[str, object] = {k: v for k, v in data.items() if k in _ENV and k not in {"llm"}}
    for key, value in (data.get("llm") or {}).items():
        flat[f"llm_{key}"] = value
    unknown = set(flat) - set(_ENV)
    if unknown:
        raise ConfigError(f"Unknown settings in {path}: {', '.join(sorted(unknown))}")
    return flat


def load_settings(environ: dict[str, str] | None = None, config_path: Path | None = None) -> Settings:
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    path = config_path or Path(env.get("RAG_CONFIG", "rag.toml"))
    if path.is_file():
        values.update(_from_toml(path))
    for key, var in _ENV.items():
        if env.get(var):
            values[key] = env[var]
    for key in _PATHS & values.keys():
        values[key] = Path(str(values[key])).expanduser()
    return replace(Settings(), **values)  # type: ignore[arg-type]
