"""Intake one mail at a time: store, parse, thread, analyse and queue it (the ORM path).

A mail that cannot be handled becomes a quarantined case with the reason, never an exception
that stops the worker and never an automatic answer: each mail runs in the per-message runner
(``consult.runner``) inside its own savepoint. Callers own the transaction (commit after a
mail or a batch).

Parsing and analysis happen before the first write of a mail (``AnalyzedMail``, made by a
``BatchAnalyzer``: the budgeted worker processes of ``workers.analysis_pool``, or in process), so a
slow mail never holds the database's write lock. A new case's rows come from
``consult.intake.plan.plan_new_case``, as in the batch path; a follow-up updates its case here.

Inbound mail may reopen a case at most ``settings.max_reopens`` times per verified sender (all
unverified mail shares one count), which stops ping-pong with a robot that slipped past the
auto-reply rules without letting forged mail use up the genuine sender's reopens.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from consult import cases
from consult.analyzed import AnalyzedMail, Digest, DraftText, RemoteFailure
from consult.config import Settings
from consult.intake.plan import (
    ADDRESS_MAX,
    CODES_MAX,
    REASON_MAX,
    SYSTEM,
    IntakeResult,
    NewCase,
    analysis_failed_reason,
    intake_failed_reason,
    message_fields,
    oversize_reason,
    parse_failed_reason,
    plan_new_case,
    unanswerable_reason,
)
from consult.intake.store import PENDING_BATCH_BYTES, pending, store_raw
from consult.intake.thread import Thread, find_thread, sender_verdict
from consult.kb.store import KnowledgeBase
from consult.mail.auth_results import AuthVerdict
from consult.mail.fingerprint import fingerprint
from consult.mail.message import ParsedMail
from consult.mail.parse import parse_headers
from consult.runner import Runner
from db.models import AuditEvent, Case, Draft, Message, Reopen

log = logging.getLogger(__name__)

#: Statuses a follow-up brings back to the review queue; all but awaiting_info count as reopens.
REOPENING = frozenset({"approved", "sent", "closed"})

#: Parse, extract and evaluate new mails ahead (``ingest_batch(prepare=...)``): one result per
#: raw message, in order, None where the intake should do it itself.
BatchAnalyzer = Callable[[Sequence[bytes]], Iterator[AnalyzedMail | None]]


def own_addresses(settings: Settings) -> frozenset[str]:
    """Our own addresses (lower case): mail from them is a loop."""
    return frozenset({settings.from_address.lower()})


def analyze_here(raw: bytes, kb: KnowledgeBase, settings: Settings) -> AnalyzedMail:
    """``consult.pipeline.analyze_raw`` in this process. The core is imported on first use:
    with a pool of analysis workers the intake never loads it (a fifth of its start-up)."""
    from consult.pipeline import analyze_raw

    return analyze_raw(raw, kb, own_addresses=own_addresses(settings))


def in_process(kb: KnowledgeBase, settings: Settings) -> BatchAnalyzer:
    """A ``BatchAnalyzer`` that parses and analyses here, one mail after the other (no budget)."""

    def run(raws: Sequence[bytes]) -> Iterator[AnalyzedMail | None]:
        for raw in raws:
            yield analyze_here(raw, kb, settings)

    return run


def analysis_of(mail: ParsedMail, kb: KnowledgeBase,
                prepared: AnalyzedMail | None) -> tuple[Digest | None, str, BaseException | None]:
    """The mail's analysis digest, reusing a prepared one: (digest, "", None), or (None, the
    exception's ``repr``, the exception) when it failed here or where prepared."""
    if prepared is not None and prepared.mail is not None:
        if prepared.analysis_error:
            return None, prepared.analysis_error, RemoteFailure(prepared.trace)
        if prepared.digest is not None:
            return prepared.digest, "", None
    from consult.pipeline import digest_mail

    try:
        return digest_mail(mail, kb), "", None
    except Exception as exc:
        return None, repr(exc), exc


def log_new_case(plan: NewCase, case_id: int, msg_id: int) -> None:
    """The log line of a new case that was not drafted (the reason, never the mail)."""
    if plan.error is not None:
        log.error("analysis failed on mail #%s", msg_id, exc_info=plan.error)
    elif not plan.drafted:
        log.info("mail #%s quarantined on case #%s: %s", msg_id, case_id, plan.reason)


def write_new_case(session: Session, msg: Message, plan: NewCase) -> IntakeResult:
    """Write a planned new case with the ORM; ``msg`` is stored (it has its id)."""
    case = Case(**plan.case)
    session.add(case)
    session.flush()
    case_id = case.id
    assert case_id is not None and msg.id is not None
    drafted = plan.with_draft(case_id)
    if drafted.case != plan.case:  # the draft failed: the case is quarantined instead
        for name, value in drafted.case.items():
            setattr(case, name, value)
    for name, value in drafted.message.items():
        setattr(msg, name, value)
    msg.case_id = case_id
    session.add(msg)
    draft = drafted.draft_row(case_id)
    if draft is not None:
        session.add(Draft(**draft))
    for event in drafted.event_rows(case_id, msg.id):
        session.add(AuditEvent(**event))
    log_new_case(drafted, case_id, msg.id)
    return drafted.result(case_id, msg.id)


def quarantine_stored(session: Session, msg: Message, reason: str, *, now: datetime,
                      own: frozenset[str] = frozenset()) -> IntakeResult:
    """Quarantine a stored mail that is not analysed (too big, over budget, unparseable, the
    intake failed) as a new case that still shows its subject and sender, from its headers."""
    mail = parse_headers(msg.raw, own_addresses=own)
    plan = plan_new_case(mail, None, source=msg.source, now=now, refused=reason)
    return write_new_case(session, msg, plan)


def process_message(
    session: Session, msg: Message, kb: KnowledgeBase, settings: Settings, *, now: datetime,
    prepared: AnalyzedMail | None = None,
) -> IntakeResult:
    """Parse, thread, analyse and queue one stored message. Never raises for a bad mail.

    ``prepared`` is the mail's parse and analysis, done ahead (before the caller's first
    write); without it they are done here.
    """
    own = own_addresses(settings)
    if msg.size > settings.max_message_bytes:
        return quarantine_stored(session, msg, oversize_reason(msg.size,
                                 settings.max_message_bytes), now=now, own=own)
    if prepared is None or (prepared.mail is None and not prepared.parse_error
                            and not prepared.over_budget):
        prepared = analyze_here(msg.raw, kb, settings)
    if prepared.over_budget:
        return quarantine_stored(session, msg, prepared.over_budget, now=now, own=own)
    if prepared.mail is None:
        log.error("parser failed on mail #%s (%s)", msg.id, msg.fingerprint[:12],
                  exc_info=RemoteFailure(prepared.trace))
        return quarantine_stored(session, msg, parse_failed_reason(prepared.parse_error),
                                 now=now, own=own)
    return process_parsed(session, msg, prepared.mail, kb, settings, now=now,
                          prepared=prepared)


def process_parsed(
    session: Session, msg: Message, mail: ParsedMail, kb: KnowledgeBase, settings: Settings, *,
    now: datetime, prepared: AnalyzedMail | None = None,
) -> IntakeResult:
    """Thread, analyse and queue a stored message that is already parsed.

    ``prepared`` (from ``consult.pipeline.analyze_raw``) saves extracting, evaluating and
    drafting again.
    """
    for name, value in message_fields(mail).items():
        setattr(msg, name, value)
    if mail.unusable:
        plan = plan_new_case(mail, None, source=msg.source, now=now)
        return write_new_case(session, msg, plan)
    auth = sender_verdict(mail, settings)
    thread = find_thread(session, mail, settings, auth)
    if thread.case is not None:
        return process_followup(session, msg, mail, thread, auth, kb, settings, now=now,
                                prepared=prepared)
    digest, failure, error = (None, "", None) if unanswerable_reason(mail) else (
        analysis_of(mail, kb, prepared))
    plan = plan_new_case(mail, digest, source=msg.source, now=now, failure=failure,
                         claims=thread.claims, auth=auth.label, error=error)
    return write_new_case(session, msg, plan)


def process_followup(
    session: Session, msg: Message, mail: ParsedMail, thread: Thread, auth: AuthVerdict,
    kb: KnowledgeBase, settings: Settings, *, now: datetime, prepared: AnalyzedMail | None = None,
) -> IntakeResult:
    """A mail that joins ``thread.case``: noted on the case, re-drafted, back in the queue
    (unless it is automatic mail, the case is quarantined or the reopen cap is reached)."""
    case = thread.case
    assert case is not None and case.id is not None and msg.id is not None
    msg.case_id = case.id
    reason = unanswerable_reason(mail)
    if reason:
        return _quarantine_followup(session, msg, case, reason, now)
    reopener = mail.from_addr.lower()[:ADDRESS_MAX] if thread.verified else ""
    if case.status in REOPENING:
        used = _reopens(session, case, reopener)
        if used >= settings.max_reopens:
            who = f"by {reopener}" if reopener else "by unverified senders"
            cases.note(session, case, actor=SYSTEM, action="reopen_refused", now=now,
                       reason=f"mail #{msg.id}: reopened {used} times {who} already "
                              f"(CONSULT_MAX_REOPENS={settings.max_reopens})")
            msg.processed = True
            session.add(msg)
            return IntakeResult(msg.id, case.id, "followup",
                                "reopen cap reached: kept on the case, not re-queued")
    if auth.fails:
        case.sender_auth = "fail"
    sender_note = ("" if case.sender.lower() == mail.from_addr.lower()
                   else f" from {mail.from_addr}, not the case's sender")
    cases.note(session, case, actor=SYSTEM, action="followup", now=now,
               reason=f"mail #{msg.id} joined the case by {thread.via}{sender_note}")
    digest, failure, error = analysis_of(mail, kb, prepared)
    text = digest.for_case(case.id) if digest is not None else None
    if digest is not None and text is None:  # the draft could not be rendered
        failure, error = digest.draft_error, RemoteFailure(digest.draft_trace)
    if digest is None or text is None:
        log.error("analysis failed on mail #%s", msg.id, exc_info=error)
        msg.processed, msg.error = True, analysis_failed_reason(failure)
        session.add(msg)
        return IntakeResult(msg.id, case.id, "quarantined", msg.error)
    _save_draft(session, case, digest, text, now)
    if case.status not in ("quarantined", "awaiting_review"):
        # an admin decides about a quarantined case; a follow-up never releases it
        if case.status in REOPENING:
            case.reopen_count += 1
            session.add(Reopen(case_id=case.id, sender=reopener, message_id=msg.id, at=now))
        if cases.can_move(case.status, "awaiting_review"):
            cases.move(session, case, "awaiting_review", actor=SYSTEM, action="drafted", now=now,
                       reason=f"draft from mail #{msg.id}")
    msg.processed = True
    session.add(msg)
    return IntakeResult(msg.id, case.id, "followup")


def _quarantine_followup(session: Session, msg: Message, case: Case, reason: str,
                         now: datetime) -> IntakeResult:
    """Automatic mail on an existing case: noted there, never answered."""
    cases.note(session, case, actor=SYSTEM, action="unanswerable_mail", now=now,
               reason=f"mail #{msg.id}: {reason}")
    msg.processed, msg.error = True, reason
    session.add(msg)
    log.info("mail #%s quarantined on case #%s: %s", msg.id, case.id, reason)
    return IntakeResult(msg.id, case.id, "quarantined", reason)  # type: ignore[arg-type]


def _save_draft(session: Session, case: Case, digest: Digest, text: DraftText,
                now: datetime) -> Draft:
    """A follow-up's draft: the next version, and the case's codes and expert flag."""
    last = session.exec(
        select(func.max(Draft.version)).where(Draft.case_id == case.id)).one()
    assert case.id is not None
    draft = Draft(case_id=case.id, version=(last or 0) + 1, author=SYSTEM,
                  body_text=text.text, body_html=text.html, kb_version=text.kb_version,
                  analysis_json=digest.analysis_json(text), created_at=now)
    session.add(draft)
    case.codes = digest.codes[:CODES_MAX]
    case.needs_expert = digest.needs_expert
    case.expert_reason = digest.expert_reason[:REASON_MAX]
    session.add(case)
    return draft


def _reopens(session: Session, case: Case, sender: str) -> int:
    """How often ``sender`` ("" for the unverified) reopened ``case``."""
    return int(session.exec(select(func.count()).select_from(Reopen).where(
        Reopen.case_id == case.id, Reopen.sender == sender)).one())


def _runner(session: Session, kb: KnowledgeBase, settings: Settings, *, now: datetime,
            prepared: Callable[[Message], AnalyzedMail | None]) -> Runner[Message, IntakeResult]:
    """The per-message runner of stored mail: each in a savepoint; a failure outside the
    parse and analysis guards (a bug, a constraint) quarantines the mail with the reason."""
    own = own_addresses(settings)
    return Runner(
        "intake",
        handle=lambda msg: process_message(session, msg, kb, settings, now=now,
                                           prepared=prepared(msg)),
        on_failure=lambda msg, exc: quarantine_stored(session, msg, intake_failed_reason(exc),
                                                      now=now, own=own),
        label=lambda msg: f"mail #{msg.id}",
        boundary=session.begin_nested,
    )


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
    prepared: AnalyzedMail | None = None,
) -> IntakeResult:
    """Store and process one mail in the caller's transaction.

    The mail is parsed and analysed (here, unless ``prepared`` is given) before the first
    write, so the transaction holds no write lock while that runs.
    """
    known = session.exec(select(Message.id, Message.case_id, Message.processed)
                         .where(Message.fingerprint == fingerprint(raw))).first()
    if known is not None and known[2]:
        return IntakeResult(known[0], known[1], "duplicate")  # type: ignore[arg-type]
    if prepared is None and len(raw) <= settings.max_message_bytes:
        prepared = analyze_here(raw, kb, settings)
    msg, created = store_raw(session, raw, source=source, now=now, mailbox=mailbox,
                             uidvalidity=uidvalidity, uid=uid)
    if not created and msg.processed:
        return IntakeResult(msg.id, msg.case_id, "duplicate")  # type: ignore[arg-type]
    session.flush()
    return _runner(session, kb, settings, now=now, prepared=lambda _m: prepared).run_one(msg)


def quarantine_raw(
    session: Session,
    raw: bytes,
    reason: str,
    *,
    source: str,
    now: datetime,
    mailbox: str | None = None,
    uidvalidity: int | None = None,
    uid: int | None = None,
) -> IntakeResult:
    """Keep the bytes of a mail that failed even on its own, as a quarantined case, unparsed.

    The poller's last resort: whatever broke the intake, the mail is stored, visible to an
    admin with the reason, and the mailbox moves on.
    """
    msg, created = store_raw(session, raw, source=source, now=now, mailbox=mailbox,
                             uidvalidity=uidvalidity, uid=uid)
    if not created and msg.processed:
        return IntakeResult(msg.id, msg.case_id, "duplicate")  # type: ignore[arg-type]
    session.flush()
    return quarantine_stored(session, msg, reason, now=now)


def process_pending(
    session: Session, kb: KnowledgeBase, settings: Settings, *, now: datetime, limit: int = 200,
    prepare: BatchAnalyzer | None = None, max_bytes: int | None = PENDING_BATCH_BYTES,
    claim: bool = False,
) -> list[IntakeResult]:
    """Process a batch of stored mail (``limit`` mails, about ``max_bytes`` of them), each in
    the per-message runner, so one failure never blocks the rest; the caller commits and calls
    again while it returns results.

    All of them are parsed and analysed first (by ``prepare``, e.g. the budgeted pool, else
    here), then written: the write lock is held for the writes only. ``claim``: lock the batch
    (``pending(claim=True)``) until the caller commits, so other workers take other mail.
    """
    msgs = pending(session, limit, max_bytes, claim=claim)
    if not msgs:
        return []
    here = in_process(kb, settings)
    small = [m for m in msgs if m.size <= settings.max_message_bytes]
    got = list((prepare or here)([m.raw for m in small])) if small else []
    ahead: dict[int, AnalyzedMail | None] = {id(m): p for m, p in zip(small, got, strict=True)}
    for m in small:
        if ahead[id(m)] is None:  # the pool could not do it
            ahead[id(m)] = next(iter(here([m.raw])))
    runner = _runner(session, kb, settings, now=now, prepared=lambda m: ahead.get(id(m)))
    return runner.run(msgs).results
