"""Shared fixtures: the starter KB (tests/conftest.py builds it once per test run)."""

from __future__ import annotations

import pytest

from consult.kb.store import KnowledgeBase


@pytest.fixture(scope="session")
def kb(starter_kb: KnowledgeBase) -> KnowledgeBase:
    return starter_kb
