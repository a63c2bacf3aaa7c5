"""Shared fixtures: one starter KB per test session (building it takes a few seconds)."""

from __future__ import annotations

import pytest

from consult.kb.build import build_kb
from consult.kb.store import KnowledgeBase


@pytest.fixture(scope="session")
def kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    path = tmp_path_factory.mktemp("extract_kb") / "kb.sqlite"
    build_kb(path)
    return KnowledgeBase(path)
