"""Shared fixtures: the real default model and one index of the real seeds, built once per session."""

from __future__ import annotations

import os
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest

from rag.config import PROJECT_ROOT, Settings, load_settings

SEEDS = PROJECT_ROOT / "seeds"
# A developer's uploads and feedback (userdata/) must never leak into a test's index: tests and the
# CLI processes they start get empty folders of their own.
USER_DOCS = Path(os.environ.setdefault("RAG_USER_DOCS_DIR", tempfile.mkdtemp(prefix="rag-test-userdocs-")))
os.environ.setdefault("RAG_FEEDBACK_DIR", tempfile.mkdtemp(prefix="rag-test-feedback-"))


@pytest.fixture(scope="session")
def settings() -> Settings:
    # Tests ignore the user's rag.toml and environment overrides: they pin the default model.
    return replace(load_settings(environ={}), embed_model="multilingual-e5-small", docs_dir=SEEDS, user_docs_dir=USER_DOCS,
                   feedback_dir=Path(os.environ["RAG_FEEDBACK_DIR"]))


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
