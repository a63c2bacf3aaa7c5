"""Find the KB for a command: build the starter KB once when there is none, never downgrade.

Library code: what it does is said through ``notify`` (the CLI prints it on stderr), never
printed here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from consult.config import Settings
from consult.errors import KnowledgeBaseError
from consult.kb.store import KnowledgeBase


def _quiet(_message: str) -> None:
    """The default ``notify``: say nothing."""


def ensure_kb(settings: Settings, *, notify: Callable[[str], None] = _quiet) -> KnowledgeBase:
    """Open the configured KB; with none configured or present, build the starter KB first.

    An explicitly configured ``CONSULT_KB_PATH`` that does not exist is an error (a typo should
    not silently give answers from the starter set); only the default location is auto-built.
    A KB at the default location that this version cannot read is rebuilt only when nothing is
    lost (it was a starter KB, or an empty file); a KB built from the CMS files is never
    replaced by the starter set: that is an error that says how to rebuild it.
    """
    path = settings.resolved_kb_path
    if not path.exists():
        if settings.kb_path is not None:
            raise KnowledgeBaseError(
                f"CONSULT_KB_PATH points to {path}, which does not exist. "
                "Build it with `consult kb build --out PATH` or unset CONSULT_KB_PATH."
            )
        notify(f"no knowledge base yet; building the starter KB at {path} ...")
        _build(path)
    try:
        return KnowledgeBase(path)
    except KnowledgeBaseError as exc:
        if settings.kb_path is not None or built_from(path) not in ("starter", "nothing"):
            raise KnowledgeBaseError(
                f"{exc} It is kept as it is (the starter KB would lose what it was built "
                "from): run `consult kb build --from DIR` with the CMS files it was built "
                "from, or `consult kb update` to download the current ones."
            ) from exc
    notify(f"the knowledge base at {path} is a starter KB from an older version; rebuilding "
           "it ...")
    _build(path)
    return KnowledgeBase(path)


def _build(path: Path) -> None:
    """The starter KB at ``path``; the builder is imported only here, since every command
    opens a KB and almost none builds one (its imports cost a start-up about 0.1 s)."""
    from consult.kb.build import build_kb

    build_kb(path)


def built_from(path: Path) -> str:
    """What an existing KB file holds, as far as any version can tell: "starter" (the set the
    project ships), "cms" (built from CMS files), "nothing" (an empty file) or "unknown"."""
    if path.stat().st_size == 0:
        return "nothing"
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'kb_version'").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return "unknown"
    if row is None:
        return "unknown"
    return "starter" if str(row[0]).startswith("starter-") else "cms"
