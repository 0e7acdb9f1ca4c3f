"""Shared fixtures: the real default model and one index of the real seeds, built once per session."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from rag.config import PROJECT_ROOT, Settings, load_settings

SEEDS = PROJECT_ROOT / "seeds"


@pytest.fixture(scope="session")
def settings() -> Settings:
    # Tests ignore the user's rag.toml and environment overrides: they pin the default model.
    return replace(load_settings(environ={}), embed_model="multilingual-e5-small", docs_dir=SEEDS)


@pytest.fixture(scope="session")
def embedder(settings):
    from rag.embed.model import Embedder

    return Embedder(settings)


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory, settings, embedder) -> Path:
    from rag.engine import build

    index_dir = tmp_path_factory.mktemp("seed-index")
    build(settings, docs_dir=SEEDS, index_dir=index_dir, embedder=embedder)
    return index_dir


@pytest.fixture(scope="session")
def engine(settings, seed_index, embedder):
    from rag.engine import Engine

    return Engine(settings, index_dir=seed_index, embedder=embedder)


def pytest_collection_modifyitems(items) -> None:
    """Tests under tests/integration load the real model or build an index: mark them, so that
    `pytest tests/unit` (or `-m "not integration"`) checks one stage in seconds."""
    for item in items:
        if "integration" in Path(str(item.fspath)).parts:
            item.add_marker(pytest.mark.integration)
