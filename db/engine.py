"""The engine and sessions, and bringing a database to the current schema.

SQLite gets WAL, a busy timeout and foreign keys so the listener, the poller and the web app can
share one file; PostgreSQL needs nothing special. Both hide bound parameters from error messages
and logs (``hide_parameters``): a failed INSERT would otherwise print the patient's mail.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import event, text
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


_REVISION = re.compile(r'^revision\s*=\s*["\']([^"\']+)["\']', re.M)
_DOWN = re.compile(r'^down_revision\s*=\s*(?:None|["\']([^"\']+)["\'])', re.M)


def code_head() -> str | None:
    """The newest migration's revision, read from the files without Alembic (a few ms against
    ~150 ms for loading Alembic and its scripts); None when the folder is not the plain
    one-line-per-revision chain the fast path understands (then Alembic decides)."""
    revisions: dict[str, str | None] = {}
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        rev, down = _REVISION.findall(source), _DOWN.findall(source)
        if len(rev) != 1 or len(down) != 1:
            return None
        revisions[rev[0]] = down[0] or None
    heads = set(revisions) - set(revisions.values())
    return heads.pop() if len(heads) == 1 else None


def is_current(engine: Engine) -> bool:
    """Whether the database is at this code's one head already (no migration to run)."""
    head = code_head()
    if head is None:
        return False
    try:
        with engine.connect() as conn:
            found = {r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))}
    except Exception:  # no table yet (a new database), or no database: Alembic says why
        return False
    return found == {head}


def upgrade(engine: Engine) -> None:
    """Run the Alembic migrations up to head on this engine's database.

    A database already at head is left alone without loading Alembic: every command calls
    this on start-up, and a `consult poll --once` from cron should not spend its first tenth
    of a second finding out there is nothing to do."""
    if is_current(engine):
        return
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
