"""``db.bulk.CopyWriter`` (the chunk's writes on PostgreSQL) writes what the Core inserts write.

The same rows and ids as ``insert(table).returning(id, sort_by_parameter_order=True)`` and a
plain executemany, bind processing and Python-side defaults included; values binary COPY
would take differently go the Core way (with its errors); a failed COPY names no value.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Table, insert, text
from sqlalchemy.exc import DataError

from db.bulk import CopyWriter
from db.engine import session
from db.models import AuditEvent, Case, Message

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
CASES: Table = Case.__table__  # type: ignore[attr-defined]
MESSAGES: Table = Message.__table__  # type: ignore[attr-defined]
EVENTS: Table = AuditEvent.__table__  # type: ignore[attr-defined]


def _case(n: int, **changes: Any) -> dict[str, Any]:
    """A cases row without ``reopen_count`` and ``codes`` (their defaults fill them in)."""
    row = {"status": "awaiting_review", "subject": f"43214 \x00#{n}\ttab\nline \\ end",
           "sender": f"c{n}@clinic.example", "sender_name": "Dana", "created_at": NOW,
           "updated_at": NOW, "assignee": None, "quarantine_reason": None, "row_version": 2,
           "needs_expert": n % 2 == 0, "expert_reason": "", "sender_auth": "",
           "claims_case_id": 10**17 if n == 1 else None}
    return {**row, **changes}


def _message(n: int, case_id: int) -> dict[str, Any]:
    return {"case_id": case_id, "fingerprint": f"{case_id:064x}", "message_id": f"m{n}@x",
            "in_reply_to": None, "subject": "s", "from_addr": "a@b", "source": "imap",
            "mailbox": "INBOX", "uidvalidity": 2**40, "uid": n, "size": 3, "kind": None,
            "processed": True, "error": None, "received_at": NOW,
            "raw": bytes(range(256)) * n + b"\x00"}


def _event(case_id: int, n: int) -> dict[str, Any]:
    return {"case_id": case_id, "at": NOW, "actor": "system", "action": "received",
            "from_status": "received", "to_status": None, "reason": f"mail #{n}\x00 via imap"}


def _write(s: Any, copy: CopyWriter | None, cases: list[dict[str, Any]]) -> list[int]:
    """Cases, a message each and two events each, by COPY or (``copy`` None) the Core way."""
    def returning(table: Table, rows: list[dict[str, Any]]) -> list[int]:
        if copy is not None:
            return copy.insert_returning_ids(table, rows)
        stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return [row[0] for row in s.execute(stmt, rows)]

    case_ids = returning(CASES, cases)
    returning(MESSAGES, [_message(n, c) for n, c in enumerate(case_ids, 1)])
    events = [_event(c, k) for c in case_ids for k in (1, 2)]
    if copy is not None:
        copy.insert(EVENTS, events)
    else:
        s.execute(insert(EVENTS), events)
    return case_ids


def _tables(engine: Any) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as c:
        return {t: [tuple(r) for r in c.execute(text(f"select * from {t} order by id"))]
                for t in ("cases", "messages", "audit_events")}


@pytest.fixture
def two(pg_databases: Callable[[], str], engine_for: Callable[[str], Any]) -> list[Any]:
    """Two fresh PostgreSQL databases, one to write the Core way and one by COPY."""
    return [engine_for(pg_databases()), engine_for(pg_databases())]


def test_copy_writes_the_core_inserts_rows_and_ids(two: list[Any]) -> None:
    for engine in two:
        with session(engine) as s:  # a case first: the sequences are past 1
            s.execute(insert(CASES), [_case(0)])
            s.commit()
    got = []
    for engine, by_copy in zip(two, (False, True), strict=True):
        with session(engine) as s:
            copy = CopyWriter.for_session(s)
            assert copy is not None
            # these rows are all COPY's (none goes the Core way)
            assert copy._prepare(CASES, [_case(1)], with_id=True) is not None
            assert copy._prepare(MESSAGES, [_message(1, 1)], with_id=True) is not None
            assert copy._prepare(EVENTS, [_event(1, 1)]) is not None
            got.append([_write(s, copy if by_copy else None, [_case(n) for n in range(1, 5)]),
                        _write(s, copy if by_copy else None, [_case(9)])])
            s.commit()
    assert got[0] == got[1] == [[2, 3, 4, 5], [6]]
    core, copied = _tables(two[0]), _tables(two[1])
    assert core == copied
    assert core["cases"][1][1:4] == ("awaiting_review", "43214 #1\ttab\nline \\ end",
                                     "c1@clinic.example")


def test_values_copy_would_take_otherwise_go_the_core_way(two: list[Any]) -> None:
    naive = [_case(1, created_at=datetime(2026, 11, 20, 9, 30)), _case(2)]
    huge = [_case(3, row_version=2**31)]  # int4: binary COPY would wrap it
    nul = [_case(4, status="awaiting\x00")]  # not a CleanText column: psycopg refuses it
    results = []
    for engine, by_copy in zip(two, (False, True), strict=True):
        with session(engine) as s:
            copy = CopyWriter.for_session(s) if by_copy else None
            ids = _write(s, copy, naive)
            s.commit()
            for bad in (huge, nul):
                with pytest.raises(DataError):
                    _write(s, copy, bad)
                s.rollback()
            ids += _write(s, copy, [_case(5)])
            s.commit()
        results.append(ids)
    assert results[0] == results[1]
    assert _tables(two[0]) == _tables(two[1])


def test_a_failed_copy_names_no_value(pg_url: str, engine_for: Callable[[str], Any]) -> None:
    with session(engine_for(pg_url)) as s:
        copy = CopyWriter.for_session(s)
        assert copy is not None
        with pytest.raises(DataError) as failed:
            copy.insert_returning_ids(CASES, [_case(1, sender="patient-name" * 40)])
    assert "character varying(320)" in str(failed.value)
    assert "patient-name" not in str(failed.value)


def test_sqlite_has_no_copy_writer(tmp_path: Any, engine_for: Callable[[str], Any]) -> None:
    with session(engine_for(f"sqlite:///{tmp_path / 'c.db'}")) as s:
        assert CopyWriter.for_session(s) is None
