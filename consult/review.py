"""Review actions on cases: list the queue, save a draft, approve, ask for info, close.

Shared by the CLI and the web app. Approving never sends mail: it writes an outbox row with the
rendered reply, and the sender worker delivers it.
"""

from __future__ import annotations

import difflib
import html
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, literal, or_
from sqlmodel import Session, col, select

from consult import cases
from consult.config import Settings
from consult.errors import CaseNotFound, DraftConflict, InvalidTransition
from consult.mail.compose import ReplyEnvelope, build_reply, new_message_id, reply_subject
from consult.mail.reply_token import reply_address
from db.models import AuditEvent, Case, Draft, Message, Outbox

#: Case ids are 64-bit signed integers in both databases.
MAX_CASE_ID = 2**63 - 1


def get_case(session: Session, case_id: int) -> Case:
    """The case, or CaseNotFound (also for an id no database could hold)."""
    if not 0 < case_id <= MAX_CASE_ID:
        raise CaseNotFound(f"No case #{case_id}. `consult queue` lists the open cases.")
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
    current = _check_version(session, case_id, expected_version)
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


def _last_inbound(session: Session, case_id: int) -> Message:
    """The case's newest inbound mail: the reply threads on it."""
    msgs = [m for m in thread(session, case_id) if m.direction == "in"]
    if not msgs:
        raise InvalidTransition(f"Case #{case_id} has no inbound mail to answer.")
    return msgs[-1]


@dataclass(frozen=True)
class ReplyOption:
    """An address the reply may go to, and the header of the case's mail that named it."""

    address: str
    header: str  # From | Reply-To | Sender


def reply_options(session: Session, case: Case) -> list[ReplyOption]:
    """Where the reply may go: the case's From first (the default), then the Reply-To and
    Sender addresses of its inbound mails that differ from it. Sending elsewhere than From is
    the reviewer's choice, never automatic: Reply-To is the easiest header to forge."""
    from email.utils import getaddresses

    from consult.mail.parse import parse_headers

    found: dict[str, ReplyOption] = {}
    if case.sender:
        found[case.sender.lower()] = ReplyOption(case.sender, "From")
    for msg in thread(session, case.id):  # type: ignore[arg-type]
        if msg.direction != "in":
            continue
        mail = parse_headers(msg.raw)
        for header in ("Reply-To", "Sender"):
            for _name, addr in getaddresses(mail.headers.get(header.lower(), [])):
                addr = addr.strip()
                if "@" in addr and addr.lower() not in found:
                    found[addr.lower()] = ReplyOption(addr[:320], header)
    return list(found.values())


def _queue_mail(
    session: Session, case: Case, settings: Settings, draft: Draft, *, text: str, html_body: str,
    now: datetime, purpose: str, diff_text: str | None = None, recipient: str | None = None,
) -> Outbox:
    """Render a mail to the case's sender (or the ``recipient`` the reviewer chose among
    ``reply_options``), threaded on their last mail, into the outbox."""
    original = _last_inbound(session, case.id)  # type: ignore[arg-type]
    from consult.mail.parse import parse_message

    to_address = case.sender
    if recipient and recipient.strip().lower() != case.sender.lower():
        allowed = {o.address.lower(): o.address for o in reply_options(session, case)}
        to_address = allowed.get(recipient.strip().lower(), "")
        if not to_address:
            raise InvalidTransition(
                f"{recipient} is not an address of case #{case.id}'s mails (From, Reply-To or "
                "Sender); the reply goes to one of those.")
    parsed = parse_message(original.raw)
    msgid = new_message_id(settings.message_domain)
    envelope = ReplyEnvelope(
        from_address=settings.from_address,
        to_address=to_address,
        to_name=case.sender_name,
        subject=reply_subject(case.subject, case.id),  # type: ignore[arg-type]
        in_reply_to=parsed.message_id,
        references=tuple(parsed.references),
        message_id=msgid,
        date=now,
        loop_domain=settings.message_domain,
        reply_to=reply_address(settings.from_address, case.id,  # type: ignore[arg-type]
                               settings.secret_key.get_secret_value())
        if settings.reply_token_addresses else None,
    )
    row = Outbox(
        case_id=case.id,  # type: ignore[arg-type]
        draft_id=draft.id,  # type: ignore[arg-type]
        message_id=msgid,
        to_addr=to_address,
        created_at=now,
        next_attempt_at=now,
        deadline=now + timedelta(hours=settings.sender_retry_hours),
        raw=build_reply(envelope, text, html_body),
        purpose=purpose,
        diff_text=diff_text,
    )
    session.add(row)
    return row


def draft_diff(first: str, final: str, *, first_label: str = "first draft",
               final_label: str = "sent reply") -> str:
    """Unified diff of what the reviewers changed; empty when they sent the draft unchanged."""
    return "".join(difflib.unified_diff(
        first.splitlines(keepends=True), final.splitlines(keepends=True),
        fromfile=first_label, tofile=final_label, n=2,
    ))


def first_draft(session: Session, case_id: int) -> Draft | None:
    return session.exec(
        select(Draft).where(Draft.case_id == case_id).order_by(col(Draft.version))
    ).first()


def drafts(session: Session, case_id: int) -> list[Draft]:
    """Every version of the case's draft, newest first."""
    return list(session.exec(
        select(Draft).where(Draft.case_id == case_id).order_by(col(Draft.version).desc())
    ))


def _check_version(session: Session, case_id: int, expected_version: int | None) -> Draft | None:
    current = latest_draft(session, case_id)
    if expected_version is not None and current is not None and current.version != expected_version:
        raise DraftConflict(
            f"Case #{case_id}: draft version {current.version} was saved by {current.author} "
            f"after you opened version {expected_version}; nothing was overwritten or sent. "
            "Compare your text with the current draft and apply your edit to it again.",
            current_version=current.version)
    return current


def approve(
    session: Session, case_id: int, settings: Settings, *, actor: str, now: datetime,
    body_text: str | None = None, expected_version: int | None = None,
    recipient: str | None = None,
) -> Outbox:
    """Approve the latest draft (or an edited body), render the reply and queue it for sending.

    With ``expected_version`` (the draft version the reviewer had open) a newer save by someone
    else is a DraftConflict: a reviewer never approves text they have not seen. The outbox row
    keeps the diff of the sent text against the first (machine) draft. The move to approved
    is a compare-and-set (``consult.cases.move``): of concurrent approvals one wins, the others
    raise ConcurrentChange and their outbox rows roll back with them.
    """
    case = get_case(session, case_id)
    if not cases.can_move(case.status, "approved"):
        raise InvalidTransition(
            f"Case #{case_id} is {case.status}; only a case awaiting review can be approved."
        )
    draft = _check_version(session, case_id, expected_version)
    if body_text is not None and (draft is None or body_text != draft.body_text):
        draft = save_draft(session, case_id, body_text, actor=actor, now=now)
    if draft is None:
        raise InvalidTransition(f"Case #{case_id} has no draft; write one with --body FILE.")
    session.flush()
    first = first_draft(session, case_id)
    base = first or draft
    diff = draft_diff(base.body_text, draft.body_text,
                      first_label=f"draft v{base.version} ({base.author})",
                      final_label=f"sent v{draft.version} ({draft.author})")
    row = _queue_mail(session, case, settings, draft, text=draft.body_text,
                      html_body=draft.body_html, now=now, purpose="reply", diff_text=diff,
                      recipient=recipient)
    to = "" if row.to_addr == case.sender else f", to {row.to_addr} (chosen by the reviewer)"
    cases.move(session, case, "approved", actor=actor, action="approve", now=now,
               reason=f"draft version {draft.version} (KB {draft.kb_version}){to}")
    return row


def ask_for_info(
    session: Session, case_id: int, settings: Settings, question: str, *, actor: str,
    now: datetime,
) -> Outbox:
    """Send the sender a question (through the outbox); the case waits in awaiting_info.

    Their answer arrives as a follow-up, is re-drafted and returns the case to the queue.
    """
    case = get_case(session, case_id)
    question = question.strip()
    if not question:
        raise InvalidTransition("Write the question to send to the sender.")
    if not cases.can_move(case.status, "awaiting_info"):
        raise InvalidTransition(
            f"Case #{case_id} is {case.status}; only a case awaiting review can ask for info."
        )
    draft = latest_draft(session, case_id)
    if draft is None:
        raise InvalidTransition(f"Case #{case_id} has no draft yet; save one first.")
    row = _queue_mail(session, case, settings, draft, text=question,
                      html_body=_text_to_html(question), now=now, purpose="ask_info")
    cases.move(session, case, "awaiting_info", actor=actor, action="ask_info", now=now,
               reason=question[:500])
    return row


def quarantine(session: Session, case_id: int, *, actor: str, now: datetime,
               reason: str) -> Case:
    """Put a case aside: kept, never answered, visible to admins with the reason."""
    case = get_case(session, case_id)
    reason = reason.strip() or f"quarantined by {actor}"
    cases.move(session, case, "quarantined", actor=actor, action="quarantine", now=now,
               reason=reason)
    case.quarantine_reason = reason[:2000]
    session.add(case)
    return case


def replies(session: Session, case_id: int) -> list[Outbox]:
    """Everything we queued or sent to the sender on this case, oldest first."""
    return list(session.exec(
        select(Outbox).where(Outbox.case_id == case_id).order_by(col(Outbox.id))
    ))


def outbox(session: Session) -> list[Outbox]:
    """Every outbound mail (replies and questions) and its delivery state, oldest first."""
    return list(session.exec(select(Outbox).order_by(col(Outbox.id))))


# -- the queue -----------------------------------------------------------------------------------
OPEN_STATUSES = ("received", "awaiting_review", "awaiting_info", "approved")
#: What `consult queue` lists by default: everything waiting for someone, quarantine included.
WAITING_STATUSES = (*OPEN_STATUSES, "quarantined")
SORTS = {
    "received": col(Case.created_at),
    "updated": col(Case.updated_at),
    "status": col(Case.status),
    "sender": col(Case.sender),
    "subject": col(Case.subject),
    "assignee": col(Case.assignee),
    "id": col(Case.id),
}


def _padded_codes() -> object:
    return literal(" ") + col(Case.codes) + literal(" ")


def find_cases(
    session: Session, *, statuses: tuple[str, ...] = OPEN_STATUSES, q: str = "",
    assignee: str | None = None, sort: str = "received", descending: bool = False,
    limit: int = 500, needs_expert: bool | None = None, offset: int = 0,
) -> list[Case]:
    """The queue, for the pages, the API and the CLI: cases in ``statuses`` matching ``q`` (a
    code, or part of sender or subject), oldest first unless ``sort`` says otherwise;
    ``needs_expert`` keeps only the cases with (True) or without (False) a part our sources
    do not cover."""
    stmt = select(Case).where(col(Case.status).in_(statuses))
    if needs_expert is not None:
        stmt = stmt.where(Case.needs_expert == needs_expert)
    q = q.strip()
    if q:
        stmt = stmt.where(or_(
            func.lower(Case.subject).contains(q.lower(), autoescape=True),
            func.lower(Case.sender).contains(q.lower(), autoescape=True),
            func.lower(Case.sender_name).contains(q.lower(), autoescape=True),
            _padded_codes().contains(f" {q.upper()} ", autoescape=True),  # type: ignore[attr-defined]
        ))
    if assignee is not None:
        stmt = stmt.where(Case.assignee == assignee)
    order = SORTS.get(sort, SORTS["received"])
    stmt = stmt.order_by(order.desc() if descending else order, col(Case.id))
    return list(session.exec(stmt.offset(offset).limit(limit)))


def status_counts(session: Session) -> dict[str, int]:
    """How many cases are in each status (every status listed, zeros included)."""
    counts = {s: 0 for s in cases.STATUSES}
    for status, n in session.exec(select(Case.status, func.count()).group_by(Case.status)):
        counts[status] = n
    return counts


@dataclass(frozen=True)
class RelatedCase:
    """An earlier case that asked about some of the same codes, and what we answered."""

    id: int
    subject: str
    status: str
    shared_codes: tuple[str, ...]
    answered_at: datetime | None
    answer: str


def related_cases(session: Session, case: Case, *, limit: int = 5,
                  include_quarantined: bool = False) -> list[RelatedCase]:
    """Earlier answered cases sharing a code with ``case``, most shared codes first.

    Only cases with an approved reply count: the point is to answer consistently. A case in
    quarantine is shown only to a viewer who may see the quarantine (``include_quarantined``).
    """
    codes = [c for c in dict.fromkeys(case.codes.split()) if c][:20]
    if not codes:
        return []
    padded = _padded_codes()
    stmt = (
        select(Case, Outbox)
        .join(Outbox, col(Outbox.case_id) == col(Case.id))
        .where(col(Case.id) != case.id,
               col(Case.created_at) <= case.created_at,
               or_(col(Outbox.purpose).is_(None), col(Outbox.purpose) == "reply"),
               col(Outbox.status) != "failed",
               or_(*[padded.contains(f" {c} ", autoescape=True)  # type: ignore[attr-defined]
                     for c in codes]))
        .order_by(col(Case.created_at).desc(), col(Outbox.id).desc())
        .limit(limit * 10)
    )
    if not include_quarantined:
        stmt = stmt.where(col(Case.status) != "quarantined")
    found: dict[int, RelatedCase] = {}
    case_codes = set(codes)
    for other, row in session.exec(stmt):
        if other.id in found:
            continue
        draft = session.get(Draft, row.draft_id)
        found[other.id] = RelatedCase(  # type: ignore[index]
            id=other.id,  # type: ignore[arg-type]
            subject=other.subject,
            status=other.status,
            shared_codes=tuple(c for c in other.codes.split() if c in case_codes),
            answered_at=row.sent_at or row.created_at,
            answer=draft.body_text if draft else "",
        )
    ranked = sorted(found.values(), key=lambda r: -len(r.shared_codes))
    return ranked[:limit]


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
