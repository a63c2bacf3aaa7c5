"""Intake: store the raw bytes first, then parse, thread, analyse and put a draft in the queue.

Nothing is ever lost: ``store_raw`` writes the exact bytes before anything can fail, and a mail
that cannot be handled becomes a quarantined case with the reason, never an exception that stops
the worker and never an automatic answer. Callers own the transaction (commit after a batch).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from consult import cases
from consult.config import Settings
from consult.kb.store import KnowledgeBase
from consult.mail.fingerprint import fingerprint, header_values, split_head
from consult.mail.message import UNANSWERABLE_KINDS, ParsedMail
from consult.mail.parse import parse_message
from consult.pipeline import Analysis, analyze_mail
from db.models import Case, Draft, Message

log = logging.getLogger(__name__)

Outcome = Literal["case", "followup", "quarantined", "duplicate"]
SYSTEM = "system"
_CASE_TAG = re.compile(r"\[Case #(\d+)\]", re.IGNORECASE)
MAX_REOPENS = 5


@dataclass(frozen=True)
class IntakeResult:
    """What became of one mail."""

    message_pk: int
    case_id: int | None
    outcome: Outcome
    reason: str = ""


def _header_msgid(raw: bytes) -> str | None:
    value = header_values(split_head(raw)[0]).get(b"message-id")
    if not value:
        return None
    text = value.decode("ascii", "replace").strip().strip("<>").strip()
    return text or None


def store_raw(
    session: Session,
    raw: bytes,
    *,
    source: str,
    now: datetime,
    mailbox: str | None = None,
    uidvalidity: int | None = None,
    uid: int | None = None,
) -> tuple[Message, bool]:
    """Store the exact bytes; return (message, created). A duplicate returns the stored one."""
    fp = fingerprint(raw)
    existing = session.exec(select(Message).where(Message.fingerprint == fp)).first()
    if existing is not None:
        return existing, False
    msg = Message(
        fingerprint=fp,
        message_id=_header_msgid(raw),
        source=source,
        mailbox=mailbox,
        uidvalidity=uidvalidity,
        uid=uid,
        size=len(raw),
        received_at=now,
        raw=raw,
    )
    try:
        with session.begin_nested():
            session.add(msg)
    except IntegrityError:
        existing = session.exec(select(Message).where(Message.fingerprint == fp)).one()
        return existing, False
    return msg, True


def _thread_case(session: Session, mail: ParsedMail) -> Case | None:
    """The case this mail answers: by In-Reply-To/References, else by the [Case #N] tag."""
    ids = [i for i in [mail.in_reply_to, *mail.references] if i]
    if ids:
        hit = session.exec(
            select(Message.case_id)
            .where(col(Message.message_id).in_(ids), col(Message.case_id).is_not(None))
            .order_by(col(Message.id).desc())
        ).first()
        if hit is not None:
            return session.get(Case, hit)
    tag = _CASE_TAG.search(mail.subject or "")
    if tag:
        case = session.get(Case, int(tag.group(1)))
        if case is not None and case.sender.lower() == (mail.from_addr or "").lower():
            return case
    return None


def _new_case(session: Session, mail: ParsedMail | None, msg: Message, now: datetime) -> Case:
    case = Case(
        status="received",
        subject=(mail.subject if mail else "")[:2000],
        sender=(mail.from_addr if mail else "")[:320],
        sender_name=(mail.from_name if mail else "")[:320],
        created_at=now,
        updated_at=now,
    )
    session.add(case)
    session.flush()
    cases.note(session, case, actor=SYSTEM, action="received", now=now,
               reason=f"mail #{msg.id} via {msg.source}")
    return case


def _quarantine(
    session: Session, msg: Message, mail: ParsedMail | None, reason: str, now: datetime,
    case: Case | None = None,
) -> IntakeResult:
    if case is None:
        case = _new_case(session, mail, msg, now)
        case.quarantine_reason = reason
        cases.move(session, case, "quarantined", actor=SYSTEM, action="quarantine", now=now,
                   reason=reason)
    else:
        cases.note(session, case, actor=SYSTEM, action="unanswerable_mail", now=now,
                   reason=f"mail #{msg.id}: {reason}")
    msg.case_id = case.id
    msg.processed = True
    msg.error = reason
    session.add(msg)
    log.info("mail #%s quarantined on case #%s: %s", msg.id, case.id, reason)
    return IntakeResult(msg.id, case.id, "quarantined", reason)  # type: ignore[arg-type]


def _save_draft(session: Session, case: Case, analysis: Analysis, now: datetime) -> Draft:
    last = session.exec(
        select(Draft.version).where(Draft.case_id == case.id).order_by(col(Draft.version).desc())
    ).first()
    draft_obj = analysis.draft
    assert draft_obj is not None
    draft = Draft(
        case_id=case.id,  # type: ignore[arg-type]
        version=(last or 0) + 1,
        author=SYSTEM,
        body_text=draft_obj.text,
        body_html=draft_obj.html,
        kb_version=draft_obj.kb_version,
        analysis_json=json.dumps(analysis.to_json(), default=str),
        created_at=now,
    )
    session.add(draft)
    codes = " ".join(dict.fromkeys(c.code for c in analysis.extraction.codes))
    case.codes = codes[:4000]
    session.add(case)
    return draft


def process_message(
    session: Session, msg: Message, kb: KnowledgeBase, settings: Settings, *, now: datetime
) -> IntakeResult:
    """Parse, thread, analyse and queue one stored message. Never raises for a bad mail."""
    if msg.size > settings.max_message_bytes:
        return _quarantine(session, msg, None,
                           f"message is {msg.size} bytes, over the {settings.max_message_bytes} "
                           "byte limit (CONSULT_MAX_MESSAGE_BYTES)", now)
    try:
        mail = parse_message(msg.raw, own_addresses=frozenset({settings.from_address.lower()}))
    except Exception as exc:  # a parser bug must not lose or block the mail
        log.exception("parser failed on mail #%s", msg.id)
        return _quarantine(session, msg, None, f"could not parse the message: {exc!r}", now)
    msg.subject = mail.subject[:2000]
    msg.from_addr = mail.from_addr[:320]
    msg.in_reply_to = mail.in_reply_to
    msg.kind = mail.kind

    case = _thread_case(session, mail)
    if mail.kind in UNANSWERABLE_KINDS:
        reason = f"{mail.kind.replace('_', ' ')}: {mail.kind_reason or 'automatic mail'}"
        return _quarantine(session, msg, mail, reason, now, case=case)
    if not mail.from_addr:
        return _quarantine(session, msg, mail, "no sender address to answer", now, case=case)

    outcome: Outcome = "followup" if case is not None else "case"
    if case is None:
        case = _new_case(session, mail, msg, now)
    else:
        cases.note(session, case, actor=SYSTEM, action="followup", now=now,
                   reason=f"mail #{msg.id} joined the case")
    msg.case_id = case.id
    try:
        analysis = analyze_mail(mail, kb, case_id=case.id)
    except Exception as exc:
        log.exception("analysis failed on mail #%s", msg.id)
        if outcome == "case":
            case.quarantine_reason = f"analysis failed: {exc!r}"
            cases.move(session, case, "quarantined", actor=SYSTEM, action="quarantine", now=now,
                       reason=case.quarantine_reason)
        msg.processed = True
        msg.error = f"analysis failed: {exc!r}"
        session.add(msg)
        return IntakeResult(msg.id, case.id, "quarantined", msg.error)  # type: ignore[arg-type]

    _save_draft(session, case, analysis, now)
    if case.status != "awaiting_review":
        if outcome == "followup" and case.status != "received":
            if case.reopen_count >= MAX_REOPENS:
                cases.note(session, case, actor=SYSTEM, action="reopen_refused", now=now,
                           reason=f"reopened {case.reopen_count} times already")
                msg.processed = True
                session.add(msg)
                return IntakeResult(msg.id, case.id, outcome)  # type: ignore[arg-type]
            case.reopen_count += 1
        if cases.can_move(case.status, "awaiting_review"):
            cases.move(session, case, "awaiting_review", actor=SYSTEM, action="drafted", now=now,
                       reason=f"draft from mail #{msg.id}")
    msg.processed = True
    session.add(msg)
    return IntakeResult(msg.id, case.id, outcome)  # type: ignore[arg-type]


def ingest(
    session: Session,
    raw: bytes,
    kb: KnowledgeBase,
    settings: Settings,
    *,
    source: str,
    now: datetime,
    mailbox: str | None = None,
    uidvalidity: int | None = None,
    uid: int | None = None,
) -> IntakeResult:
    """Store and process one mail in the caller's transaction."""
    msg, created = store_raw(session, raw, source=source, now=now, mailbox=mailbox,
                             uidvalidity=uidvalidity, uid=uid)
    if not created and msg.processed:
        return IntakeResult(msg.id, msg.case_id, "duplicate")  # type: ignore[arg-type]
    session.flush()
    try:
        with session.begin_nested():
            return process_message(session, msg, kb, settings, now=now)
    except Exception as exc:  # last line of defence: keep the bytes, say why
        log.exception("intake failed on mail #%s", msg.id)
        with session.begin_nested():
            return _quarantine(session, msg, None, f"intake failed: {exc!r}", now)


def pending(session: Session, limit: int = 200) -> list[Message]:
    """Stored mail not yet processed (e.g. taken in by the SMTP listener), oldest first."""
    return list(session.exec(
        select(Message).where(Message.processed == False, Message.direction == "in")  # noqa: E712
        .order_by(col(Message.id)).limit(limit)
    ))


def process_pending(
    session: Session, kb: KnowledgeBase, settings: Settings, *, now: datetime, limit: int = 200
) -> list[IntakeResult]:
    """Process stored mail, each in its own savepoint so one failure never blocks the rest."""
    results = []
    for msg in pending(session, limit):
        try:
            with session.begin_nested():
                results.append(process_message(session, msg, kb, settings, now=now))
        except Exception as exc:
            log.exception("intake failed on mail #%s", msg.id)
            with session.begin_nested():
                results.append(_quarantine(session, msg, None, f"intake failed: {exc!r}", now))
    return results
