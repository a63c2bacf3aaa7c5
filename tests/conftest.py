"""Shared fixtures: the knowledge bases (built once per test run, shared by the xdist workers),
settings, databases, servers; and the markers, applied from the fixtures a test uses.

Server fixtures (Dovecot, SMTP sink, PostgreSQL) live in tests/support/servers.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.paths import CMS
from support.shared import built_once

from consult.config import Settings
from consult.kb.store import KnowledgeBase

pytest_plugins = ["support.servers"]

#: A test using one of these fixtures gets the marker (so `-m "not postgres"` and friends work
#: without anyone remembering to mark a test).
FIXTURE_MARKERS = {
    "pg_url": "postgres",
    "pg_databases": "postgres",
    "dovecot": "dovecot",
    "dovecots": "dovecot",
    "browser": "browser",
    "real_kb": "slow",
    "mcd_kb": "slow",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("db_url") == "postgres":
            names.add("pg_url")
        for marker in sorted({FIXTURE_MARKERS[n] for n in names & FIXTURE_MARKERS.keys()}):
            item.add_marker(marker)


@pytest.fixture(scope="session")
def starter_kb_path(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """The starter KB, built once per test run."""
    from consult.kb.build import build_kb

    return built_once(tmp_path_factory, worker_id, "starter-kb.sqlite", build_kb)


@pytest.fixture(scope="session")
def starter_kb(starter_kb_path: Path) -> KnowledgeBase:
    return KnowledgeBase(starter_kb_path)


@pytest.fixture(scope="session")
def real_kb(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> KnowledgeBase:
    """A KB built from every real CMS file in ../shared/data/cms (the complete 2.5-million-row
    practitioner PTP table too), once per test run: the slowest fixture of the suite."""
    from support.servers import require

    from consult.kb.build import build_kb

    if not CMS.is_dir():
        require(False, f"the CMS files at {CMS}")
    path = built_once(tmp_path_factory, worker_id, "real-kb.sqlite",
                      lambda out: build_kb(out, sources_dir=CMS))
    return KnowledgeBase(path)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Run the test once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'consult.db'}"
    return request.getfixturevalue("pg_url")  # type: ignore[no-any-return]


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
