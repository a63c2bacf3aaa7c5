"""The case lifecycle: which status may follow which, and the audit event every move writes.

received -> awaiting_review -> approved -> sent -> closed, with awaiting_info (the reviewer asked
the sender something) and quarantined (kept, never answered automatically).

A move is a compare-and-set on the database row (``WHERE status = :from AND row_version = :v``):
of two requests that read the same case and both try to move it (eight reviewers pressing
Approve at once), exactly one wins; the others get ``ConcurrentChange`` (a 409), so a case is
approved once and answered once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from consult.errors import ConcurrentChange, InvalidTransition
from db.models import AuditEvent, Case

Status = Literal["received", "awaiting_review", "awaiting_info", "approved", "sent", "closed",
                 "quarantined"]
STATUSES: tuple[str, ...] = get_args(Status)

ALLOWED: dict[str, frozenset[str]] = {
    "received": frozenset({"awaiting_review", "quarantined", "closed"}),
    "awaiting_review": frozenset({"approved", "awaiting_info", "closed", "quarantined"}),
    "awaiting_info": frozenset({"awaiting_review", "closed", "quarantined"}),
    "approved": frozenset({"sent", "awaiting_review", "closed"}),
    "sent": frozenset({"closed", "awaiting_review"}),
    "closed": frozenset({"awaiting_review"}),
    "quarantined": frozenset({"awaiting_review", "closed"}),
}


def can_move(from_status: str, to_status: str) -> bool:
    return to_status in ALLOWED.get(from_status, frozenset())


def move(
    session: Session,
    case: Case,
    to_status: str,
    *,
    actor: str,
    action: str,
    now: datetime,
    reason: str = "",
) -> AuditEvent:
    """Change a case's status and record who did it and why; refuses moves the lifecycle forbids."""
    if not can_move(case.status, to_status):
        allowed = ", ".join(sorted(ALLOWED[case.status])) or "nothing"
        raise InvalidTransition(
            f"Case #{case.id} is {case.status}; it cannot become {to_status}. "
            f"From {case.status} it can become: {allowed}."
        )
    event = _event(case, to_status, actor=actor, action=action, now=now, reason=reason)
    if case.id is None:
        session.add(case)
        session.flush()
    table = Case.__table__  # type: ignore[attr-defined]
    done = session.execute(
        update(table)
        .where(table.c.id == case.id, table.c.status == case.status,
               table.c.row_version == case.row_version)
        .values(status=to_status, updated_at=now, row_version=case.row_version + 1))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise ConcurrentChange(
            f"Case #{case.id} was changed by someone else a moment ago (it is no longer "
            f"{case.status} as you saw it); nothing was done. Reload the case and try again.")
    for name, value in (("status", to_status), ("updated_at", now),
                        ("row_version", case.row_version + 1)):
        set_committed_value(case, name, value)
    session.add(event)
    return event


def note(
    session: Session, case: Case, *, actor: str, action: str, now: datetime, reason: str = ""
) -> AuditEvent:
    """An audit event that changes no status (a follow-up arrived, a draft was saved)."""
    event = _event(case, case.status, actor=actor, action=action, now=now, reason=reason)
    session.add(event)
    return event


def _event(
    case: Case, to_status: str, *, actor: str, action: str, now: datetime, reason: str
) -> AuditEvent:
    return AuditEvent(
        case_id=case.id,  # type: ignore[arg-type]
        at=now,
        actor=actor,
        action=action,
        from_status=case.status,
        to_status=to_status,
        reason=reason,
    )
