"""Review actions on cases: list the queue, save a draft, approve, ask for info, close.

Shared by the CLI and the web app. Approving never sends mail: it writes an outbox row with the
rendered reply, and the sender worker delivers it.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from consult import cases
from consult.config import Settings
from consult.errors import CaseNotFound, DraftConflict, InvalidTransition
from consult.mail.compose import ReplyEnvelope, build_reply, new_message_id, reply_subject
from db.models import AuditEvent, Case, Draft, Message, Outbox


@dataclass(frozen=True)
class QueueRow:
    id: int
    status: str
    subject: str
    sender: str
    received_at: datetime
    assignee: str | None
    codes: str

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "status": self.status,
            "subject": self.subject,
            "sender": self.sender,
            "received_at": self.received_at.isoformat(),
            "assignee": self.assignee,
            "codes": self.codes.split(),
        }


def queue(
    session: Session, *, statuses: tuple[str, ...] | None = None, limit: int = 500
) -> list[QueueRow]:
    """Cases, oldest first; by default everything not closed or sent."""
    wanted = statuses or ("received", "awaiting_review", "awaiting_info", "approved",
                          "quarantined")
    rows = session.exec(
        select(Case).where(col(Case.status).in_(wanted)).order_by(col(Case.created_at), col(Case.id))
        .limit(limit)
    )
    return [QueueRow(c.id, c.status, c.subject, c.sender, c.created_at, c.assignee, c.codes)  # type: ignore[arg-type]
            for c in rows]


def get_case(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise CaseNotFound(f"No case #{case_id}. `consult queue` lists the open cases.")
    return case


def latest_draft(session: Session, case_id: int) -> Draft | None:
    return session.exec(
        select(Draft).where(Draft.case_id == case_id).order_by(col(Draft.version).desc())
    ).first()


def thread(session: Session, case_id: int) -> list[Message]:
    return list(session.exec(
        select(Message).where(Message.case_id == case_id).order_by(col(Message.id))
    ))


def audit(session: Session, case_id: int) -> list[AuditEvent]:
    return list(session.exec(
        select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(col(AuditEvent.id))
    ))


def _text_to_html(text: str) -> str:
    return ("<html><body><pre style=\"font-family: sans-serif; white-space: pre-wrap\">"
            f"{html.escape(text)}</pre></body></html>")


def save_draft(
    session: Session, case_id: int, body_text: str, *, actor: str, now: datetime,
    expected_version: int | None = None,
) -> Draft:
    """Store an edited draft as a new version; refuses when someone saved in between."""
    case = get_case(session, case_id)
    current = latest_draft(session, case_id)
    if expected_version is not None and current is not None and current.version != expected_version:
        raise DraftConflict(
            f"Case #{case_id}: draft version {current.version} was saved by {current.author} "
            f"after you opened version {expected_version}. Reload and apply your edit again."
        )
    draft = Draft(
        case_id=case_id,
        version=(current.version if current else 0) + 1,
        author=actor,
        body_text=body_text,
        body_html=_text_to_html(body_text),
        kb_version=current.kb_version if current else "",
        analysis_json=current.analysis_json if current else "{}",
        created_at=now,
    )
    session.add(draft)
    cases.note(session, case, actor=actor, action="draft_saved", now=now,
               reason=f"draft version {draft.version}")
    return draft


def _first_inbound(session: Session, case_id: int) -> Message:
    msgs = [m for m in thread(session, case_id) if m.direction == "in"]
    if not msgs:
        raise InvalidTransition(f"Case #{case_id} has no inbound mail to answer.")
    return msgs[-1]


def approve(
    session: Session, case_id: int, settings: Settings, *, actor: str, now: datetime,
    body_text: str | None = None,
) -> Outbox:
    """Approve the latest draft (or an edited body), render the reply and queue it for sending."""
    case = get_case(session, case_id)
    if not cases.can_move(case.status, "approved"):
        raise InvalidTransition(
            f"Case #{case_id} is {case.status}; only a case awaiting review can be approved."
        )
    draft = latest_draft(session, case_id)
    if body_text is not None and (draft is None or body_text != draft.body_text):
        draft = save_draft(session, case_id, body_text, actor=actor, now=now)
    if draft is None:
        raise InvalidTransition(f"Case #{case_id} has no draft; write one with --body FILE.")
    session.flush()
    original = _first_inbound(session, case_id)
    from consult.mail.parse import parse_message

    parsed = parse_message(original.raw)
    msgid = new_message_id(settings.message_domain)
    envelope = ReplyEnvelope(
        from_address=settings.from_address,
        to_address=case.sender,
        to_name=case.sender_name,
        subject=reply_subject(case.subject, case_id),
        in_reply_to=parsed.message_id,
        references=tuple(parsed.references),
        message_id=msgid,
        date=now,
        loop_domain=settings.message_domain,
    )
    raw = build_reply(envelope, draft.body_text, draft.body_html)
    row = Outbox(
        case_id=case_id,
        draft_id=draft.id,  # type: ignore[arg-type]
        message_id=msgid,
        to_addr=case.sender,
        created_at=now,
        next_attempt_at=now,
        deadline=now + timedelta(hours=settings.sender_retry_hours),
        raw=raw,
    )
    session.add(row)
    cases.move(session, case, "approved", actor=actor, action="approve", now=now,
               reason=f"draft version {draft.version} (KB {draft.kb_version})")
    return row


def close(session: Session, case_id: int, *, actor: str, now: datetime, reason: str = "") -> Case:
    case = get_case(session, case_id)
    cases.move(session, case, "closed", actor=actor, action="close", now=now, reason=reason)
    return case


def assign(session: Session, case_id: int, assignee: str | None, *, actor: str,
           now: datetime) -> Case:
    case = get_case(session, case_id)
    case.assignee = assignee
    case.updated_at = now
    case.row_version += 1
    session.add(case)
    cases.note(session, case, actor=actor, action="assign", now=now, reason=assignee or "nobody")
    return case


def release(session: Session, case_id: int, *, actor: str, now: datetime, reason: str = "") -> Case:
    """Take a case out of quarantine into the review queue (an admin decided it is real)."""
    case = get_case(session, case_id)
    if case.status != "quarantined":
        raise InvalidTransition(f"Case #{case_id} is {case.status}, not quarantined.")
    cases.move(session, case, "awaiting_review", actor=actor, action="release", now=now,
               reason=reason)
    return case
