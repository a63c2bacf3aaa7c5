"""The case lifecycle: which status may follow which, and the audit event every move writes.

received -> awaiting_review -> approved -> sent -> closed, with awaiting_info (the reviewer asked
the sender something) and quarantined (kept, never answered automatically).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from consult.errors import InvalidTransition
from db.models import AuditEvent, Case

STATUSES = (
    "received",
    "awaiting_review",
    "awaiting_info",
    "approved",
    "sent",
    "closed",
    "quarantined",
)

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
    case.status = to_status
    case.updated_at = now
    case.row_version += 1
    session.add(case)
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
