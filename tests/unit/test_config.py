"""Settings: rag.toml keys and values are checked by name; command-line overrides applied in one place."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import ConfigError, load_settings, with_overrides


def _settings_from(tmp_path: Path, text: str):
    path = tmp_path / "rag.toml"
    path.write_text(text, encoding="utf-8")
    return load_settings(environ={}, config_path=path)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('embed_modle = "x"\n', "'embed_modle'"),  # a typo is refused, not silently ignored
        ('[llm]\nbase_ulr = "http://localhost:11434/v1"\n', "llm.base_ulr"),
        ("index_dir = 3\n", "index_dir"),
        ('embed_backend = "gpu"\n', "embed_backend"),
        ('embed_model = ""\n', "embed_model"),
        ('llm = "http://x"\n', "[llm]"),
        ("index_dir = [\n", "Cannot read config file"),
    ],
)
def test_bad_config_is_refused_with_the_key_named(tmp_path, text, named):
    with pytest.raises(ConfigError, match=named.replace("[", r"\[").replace("]", r"\]")):
        _settings_from(tmp_path, text)


def test_good_config_and_environment_and_overrides(tmp_path):
    settings = _settings_from(tmp_path, 'index_dir = "~/idx"\n[llm]\nbase_url = "http://localhost:8000/v1"\nmodel = "qwen"\n')
    assert settings.index_dir == Path("~/idx").expanduser()
    assert settings.llm_enabled
    env = load_settings(environ={"RAG_INDEX_DIR": str(tmp_path / "e"), "RAG_EMBED_BACKEND": "torch"},
                        config_path=tmp_path / "missing.toml")
    assert env.index_dir == tmp_path / "e" and env.embed_backend == "torch"
    with pytest.raises(ConfigError, match="embed_backend"):
        load_settings(environ={"RAG_EMBED_BACKEND": "cuda"}, config_path=tmp_path / "missing.toml")
    moved = with_overrides(env, index=tmp_path / "i", docs=tmp_path / "d")
    assert (moved.index_dir, moved.docs_dir) == (tmp_path / "i", tmp_path / "d")
    assert with_overrides(env) is env
