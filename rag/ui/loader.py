"""The engine behind the app, reloaded when a new index build goes live.

The embedding model loads once per process; the index is keyed by the live build folder's name (the
index's CURRENT pointer), so a `rag index build` from the command line — or a rebuild from the
documents page — is picked up by the next question without restarting the app. The manifest is read
on its own (milliseconds) so the page can be drawn before the engine has loaded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from rag.config import Settings
from rag.embed.model import Embedder
from rag.engine import Engine
from rag.index.store import IndexUnavailableError, live_build
from rag.records import Fact


@dataclass(frozen=True)
class LiveIndex:
    build: str  # name of the live build folder ("" when there is none)
    manifest: dict


def live_index(settings: Settings) -> LiveIndex:
    """The live build's name and manifest, read fresh at every rerun (one small file)."""
    build = live_build(Path(settings.index_dir))
    if build is None or not build.is_dir():
        return LiveIndex("", {})
    try:
        manifest = json.loads((build / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return LiveIndex(build.name, {})
    return LiveIndex(build.name, manifest if isinstance(manifest, dict) else {})


# Leading underscores: Streamlit does not hash those arguments; the cache keys are the plain strings.
@st.cache_resource(show_spinner=False, max_entries=1)
def _embedder(_settings: Settings, model: str, backend: str) -> Embedder:
    return Embedder(_settings)


@st.cache_resource(show_spinner=False, max_entries=2)
def _engine(_settings: Settings, index_dir: str, build: str) -> Engine:
    """One engine per live build; the previous one is kept while sessions may still show its answers."""
    embedder = _embedder(_settings, _settings.embed_model, _settings.embed_backend)
    engine = Engine(_settings, index_dir=Path(index_dir), embedder=embedder)
    engine.warm_up_for_sessions()
    return engine


# The facts of each loaded build, for example questions drawn before a session's engine is at hand.
_FACTS: dict[str, list[Fact]] = {}


def get_engine(settings: Settings, build: str) -> Engine:
    if not build:
        raise IndexUnavailableError(f"No index found in {settings.index_dir}.")
    engine = _engine(settings, str(settings.index_dir), build)
    _FACTS[build] = engine.facts
    return engine


def known_facts(build: str) -> list[Fact]:
    return _FACTS.get(build, [])
