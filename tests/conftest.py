"""Shared fixtures: the starter KB (built once per worker), settings, databases, servers.

Server fixtures (Dovecot, SMTP sink, PostgreSQL) live in tests/support/servers.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from consult.config import Settings
from consult.kb.store import KnowledgeBase

pytest_plugins = ["support.servers"]


@pytest.fixture(scope="session")
def starter_kb_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The starter KB, built once per test worker."""
    from consult.kb.build import build_kb

    path = tmp_path_factory.mktemp("kb") / "kb.sqlite"
    build_kb(path)
    return path


@pytest.fixture(scope="session")
def starter_kb(starter_kb_path: Path) -> KnowledgeBase:
    return KnowledgeBase(starter_kb_path)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Run the test once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'consult.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def make_settings(tmp_path: Path, starter_kb_path: Path) -> Callable[..., Settings]:
    """Settings isolated in tmp_path, using the shared starter KB unless told otherwise."""

    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "home": tmp_path / "home",
            "kb_path": starter_kb_path,
            "from_address": "consult@consult.test",
        }
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]

    return make


@pytest.fixture
def engine_for() -> Iterator[Callable[[str], object]]:
    """Migrated engines for database URLs, disposed after the test."""
    from db.engine import make_engine, upgrade

    engines = []

    def make(url: str):  # type: ignore[no-untyped-def]
        engine = make_engine(url)
        upgrade(engine)
        engines.append(engine)
        return engine

    yield make
    for e in engines:
        e.dispose()
