"""Only the moves the case lifecycle allows, each with an audit event."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from consult import cases
from consult.errors import InvalidTransition
from db.engine import session
from db.models import AuditEvent, Case

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_moves_write_audit_and_forbidden_moves_refuse(engine_for, tmp_path) -> None:
    engine = engine_for(f"sqlite:///{tmp_path / 'c.db'}")
    with session(engine) as s:
        case = Case(status="received", created_at=NOW, updated_at=NOW)
        s.add(case)
        s.flush()
        cases.move(s, case, "awaiting_review", actor="system", action="drafted", now=NOW)
        cases.move(s, case, "approved", actor="rev@x", action="approve", now=NOW, reason="ok")
        with pytest.raises(InvalidTransition, match="cannot become received"):
            cases.move(s, case, "received", actor="rev@x", action="oops", now=NOW)
        s.commit()
        events = s.exec(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(e.from_status, e.to_status, e.actor) for e in events] == [
        ("received", "awaiting_review", "system"), ("awaiting_review", "approved", "rev@x")]
    assert case.row_version == 3


def test_every_status_has_a_way_forward() -> None:
    for status in cases.STATUSES:
        assert cases.ALLOWED[status], status
        assert all(t in cases.STATUSES for t in cases.ALLOWED[status])
