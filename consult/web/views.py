"""What the pages and the API show, assembled from the case database (no HTTP here).

Both the HTML pages and the JSON API call these, so a practice-management system sees exactly
what a reviewer sees. Inbound mail is parsed from the stored raw bytes on every view: the raw
bytes are the record, parsed forms are never stored.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from markupsafe import Markup
from sqlmodel import Session

from consult import review
from consult.kb.store import KnowledgeBase
from consult.mail.message import UNANSWERABLE_KINDS
from consult.mail.parse import parse_message
from consult.web.highlight import highlight
from consult.web.sessions import aware
from db.models import AuditEvent, Case, Draft, Message, Outbox

log = logging.getLogger(__name__)

#: Statuses in which the case waits for us (the SLA clock runs).
WAITING_ON_US = ("received", "awaiting_review")


def age_text(delta: timedelta) -> str:
    """A short human duration: 45m, 5h, 3d."""
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes}m"
    if minutes < 48 * 60:
        return f"{minutes // 60}h"
    return f"{minutes // (24 * 60)}d"


@dataclass(frozen=True)
class Due:
    """The due-time badge: ``level`` is overdue | soon | ok | waiting | none."""

    level: str
    label: str
    due_at: datetime | None


def due_badge(case: Case, *, now: datetime, sla_hours: float) -> Due:
    if case.status == "awaiting_info":
        return Due("waiting", "waiting on sender", None)
    if case.status not in WAITING_ON_US:
        return Due("none", "", None)
    due_at = aware(case.created_at) + timedelta(hours=sla_hours)
    left = due_at - now
    if left <= timedelta(0):
        return Due("overdue", f"overdue {age_text(-left)}", due_at)
    if left <= timedelta(hours=sla_hours) / 4:
        return Due("soon", f"due in {age_text(left)}", due_at)
    return Due("ok", f"due in {age_text(left)}", due_at)


@dataclass(frozen=True)
class QueueItem:
    id: int
    status: str
    subject: str
    sender: str
    sender_name: str
    received_at: datetime
    age: str
    due: Due
    assignee: str | None
    codes: list[str]
    quarantine_reason: str | None
    needs_expert: bool = False
    expert_reason: str = ""
    sender_auth: str = ""
    claims_case_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "status": self.status, "subject": self.subject,
            "sender": self.sender, "sender_name": self.sender_name,
            "received_at": self.received_at.isoformat(), "age": self.age,
            "due": {"level": self.due.level, "label": self.due.label,
                    "due_at": self.due.due_at.isoformat() if self.due.due_at else None},
            "assignee": self.assignee, "codes": self.codes,
            "quarantine_reason": self.quarantine_reason,
            "needs_expert": self.needs_expert, "expert_reason": self.expert_reason,
            "sender_auth": self.sender_auth,
            "claims_case_id": self.claims_case_id,
        }


def queue_items(rows: list[Case], *, now: datetime, sla_hours: float) -> list[QueueItem]:
    return [
        QueueItem(
            id=c.id,  # type: ignore[arg-type]
            status=c.status, subject=c.subject, sender=c.sender, sender_name=c.sender_name,
            received_at=aware(c.created_at), age=age_text(now - aware(c.created_at)),
            due=due_badge(c, now=now, sla_hours=sla_hours), assignee=c.assignee,
            codes=c.codes.split(), quarantine_reason=c.quarantine_reason,
            needs_expert=c.needs_expert, expert_reason=c.expert_reason,
            sender_auth=c.sender_auth, claims_case_id=c.claims_case_id,
        )
        for c in rows
    ]


# -- the case page -------------------------------------------------------------------------------
@dataclass
class ShownMail:
    """One message of the thread as text (never as HTML)."""

    id: int
    direction: str
    at: datetime
    from_addr: str
    from_name: str
    subject: str
    kind: str
    text: str
    quoted: str
    signature: str = ""
    attachments: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "direction": self.direction, "at": self.at.isoformat(),
                "from": self.from_addr, "from_name": self.from_name, "subject": self.subject,
                "kind": self.kind, "text": self.text, "quoted": self.quoted,
                "signature": self.signature,
                "attachments": self.attachments, "error": self.error}


def shown_mail(msg: Message) -> ShownMail:
    """Parse stored bytes for display; a mail the parser cannot read still shows its headers."""
    base = ShownMail(id=msg.id, direction=msg.direction,  # type: ignore[arg-type]
                     at=aware(msg.received_at), from_addr=msg.from_addr, from_name="",
                     subject=msg.subject, kind=msg.kind or "", text="", quoted="")
    try:
        mail = parse_message(msg.raw)
    except Exception as exc:  # the page must open even for a mail the parser chokes on
        log.warning("cannot parse mail #%s for display: %r", msg.id, exc)
        base.error = f"could not parse this mail ({type(exc).__name__}); the raw bytes are kept"
        return base
    base.from_addr = mail.from_addr or msg.from_addr
    base.from_name = mail.from_name
    base.subject = mail.subject
    base.text = mail.text
    base.quoted = mail.quoted
    base.signature = mail.signature
    base.attachments = [{"filename": a.filename, "content_type": a.content_type,
                         "size": a.size, "text": a.text or "", "note": a.note}
                        for a in mail.attachments]
    return base


def _analysed_message(thread: list[Message]) -> Message | None:
    """The inbound mail the latest draft was made from (its PHI spans point into it)."""
    inbound = [m for m in thread if m.direction == "in"]
    usable = [m for m in inbound if m.processed and not m.error
              and (m.kind or "") not in UNANSWERABLE_KINDS]
    candidates = usable or inbound
    return candidates[-1] if candidates else None


def _codes(analysis: dict[str, Any], kb: KnowledgeBase | None) -> list[dict[str, Any]]:
    out = []
    for c in analysis.get("codes", []):
        code = dict(c)
        if not code.get("description") and kb is not None:
            try:
                info = kb.code(str(code.get("code", "")), code.get("system"))
            except Exception:  # the KB is an aid here; a missing file must not hide the case
                info = None
            if info is not None:
                code["description"] = info.description
        out.append(code)
    return out


@dataclass
class Reply:
    row: Outbox
    purpose: str
    body: str
    diff: str


@dataclass
class CaseView:
    case: Case
    due: Due
    draft: Draft | None
    drafts: list[Draft]
    analysis: dict[str, Any]
    codes: list[dict[str, Any]]
    findings: list[dict[str, Any]]
    consultation: ShownMail | None
    subject_html: Markup
    body_html: Markup
    quoted_html: Markup
    thread: list[ShownMail]
    audit: list[AuditEvent]
    replies: list[Reply]
    related: list[review.RelatedCase]
    reply_options: list[review.ReplyOption] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        c = self.case
        return {
            "id": c.id, "status": c.status, "subject": c.subject, "sender": c.sender,
            "sender_name": c.sender_name, "created_at": aware(c.created_at).isoformat(),
            "updated_at": aware(c.updated_at).isoformat(), "assignee": c.assignee,
            "quarantine_reason": c.quarantine_reason, "codes": self.codes,
            "needs_expert": c.needs_expert, "expert_reason": c.expert_reason,
            "questions": self.analysis.get("questions", []),
            "sender_auth": c.sender_auth, "claims_case_id": c.claims_case_id,
            "reply_options": [{"address": o.address, "header": o.header}
                              for o in self.reply_options],
            "due": {"level": self.due.level, "label": self.due.label},
            "findings": self.findings,
            "phi": self.analysis.get("phi", []),
            "question": self.analysis.get("question"),
            "draft": None if self.draft is None else {
                "version": self.draft.version, "author": self.draft.author,
                "body": self.draft.body_text, "kb_version": self.draft.kb_version,
                "created_at": aware(self.draft.created_at).isoformat()},
            "thread": [m.to_json() for m in self.thread],
            "audit": [{"at": aware(e.at).isoformat(), "actor": e.actor, "action": e.action,
                       "from_status": e.from_status, "to_status": e.to_status,
                       "reason": e.reason} for e in self.audit],
            "replies": [{"id": r.row.id, "purpose": r.purpose, "status": r.row.status,
                         "to": r.row.to_addr, "message_id": r.row.message_id,
                         "sent_at": aware(r.row.sent_at).isoformat() if r.row.sent_at else None,
                         "body": r.body, "diff_against_first_draft": r.diff}
                        for r in self.replies],
            "related": [{"id": r.id, "subject": r.subject, "status": r.status,
                         "shared_codes": list(r.shared_codes), "answer": r.answer}
                        for r in self.related],
        }


def case_view(session: Session, case_id: int, *, now: datetime, sla_hours: float,
              kb: KnowledgeBase | None = None, admin: bool = False) -> CaseView:
    """Everything the case page shows. Raises CaseNotFound. ``admin``: the viewer may see
    quarantined cases (among the earlier answers too)."""
    case = review.get_case(session, case_id)
    draft = review.latest_draft(session, case_id)
    try:
        analysis = json.loads(draft.analysis_json) if draft else {}
    except ValueError:
        analysis = {}
    messages = review.thread(session, case_id)
    analysed = _analysed_message(messages)
    shown = [shown_mail(m) for m in messages]
    consultation = next((s for s in shown if analysed is not None and s.id == analysed.id), None)
    phi = [p for p in analysis.get("phi", []) if isinstance(p, dict)]

    def marked(text: str, where: str) -> Markup:
        return highlight(text, [p for p in phi if p.get("where") == where])

    replies = []
    for row in review.replies(session, case_id):
        body_draft = session.get(Draft, row.draft_id)
        if row.purpose == "ask_info":
            body = shown_mail(Message(id=0, direction="out", fingerprint="", raw=row.raw,
                                      received_at=row.created_at)).text
        else:
            body = body_draft.body_text if body_draft else ""
        replies.append(Reply(row, row.purpose or "reply", body, row.diff_text or ""))
    return CaseView(
        case=case,
        due=due_badge(case, now=now, sla_hours=sla_hours),
        draft=draft,
        drafts=review.drafts(session, case_id),
        analysis=analysis,
        codes=_codes(analysis, kb),
        findings=[f for f in analysis.get("findings", []) if isinstance(f, dict)],
        consultation=consultation,
        subject_html=marked(consultation.subject if consultation else case.subject, "subject"),
        body_html=marked(consultation.text, "body") if consultation else Markup(""),
        quoted_html=marked(consultation.quoted, "quoted") if consultation else Markup(""),
        thread=shown,
        audit=review.audit(session, case_id),
        replies=replies,
        related=review.related_cases(session, case, include_quarantined=admin),
        reply_options=review.reply_options(session, case),
    )
