"""What a mail that starts a case writes, decided before anything is written.

``plan_new_case(mail, digest)`` is the one place that says which rows a new case gets: the
case (its status reached through the lifecycle, never set by hand), the fields of its message
row, its audit events and, once the case has its id, its draft. Both writers use it: the
one-by-one path (``consult.intake.process``, ORM objects) and the batch path
(``consult.intake.batch``, multi-row Core inserts), so they cannot drift apart; the
differential test (tests/intake/test_differential.py) holds them together.

Pure: no database, no clock (``now`` comes in), no logging. The quarantine reasons live here
too, so every path says the same thing about the same mail.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from consult import cases
from consult.analyzed import Digest, DraftText, RemoteFailure
from consult.mail.message import UNANSWERABLE_KINDS, ParsedMail

Outcome = Literal["case", "followup", "quarantined", "duplicate"]
#: The actor of everything the intake does.
SYSTEM = "system"
#: Column limits of the rows (db/models.py).
SUBJECT_MAX, ADDRESS_MAX, MSGID_MAX, CODES_MAX, REASON_MAX = 2000, 320, 998, 4000, 2000


@dataclass(frozen=True)
class IntakeResult:
    """What became of one mail."""

    message_pk: int
    case_id: int | None
    outcome: Outcome
    reason: str = ""


# -- quarantine reasons ---------------------------------------------------------------------------
def oversize_reason(size: int, limit: int) -> str:
    return (f"message is {size} bytes, over the {limit} byte limit "
            "(CONSULT_MAX_MESSAGE_BYTES)")


def parse_failed_reason(error: str) -> str:
    return f"could not parse the message: {error}"


def analysis_failed_reason(error: str) -> str:
    """``error``: the ``repr`` of the exception (also when it was raised in a worker)."""
    return f"analysis failed: {error}"


def intake_failed_reason(exc: BaseException) -> str:
    return f"intake failed: {exc!r}"


def unanswerable_reason(mail: ParsedMail) -> str:
    """Why a parsed mail is never answered automatically, or "" when it may be."""
    if mail.kind in UNANSWERABLE_KINDS:
        return f"{mail.kind.replace('_', ' ')}: {mail.kind_reason or 'automatic mail'}"
    if not mail.from_addr:
        return "no sender address to answer"
    return ""


def unusable_reason(mail: ParsedMail) -> str:
    return f"unusable mail: {mail.unusable}" if mail.unusable else ""


def claims_reason(msg_id: int | str, claimed: int) -> str:
    """``msg_id``: the mail's id, or ``"{msg}"`` in a planned event."""
    return (f"mail #{msg_id} claims to follow up Case #{claimed} (subject tag) but carries no "
            "reply token or thread headers of it, and its sender is not authenticated as that "
            "case's sender: kept apart")


# -- the plan -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlannedEvent:
    """An audit event of the new case; ``reason`` may name the mail as ``{msg}``."""

    action: str
    from_status: str
    to_status: str
    reason: str


@dataclass(frozen=True)
class NewCase:
    """The rows of a mail that starts a case, ids aside (see ``plan_new_case``).

    ``draft`` is None until ``with_draft`` makes it (the text names the case id); a mail that
    is quarantined has none.
    """

    mail: ParsedMail
    digest: Digest | None
    case: dict[str, Any]
    message: dict[str, Any]
    events: tuple[PlannedEvent, ...]
    outcome: Outcome
    reason: str = ""
    claims: int | None = None
    auth: str = ""
    source: str = ""
    now: datetime | None = None
    draft: DraftText | None = None
    #: The exception behind an analysis failure, for the writer's log (never in a row).
    error: BaseException | None = field(default=None, compare=False)

    @property
    def drafted(self) -> bool:
        return self.outcome == "case"

    def with_draft(self, case_id: int) -> NewCase:
        """The draft, now that the case has its id. A draft that could not be rendered is an
        analysis failure: the same mail is planned again, quarantined with the reason."""
        digest = self.digest
        if not self.drafted or digest is None:
            return self
        text = digest.for_case(case_id)
        if text is None:
            return plan_new_case(self.mail, None, source=self.source, now=self.now,
                                 failure=digest.draft_error, claims=self.claims, auth=self.auth,
                                 error=RemoteFailure(digest.draft_trace))
        return replace(self, draft=text)

    def event_rows(self, case_id: int, msg_id: int) -> list[dict[str, Any]]:
        return [{"case_id": case_id, "at": self.now, "actor": SYSTEM, "action": e.action,
                 "from_status": e.from_status, "to_status": e.to_status,
                 "reason": e.reason.replace("{msg}", str(msg_id))} for e in self.events]

    def draft_row(self, case_id: int) -> dict[str, Any] | None:
        """The first draft's row (after ``with_draft``), or None for a quarantined mail."""
        if self.draft is None or self.digest is None:
            return None
        return {"case_id": case_id, "version": 1, "author": SYSTEM,
                "body_text": self.draft.text, "body_html": self.draft.html,
                "kb_version": self.draft.kb_version,
                "analysis_json": self.digest.analysis_json(self.draft),
                "created_at": self.now}

    def result(self, case_id: int, msg_id: int) -> IntakeResult:
        return IntakeResult(msg_id, case_id, self.outcome, self.reason)


def message_fields(mail: ParsedMail) -> dict[str, Any]:
    """What the parse says in a mail's messages row (any outcome, follow-ups too)."""
    return {"subject": mail.subject[:SUBJECT_MAX], "from_addr": mail.from_addr[:ADDRESS_MAX],
            "in_reply_to": mail.in_reply_to[:MSGID_MAX] if mail.in_reply_to else None,
            "kind": mail.kind}


def plan_new_case(
    mail: ParsedMail,
    digest: Digest | None,
    *,
    source: str,
    now: datetime | None,
    refused: str = "",
    failure: str = "",
    claims: int | None = None,
    auth: str = "",
    error: BaseException | None = None,
) -> NewCase:
    """The rows of a new case for ``mail``.

    ``refused``: the caller would not analyse the mail (too big, over budget, unparseable, over
    the sender's quota, intake failed); ``failure``: its analysis raised (the ``repr``). Else a
    usable, answerable mail with a sender gets its analysis ``digest`` drafted; anything else
    is quarantined with the reason. ``claims`` (a bare ``[Case #N]`` tag) and ``auth`` (the
    trusted verdict on its From) are what threading found; they count for an analysed mail.
    """
    reason = refused or unusable_reason(mail) or unanswerable_reason(mail)
    analysed = not reason
    if analysed and digest is None and not failure:
        raise ValueError("plan_new_case: an analysed mail needs its digest or its failure")
    if analysed and failure:
        reason = analysis_failed_reason(failure)
    if not analysed:
        claims, auth = None, ""
    events = [PlannedEvent("received", "received", "received", f"mail #{{msg}} via {source}")]
    if claims is not None:
        events.append(PlannedEvent("claims_followup", "received", "received",
                                   claims_reason("{msg}", claims)))
    if reason:
        target, action, why = "quarantined", "quarantine", reason
    else:
        target, action, why = "awaiting_review", "drafted", "draft from mail #{msg}"
    if not cases.can_move("received", target):  # the lifecycle decides, as for any move
        raise ValueError(f"a new case cannot become {target}")
    events.append(PlannedEvent(action, "received", target, why))
    kept = None if reason else digest  # the digest of a mail that gets a draft
    case = {
        "status": target,
        "subject": mail.subject[:SUBJECT_MAX],
        "sender": mail.from_addr[:ADDRESS_MAX],
        "sender_name": mail.from_name[:ADDRESS_MAX],
        "created_at": now, "updated_at": now, "assignee": None,
        "quarantine_reason": reason or None,
        "reopen_count": 0,
        "codes": kept.codes[:CODES_MAX] if kept is not None else "",
        # a case row starts at version 1 and each move adds one (consult.cases.move)
        "row_version": 1 + sum(e.from_status != e.to_status for e in events),
        "needs_expert": kept is not None and kept.needs_expert,
        "expert_reason": kept.expert_reason[:REASON_MAX] if kept is not None else "",
        "sender_auth": auth,
        "claims_case_id": claims,
    }
    message = {**message_fields(mail), "processed": True, "error": reason or None}
    return NewCase(mail, kept, case, message, tuple(events),
                   "case" if kept is not None else "quarantined", reason, claims, auth, source, now,
                   error=error)
