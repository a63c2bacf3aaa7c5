"""The engine and sessions, and bringing a database to the current schema.

SQLite gets WAL, a busy timeout and foreign keys so the listener, the poller and the web app can
share one file; PostgreSQL needs nothing special. Both hide bound parameters from error messages
and logs (``hide_parameters``): a failed INSERT would otherwise print the patient's mail.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from consult.errors import MissingExtra
from consult.private import private_file

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str) -> Engine:
    """An engine for ``url``; a missing SQLite file is created 0600 (its folder 0700)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            # 0600 whatever the umask: SQLite gives -wal and -shm the database file's mode
            private_file(Path(path))
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    try:
        return create_engine(url, pool_pre_ping=True, hide_parameters=True)
    except ModuleNotFoundError as exc:  # the driver is an extra
        if url.startswith("postgresql"):
            raise MissingExtra("postgres", "psycopg", "A PostgreSQL database") from exc
        raise


def upgrade(engine: Engine) -> None:
    """Run the Alembic migrations up to head on this engine's database."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def session(engine: Engine) -> Session:
    """A session that keeps loaded objects usable after commit."""
    return Session(engine, expire_on_commit=False)
