"""Intake: store the raw bytes first, then parse, thread, analyse and put a draft in the queue.

Nothing is ever lost: ``store_raw`` writes the exact bytes before anything can fail, and a mail
that cannot be handled becomes a quarantined case with the reason, never an exception that stops
the worker and never an automatic answer. Callers own the transaction (commit after a batch).

Parsing and analysis happen before the first write of a mail (``Prepared``, made by a
``Preparer``: the budgeted worker processes of ``workers.analysis_pool``, or in process), so a
slow mail never holds the database's write lock; a mail over its budget is quarantined with the
reason and its subject and sender (read from its headers alone), and the queue goes on.

Threading never answers the wrong mail: a follow-up joins a case by a reply+token address (an
HMAC no stranger can forge) or by In-Reply-To/References; a bare ``[Case #N]`` subject tag joins
only when the mail comes from the case's own sender *and* our receiving server authenticated that
From (a trusted Authentication-Results pass), else it starts a new case marked as claiming #N.
Inbound mail may reopen a case at most ``settings.max_reopens`` times per verified sender (all
unverified mail shares one count), which stops ping-pong with a robot that slipped past the
auto-reply rules without letting forged mail use up the genuine sender's reopens.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import Table, func, insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from consult import cases
from consult.config import Settings
from consult.draft import render_draft
from consult.errors import QuotaExceeded
from consult.kb.store import KnowledgeBase
from consult.mail.auth_results import AuthVerdict, verdict
from consult.mail.fingerprint import fingerprint, header_values, split_head
from consult.mail.headers import normalize_msgid
from consult.mail.message import UNANSWERABLE_KINDS, ParsedMail
from consult.mail.parse import parse_headers
from consult.mail.reply_token import case_from_addresses
from consult.pipeline import Analysis, Prepared, analyze_mail, prepare
from db.models import AuditEvent, Case, Draft, Message, Reopen

log = logging.getLogger(__name__)

Outcome = Literal["case", "followup", "quarantined", "duplicate"]
SYSTEM = "system"
_CASE_TAG = re.compile(r"\[Case #(\d{1,18})\]", re.IGNORECASE)
#: The default of ``settings.max_reopens``.
MAX_REOPENS = 5
#: Headers that may carry the address the mail was delivered to (a reply+token address).
_RECIPIENT_HEADERS = ("delivered-to", "x-original-to", "envelope-to", "x-delivered-to")
#: Statuses a follow-up brings back to the review queue; all but awaiting_info count as reopens.
_REOPENING = frozenset({"approved", "sent", "closed"})
#: A chunk's new cases are written at least this often, so the writes of the first mails
#: overlap the analysis of the next ones when a pool prepares them (the rows are the same).
GROUP_WRITE = 64

#: Parse, extract and evaluate new mails ahead (``ingest_batch(prepare=...)``): one result per
#: raw message, in order, None where the intake should do it itself.
Preparer = Callable[[Sequence[bytes]], Iterator[Prepared | None]]


def in_process(kb: KnowledgeBase, settings: Settings) -> Preparer:
    """A ``Preparer`` that parses and analyses here, one mail after the other (no budget)."""
    own = own_addresses(settings)

    def run(raws: Sequence[bytes]) -> Iterator[Prepared | None]:
        for raw in raws:
            yield prepare(raw, kb, own_addresses=own)

    return run


def _oversize(size: int, settings: Settings) -> str:
    return (f"message is {size} bytes, over the {settings.max_message_bytes} byte limit "
            "(CONSULT_MAX_MESSAGE_BYTES)")


class RemoteFailure(Exception):
    """An exception raised where a mail was prepared; its text is the traceback there."""


@dataclass(frozen=True)
class IntakeResult:
    """What became of one mail."""

    message_pk: int
    case_id: int | None
    outcome: Outcome
    reason: str = ""


@dataclass(frozen=True)
class Arrival:
    """One mail handed to ``ingest_batch``: its bytes and, for IMAP, its UID."""

    raw: bytes
    uid: int | None = None


def _header_msgid(raw: bytes) -> str | None:
    value = header_values(split_head(raw)[0]).get(b"message-id")
    if not value:
        return None
    return normalize_msgid(value.decode("ascii", "replace"))


def _new_message(raw: bytes, fp: str, *, source: str, now: datetime, mailbox: str | None,
                 uidvalidity: int | None, uid: int | None) -> Message:
    msgid = _header_msgid(raw)
    return Message(fingerprint=fp, message_id=msgid[:998] if msgid else None, source=source,
                   mailbox=mailbox, uidvalidity=uidvalidity, uid=uid, size=len(raw),
                   received_at=now, raw=raw)


def store_raw(
    session: Session,
    raw: bytes,
    *,
    source: str,
    now: datetime,
    mailbox: str | None = None,
    uidvalidity: int | None = None,
    uid: int | None = None,
    sender: str = "",
) -> tuple[Message, bool]:
    """Store the exact bytes; return (message, created). A duplicate returns the stored one.

    ``sender`` (the From address, when the caller read it) counts the bytes to its quota.
    """
    fp = fingerprint(raw)
    existing = session.exec(select(Message).where(Message.fingerprint == fp)).first()
    if existing is not None:
        return existing, False
    msg = _new_message(raw, fp, source=source, now=now, mailbox=mailbox,
                       uidvalidity=uidvalidity, uid=uid)
    msg.from_addr = sender[:320]
    try:
        with session.begin_nested():
            session.add(msg)
    except IntegrityError:
        existing = session.exec(select(Message).where(Message.fingerprint == fp)).one()
        return existing, False
    return msg, True


#: The window of the per-sender storage quota.
QUOTA_WINDOW = timedelta(hours=24)


def stored_bytes(session: Session, sender: str, *, now: datetime) -> int:
    """Bytes of inbound mail from ``sender`` stored within the quota window."""
    total = session.exec(
        select(func.coalesce(func.sum(Message.size), 0)).where(
            Message.from_addr == sender[:320], Message.direction == "in",
            col(Message.received_at) >= now - QUOTA_WINDOW)
    ).one()
    return int(total)


def check_quota(session: Session, sender: str, size: int, settings: Settings, *,
                now: datetime, used: int | None = None) -> None:
    """Raise QuotaExceeded when ``size`` more bytes from ``sender`` would pass the quota.

    ``used``: what the caller already knows is stored (else it is counted here)."""
    quota = int(settings.sender_quota_mb * 1024 * 1024)
    if quota <= 0 or not sender:
        return
    if used is None:
        used = stored_bytes(session, sender, now=now)
    if used + size > quota:
        raise QuotaExceeded(
            f"{sender} stored {used:,} bytes in the last 24 hours; {size:,} more would pass "
            f"the {settings.sender_quota_mb:g} MB quota (CONSULT_SENDER_QUOTA_MB)")


def _recipients(mail: ParsedMail) -> list[str]:
    found = [*mail.to, *mail.cc]
    for name in _RECIPIENT_HEADERS:
        for value in mail.headers.get(name, []):
            found.extend(re.findall(r"[^\s<>,;\"]+@[^\s<>,;\"]+", value))
    return found


@dataclass(frozen=True)
class Thread:
    """What threading found: the case (or None), how, whether the sender is proven, and the
    case a bare ``[Case #N]`` tag claimed without the right to join it."""

    case: Case | None
    via: str = ""
    verified: bool = False
    claims: int | None = None


def sender_verdict(mail: ParsedMail, settings: Settings | None) -> AuthVerdict:
    """Our receiving server's verdict on the mail's From (empty unless its id is trusted)."""
    if settings is None:
        return AuthVerdict()
    return verdict(mail.headers.get("authentication-results", []), mail.from_addr,
                   settings.authserv_ids)


def _thread_case(session: Session, mail: ParsedMail, settings: Settings | None = None,
                 auth: AuthVerdict | None = None) -> Thread:
    """The case this mail answers: a reply token, In-Reply-To/References, or a subject tag.

    A subject tag alone is easy to forge, so it joins only a case whose sender is the mail's
    From *and* whose From our receiving server authenticated (``auth``); otherwise the mail
    starts a new case marked as claiming that one. ``verified``: a reply token, or a trusted
    pass from the case's own sender (reopens are counted per verified sender).
    """
    auth = auth if auth is not None else sender_verdict(mail, settings)
    sender = (mail.from_addr or "").lower()
    secret = settings.secret_key.get_secret_value() if settings else ""
    if settings is not None and secret:
        token_case = case_from_addresses(_recipients(mail), settings.from_address, secret)
        if token_case is not None:
            case = session.get(Case, token_case)
            if case is not None:
                return Thread(case, "reply address token", verified=True)
    ids = [i for i in dict.fromkeys([mail.in_reply_to, *reversed(mail.references)]) if i]
    if ids:
        hit = session.exec(
            select(Message.case_id)
            .where(col(Message.message_id).in_(ids[:100]), col(Message.case_id).is_not(None))
            .order_by(col(Message.id).desc())
        ).first()
        if hit is not None:
            case = session.get(Case, hit)
            verified = case is not None and case.sender.lower() == sender and auth.passes
            return Thread(case, "In-Reply-To/References", verified=verified)
    tag = _CASE_TAG.search(mail.subject or "")
    if tag:
        case = session.get(Case, int(tag.group(1)))
        if case is not None and case.sender.lower() == sender and auth.passes:
            return Thread(case, "subject tag (sender authenticated)", verified=True)
        if case is not None:
            log.info("mail names Case #%s without a reply token, its headers or an "
                     "authenticated sender: a new case", case.id)
            return Thread(None, claims=case.id)
    return Thread(None)


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
        if mail is None:  # the case still shows who sent what
            mail = parse_headers(msg.raw)
            msg.subject, msg.from_addr = mail.subject[:2000], mail.from_addr[:320]
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


def _save_draft(session: Session, case: Case, analysis: Analysis, now: datetime, *,
                first: bool = False) -> Draft:
    last = None if first else session.exec(
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
    case.needs_expert = analysis.needs_expert
    case.expert_reason = analysis.expert_reason[:2000]
    session.add(case)
    return draft


def own_addresses(settings: Settings) -> frozenset[str]:
    """Our own addresses (lower case): mail from them is a loop."""
    return frozenset({settings.from_address.lower()})


def process_message(
    session: Session, msg: Message, kb: KnowledgeBase, settings: Settings, *, now: datetime,
    prepared: Prepared | None = None,
) -> IntakeResult:
    """Parse, thread, analyse and queue one stored message. Never raises for a bad mail.

    ``prepared`` is the mail's parse and analysis, done ahead (before the caller's first
    write); without it they are done here.
    """
    own = own_addresses(settings)
    if msg.size > settings.max_message_bytes:
        return _refused(session, msg, _oversize(msg.size, settings), own, kb, settings, now)
    if prepared is None or (prepared.mail is None and not prepared.parse_error
                            and not prepared.over_budget):
        prepared = prepare(msg.raw, kb, own_addresses=own)
    if prepared.over_budget:
        return _refused(session, msg, prepared.over_budget, own, kb, settings, now)
    if prepared.mail is None:
        log.error("parser failed on mail #%s (%s)", msg.id, msg.fingerprint[:12],
                  exc_info=RemoteFailure(prepared.trace))
        return _refused(session, msg, f"could not parse the message: {prepared.parse_error}",
                        own, kb, settings, now)
    result = process_parsed(session, msg, prepared.mail, kb, settings, now=now,
                            prepared=prepared)
    assert result is not None  # only a batch defers
    return result


def _refused(session: Session, msg: Message, reason: str, own: frozenset[str],
             kb: KnowledgeBase, settings: Settings, now: datetime) -> IntakeResult:
    """Quarantine a mail that is not analysed (too big, over budget, unparseable) as a new case
    that still shows its subject and sender, read from the headers alone."""
    result = process_parsed(session, msg, parse_headers(msg.raw, own_addresses=own), kb,
                            settings, now=now, refuse=reason)
    assert result is not None
    return result


def process_parsed(
    session: Session, msg: Message, mail: ParsedMail, kb: KnowledgeBase, settings: Settings, *,
    now: datetime, batch: _FreshGroup | None = None, prepared: Prepared | None = None,
    refuse: str = "",
) -> IntakeResult | None:
    """Thread, analyse and queue a stored message that is already parsed.

    With ``batch`` (``ingest_batch``), ``msg`` is not in the session yet: a mail that starts a
    new case (or is quarantined as one) goes to the batch, written later with Core inserts, and
    None is returned; a follow-up is added to the session and handled here, as without it.
    ``prepared`` (from ``consult.pipeline.prepare``) saves extracting and evaluating again.
    ``refuse``: quarantine the mail with this reason (as a new case) without analysing it.
    """
    msg.subject = mail.subject[:2000]
    msg.from_addr = mail.from_addr[:320]
    msg.in_reply_to = mail.in_reply_to[:998] if mail.in_reply_to else None
    msg.kind = mail.kind
    if refuse or mail.unusable:
        reason = refuse or f"unusable mail: {mail.unusable}"
        if batch is not None:
            batch.add(msg, mail, reason=reason)
            return None
        return _quarantine(session, msg, mail, reason, now)

    if batch is not None and batch.may_thread(mail, settings):
        batch.write()  # the mail may answer one of the batch: it must be in the database
    auth = sender_verdict(mail, settings)
    thread = _thread_case(session, mail, settings, auth)
    case, via = thread.case, thread.via
    if batch is not None:
        if case is None:
            batch.add_new(msg, mail, prepared, claims=thread.claims, auth=auth.label)
            return None
        batch.write()  # a follow-up goes the ORM way, after the mails before it
        session.add(msg)
    if case is not None and msg.id is None:
        session.flush()  # the audit notes below name the mail by its id
    if mail.kind in UNANSWERABLE_KINDS:
        reason = f"{mail.kind.replace('_', ' ')}: {mail.kind_reason or 'automatic mail'}"
        return _quarantine(session, msg, mail, reason, now, case=case)
    if not mail.from_addr:
        return _quarantine(session, msg, mail, "no sender address to answer", now, case=case)

    outcome: Outcome = "followup" if case is not None else "case"
    reopener = ""  # the reopen count this mail uses: its verified sender, or "" (unverified)
    if case is None:
        case = _new_case(session, mail, msg, now)
        case.sender_auth = auth.label
        if thread.claims is not None:
            case.claims_case_id = thread.claims
            cases.note(session, case, actor=SYSTEM, action="claims_followup", now=now,
                       reason=_claims_reason(msg.id, thread.claims))  # type: ignore[arg-type]
    else:
        reopener = mail.from_addr.lower()[:320] if thread.verified else ""
        if case.status in _REOPENING:
            used = _reopens(session, case, reopener)
            if used >= settings.max_reopens:
                who = f"by {reopener}" if reopener else "by unverified senders"
                cases.note(session, case, actor=SYSTEM, action="reopen_refused", now=now,
                           reason=f"mail #{msg.id}: reopened {used} times {who} already "
                                  f"(CONSULT_MAX_REOPENS={settings.max_reopens})")
                msg.case_id, msg.processed = case.id, True
                session.add(msg)
                return IntakeResult(msg.id, case.id, "followup",  # type: ignore[arg-type]
                                    "reopen cap reached: kept on the case, not re-queued")
        if auth.fails:
            case.sender_auth = "fail"
        sender_note = ("" if case.sender.lower() == mail.from_addr.lower()
                       else f" from {mail.from_addr}, not the case's sender")
        cases.note(session, case, actor=SYSTEM, action="followup", now=now,
                   reason=f"mail #{msg.id} joined the case by {via}{sender_note}")
    msg.case_id = case.id
    try:
        analysis = _analysis_with_draft(mail, kb, case.id, prepared)  # type: ignore[arg-type]
    except Exception as exc:
        log.exception("analysis failed on mail #%s", msg.id)
        error = f"analysis failed: {_failure_text(exc)}"
        if outcome == "case":
            case.quarantine_reason = error
            cases.move(session, case, "quarantined", actor=SYSTEM, action="quarantine", now=now,
                       reason=case.quarantine_reason)
        msg.processed = True
        msg.error = error
        session.add(msg)
        return IntakeResult(msg.id, case.id, "quarantined", msg.error)  # type: ignore[arg-type]

    _save_draft(session, case, analysis, now, first=outcome == "case")
    if case.status == "quarantined":
        # an admin decides about a quarantined case; a follow-up never releases it
        pass
    elif case.status != "awaiting_review":
        if case.status in _REOPENING:
            case.reopen_count += 1
            session.add(Reopen(case_id=case.id, sender=reopener,  # type: ignore[arg-type]
                               message_id=msg.id, at=now))
        if cases.can_move(case.status, "awaiting_review"):
            cases.move(session, case, "awaiting_review", actor=SYSTEM, action="drafted", now=now,
                       reason=f"draft from mail #{msg.id}")
    msg.processed = True
    session.add(msg)
    return IntakeResult(msg.id, case.id, outcome)  # type: ignore[arg-type]


def _claims_reason(msg_id: int, claimed: int) -> str:
    return (f"mail #{msg_id} claims to follow up Case #{claimed} (subject tag) but carries no "
            "reply token or thread headers of it, and its sender is not authenticated as that "
            "case's sender: kept apart")


def _reopens(session: Session, case: Case, sender: str) -> int:
    """How often ``sender`` ("" for the unverified) reopened ``case``."""
    return int(session.exec(select(func.count()).select_from(Reopen).where(
        Reopen.case_id == case.id, Reopen.sender == sender)).one())


class _PreparedFailure(RemoteFailure):
    """A prepared analysis failed: ``text`` is the ``repr`` of the original exception."""

    def __init__(self, text: str, trace: str) -> None:
        super().__init__(trace)
        self.text = text


def _failure_text(exc: BaseException) -> str:
    """What a quarantine reason says about ``exc``: the same for a prepared failure."""
    return exc.text if isinstance(exc, _PreparedFailure) else repr(exc)


def _analysis_with_draft(mail: ParsedMail, kb: KnowledgeBase, case_id: int,
                         prepared: Prepared | None) -> Analysis:
    """``analyze_mail`` with a draft, reusing a prepared extraction and findings."""
    if prepared is None or prepared.mail is None:
        return analyze_mail(mail, kb, case_id=case_id)
    if prepared.analysis_error:
        raise _PreparedFailure(prepared.analysis_error, prepared.trace)
    if prepared.analysis is None:
        return analyze_mail(mail, kb, case_id=case_id)
    analysis = prepared.analysis
    if mail.kind not in UNANSWERABLE_KINDS:
        analysis.draft = render_draft(mail, analysis.extraction, analysis.findings, kb,
                                      case_id=case_id, parts=analysis.parts)
    return analysis


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
    prepared: Prepared | None = None,
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
        prepared = prepare(raw, kb, own_addresses=own_addresses(settings))
    msg, created = store_raw(session, raw, source=source, now=now, mailbox=mailbox,
                             uidvalidity=uidvalidity, uid=uid)
    if not created and msg.processed:
        return IntakeResult(msg.id, msg.case_id, "duplicate")  # type: ignore[arg-type]
    session.flush()
    try:
        with session.begin_nested():
            return process_message(session, msg, kb, settings, now=now, prepared=prepared)
    except Exception as exc:  # last line of defence: keep the bytes, say why
        log.exception("intake failed on mail #%s", msg.id)
        with session.begin_nested():
            return _quarantine(session, msg, None, f"intake failed: {exc!r}", now)


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
    return _quarantine(session, msg, None, reason, now)


@dataclass
class _Fresh:
    """A mail of a chunk that starts a new case (maybe quarantined), not written yet.

    ``reason``: quarantined before analysis; ``analysis``: drafted once the case has its id;
    ``error``: the analysis failed (the case is quarantined, as in ``process_parsed``).
    """

    index: int
    msg: Message
    mail: ParsedMail | None
    reason: str = ""
    analysis: Analysis | None = None
    error: str = ""
    exc: BaseException | None = None
    claims: int | None = None
    auth: str = ""


class _FreshGroup:
    """The new cases of a chunk, written with a handful of multi-row Core statements.

    The ORM costs more than the whole pure core here (a flush per case to learn its id, a
    validated SQLModel object and an INSERT per row), so a chunk's new cases skip it: cases and
    messages are inserted with ``RETURNING id`` in one executemany each, then drafts and audit
    events in one each. The rows are exactly those ``process_parsed`` writes one by one.
    ``written`` receives (chunk index, result) pairs in arrival order.
    """

    def __init__(self, session: Session, kb: KnowledgeBase, *, now: datetime,
                 written: Callable[[list[tuple[int, IntakeResult]]], None]) -> None:
        self.session, self.kb, self.now, self.written = session, kb, now, written
        self.index = 0  # the chunk index of the mail being handled, set by ingest_batch
        self.items: list[_Fresh] = []
        self.fps: set[str] = set()
        self.msgids: set[str] = set()
        self.senders: set[str] = set()

    def add(self, msg: Message, mail: ParsedMail | None, *, reason: str = "",
            analysis: Analysis | None = None, error: str = "",
            exc: BaseException | None = None, claims: int | None = None,
            auth: str = "") -> None:
        self.items.append(_Fresh(self.index, msg, mail, reason, analysis, error, exc, claims,
                                 auth))
        self.fps.add(msg.fingerprint)
        if msg.message_id:
            self.msgids.add(msg.message_id)
        if mail is not None and mail.from_addr:
            self.senders.add(mail.from_addr[:320].lower())

    def add_new(self, msg: Message, mail: ParsedMail, prepared: Prepared | None = None, *,
                claims: int | None = None, auth: str = "") -> None:
        """A mail threading found no case for: quarantined or analysed, as ``process_parsed``."""
        if mail.kind in UNANSWERABLE_KINDS:
            self.add(msg, mail, reason=f"{mail.kind.replace('_', ' ')}: "
                                       f"{mail.kind_reason or 'automatic mail'}")
        elif not mail.from_addr:
            self.add(msg, mail, reason="no sender address to answer")
        elif prepared is not None and prepared.analysis_error:
            self.add(msg, mail, error=f"analysis failed: {prepared.analysis_error}",
                     exc=RemoteFailure(prepared.trace), claims=claims, auth=auth)
        elif prepared is not None and prepared.analysis is not None:
            self.add(msg, mail, analysis=prepared.analysis, claims=claims, auth=auth)
        else:
            try:
                self.add(msg, mail, analysis=analyze_mail(mail, self.kb, with_draft=False),
                         claims=claims, auth=auth)
            except Exception as exc:
                self.add(msg, mail, error=f"analysis failed: {exc!r}", exc=exc, claims=claims,
                         auth=auth)

    def may_thread(self, mail: ParsedMail, settings: Settings) -> bool:
        """Whether threading ``mail`` could hit a case of this group (then write it first)."""
        if not self.items:
            return False
        if self.msgids.intersection([mail.in_reply_to, *mail.references]):
            return True
        if (_CASE_TAG.search(mail.subject or "")
                and (mail.from_addr or "").lower() in self.senders):
            return True
        secret = settings.secret_key.get_secret_value()
        return bool(secret) and case_from_addresses(
            _recipients(mail), settings.from_address, secret) is not None

    def write(self) -> None:
        """Insert the group and hand its results to ``written``."""
        items, self.items = self.items, []
        self.fps, self.msgids, self.senders = set(), set(), set()
        if items:
            self.written(self._write(items))

    def _write(self, items: list[_Fresh]) -> list[tuple[int, IntakeResult]]:
        now, session = self.now, self.session
        case_rows = []
        for it in items:
            mail = it.mail
            failed = it.reason or it.error
            codes = "" if failed or it.analysis is None else " ".join(
                dict.fromkeys(c.code for c in it.analysis.extraction.codes))[:4000]
            case_rows.append({
                "status": "quarantined" if failed else "awaiting_review",
                "subject": (mail.subject if mail else "")[:2000],
                "sender": (mail.from_addr if mail else "")[:320],
                "sender_name": (mail.from_name if mail else "")[:320],
                "created_at": now, "updated_at": now, "assignee": None,
                "quarantine_reason": failed or None, "reopen_count": 0, "codes": codes,
                "row_version": 2, "sender_auth": it.auth, "claims_case_id": it.claims,
                "needs_expert": bool(not failed and it.analysis and it.analysis.needs_expert),
                "expert_reason": "" if failed or it.analysis is None
                else it.analysis.expert_reason[:2000],
            })
        case_ids = self._insert_returning(Case.__table__, case_rows)  # type: ignore[attr-defined]
        msg_rows = []
        for it, case_id in zip(items, case_ids, strict=True):
            m = it.msg
            msg_rows.append({
                "case_id": case_id, "direction": "in", "fingerprint": m.fingerprint,
                "message_id": m.message_id, "in_reply_to": m.in_reply_to, "subject": m.subject,
                "from_addr": m.from_addr, "source": m.source, "mailbox": m.mailbox,
                "uidvalidity": m.uidvalidity, "uid": m.uid, "size": m.size, "kind": m.kind,
                "processed": True, "error": (it.reason or it.error) or None,
                "received_at": m.received_at, "raw": m.raw,
            })
        msg_ids = self._insert_returning(Message.__table__, msg_rows)  # type: ignore[attr-defined]
        drafts: list[dict[str, object]] = []
        events: list[dict[str, object]] = []
        out: list[tuple[int, IntakeResult]] = []
        for it, case_id, msg_id in zip(items, case_ids, msg_ids, strict=True):
            events.append(self._event(case_id, "received", "received", "received",
                                      f"mail #{msg_id} via {it.msg.source}"))
            if it.claims is not None:
                events.append(self._event(case_id, "received", "received", "claims_followup",
                                          _claims_reason(msg_id, it.claims)))
            if it.analysis is not None and not it.error:
                draft = self._draft(it, case_id, msg_id)
                if draft is not None:
                    drafts.append(draft)
                    events.append(self._event(case_id, "received", "awaiting_review", "drafted",
                                              f"draft from mail #{msg_id}"))
                    out.append((it.index, IntakeResult(msg_id, case_id, "case")))
                    continue
            if it.error:
                log.error("analysis failed on mail #%s", msg_id, exc_info=it.exc)
                reason = it.error
            else:
                reason = it.reason
                log.info("mail #%s quarantined on case #%s: %s", msg_id, case_id, reason)
            events.append(self._event(case_id, "received", "quarantined", "quarantine", reason))
            out.append((it.index, IntakeResult(msg_id, case_id, "quarantined", reason)))
        if drafts:
            session.execute(insert(Draft.__table__), drafts)  # type: ignore[attr-defined]
        session.execute(insert(AuditEvent.__table__), events)  # type: ignore[attr-defined]
        return out

    def _insert_returning(self, table: Table, rows: Sequence[Mapping[str, object]]) -> list[int]:
        stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return [row[0] for row in self.session.execute(stmt, rows)]

    def _event(self, case_id: int, from_status: str, to_status: str, action: str,
               reason: str) -> dict[str, object]:
        return {"case_id": case_id, "at": self.now, "actor": SYSTEM, "action": action,
                "from_status": from_status, "to_status": to_status, "reason": reason}

    def _draft(self, it: _Fresh, case_id: int, msg_id: int) -> dict[str, object] | None:
        """The draft row, or None when rendering failed (the case becomes quarantined)."""
        analysis = it.analysis
        assert analysis is not None and it.mail is not None
        try:
            analysis.draft = render_draft(it.mail, analysis.extraction, analysis.findings,
                                          self.kb, case_id=case_id, parts=analysis.parts)
        except Exception as exc:
            it.error, it.exc = f"analysis failed: {exc!r}", exc
            cases_t, msgs_t = Case.__table__, Message.__table__  # type: ignore[attr-defined]
            self.session.execute(update(cases_t).where(cases_t.c.id == case_id).values(
                status="quarantined", quarantine_reason=it.error, codes=""))
            self.session.execute(update(msgs_t).where(msgs_t.c.id == msg_id).values(
                error=it.error))
            return None
        draft = analysis.draft
        return {"case_id": case_id, "version": 1, "author": SYSTEM, "body_text": draft.text,
                "body_html": draft.html, "kb_version": draft.kb_version,
                "analysis_json": json.dumps(analysis.to_json(), default=str),
                "created_at": self.now}


def ingest_batch(
    session: Session,
    arrivals: Sequence[Arrival],
    kb: KnowledgeBase,
    settings: Settings,
    *,
    source: str,
    now: datetime,
    mailbox: str | None = None,
    uidvalidity: int | None = None,
    after_each: Callable[[int], None] | None = None,
    prepare: Preparer | None = None,
) -> list[IntakeResult]:
    """The fast path for a chunk of mail: one fingerprint query and no savepoints.

    A mail that starts a new case (the common one, also when it is quarantined) is written with
    multi-row Core inserts at the end of a run of such mails; a follow-up, or a mail stored
    earlier by the SMTP listener, goes through ``process_parsed`` with the ORM, after the run
    before it is written (so ids, threading and audit order stay those of one-by-one intake).
    A database error (or any bug outside the parse/analysis guards) propagates: the caller rolls
    the chunk back and redoes it one mail at a time with ``ingest``, which isolates the bad one.
    ``after_each(i)`` runs after the i-th mail (1-based) is written, for progress and the crash
    tests. ``prepare`` (e.g. a process pool) parses, extracts and evaluates the new mails ahead;
    its results are consumed in order as the chunk is written, and a None (or no ``prepare``)
    means the work is done here, so the rows are the same either way.
    """
    fps = [fingerprint(a.raw) for a in arrivals]
    known: dict[str, tuple[int, int | None, bool]] = {}
    for start in range(0, len(fps), 500):
        rows = session.exec(
            select(Message.fingerprint, Message.id, Message.case_id, Message.processed)
            .where(col(Message.fingerprint).in_(set(fps[start:start + 500])))
        ).all()
        known.update({fp: (pk, case_id, done) for fp, pk, case_id, done in rows})  # type: ignore[misc]
    results: list[IntakeResult | None] = [None] * len(arrivals)
    waiting: list[int] = []

    def settle_waiting() -> None:
        for i in waiting:
            if after_each is not None:
                after_each(i + 1)
        waiting.clear()

    def written(done: list[tuple[int, IntakeResult]]) -> None:
        for index, result in done:
            results[index] = result
            known[fps[index]] = (result.message_pk, result.case_id, True)
        settle_waiting()

    fresh: dict[str, int] = {}  # first index of each mail to prepare (new, or not processed)
    for i, (arrival, fp) in enumerate(zip(arrivals, fps, strict=True)):
        seen = known.get(fp)
        if (seen is None or not seen[2]) and len(arrival.raw) <= settings.max_message_bytes:
            fresh.setdefault(fp, i)
    # every mail is parsed and analysed before the chunk's first write (the pool's workers
    # in parallel, or here), so no write lock is held while a slow mail is analysed
    order = list(fresh.values())
    here = in_process(kb, settings)
    ahead: dict[int, Prepared | None] = {}
    if order:
        raws = [arrivals[i].raw for i in order]
        got = list((prepare or here)(raws))
        ahead = dict(zip(order, got, strict=True))
        redo = [i for i in order if ahead[i] is None]  # the pool could not do them
        if redo:
            ahead.update(zip(redo, here([arrivals[i].raw for i in redo]), strict=True))

    def prepared_for(index: int) -> Prepared | None:
        """The prepared result of mail ``index`` (None for a repeat within the chunk)."""
        if fresh.get(fps[index]) != index:
            return None
        return ahead.pop(index, None)

    usage: dict[str, int] = {}  # per-sender quota use, counting this chunk's mails
    group = _FreshGroup(session, kb, now=now, written=written)
    for index, (arrival, fp) in enumerate(zip(arrivals, fps, strict=True)):
        group.index = index
        if fp in group.fps:  # the same mail twice in the chunk: the first one must be written
            group.write()
        seen = known.get(fp)
        result: IntakeResult | None
        if seen is not None and seen[2]:
            result = IntakeResult(seen[0], seen[1], "duplicate")
        elif seen is not None:  # stored by the SMTP listener, not processed yet
            group.write()
            msg = session.get(Message, seen[0])
            assert msg is not None
            result = process_message(session, msg, kb, settings, now=now,
                                     prepared=prepared_for(index))
        else:
            msg = _new_message(arrival.raw, fp, source=source, now=now, mailbox=mailbox,
                               uidvalidity=uidvalidity, uid=arrival.uid)
            result = _batch_one(session, msg, group, kb, settings, now=now,
                                prepared=prepared_for(index), usage=usage)
        if result is not None:
            if result.outcome != "duplicate":
                session.flush()  # the next mail's threading query sees this one
                known[fp] = (result.message_pk, result.case_id, True)
            results[index] = result
        waiting.append(index)
        if len(group.items) >= GROUP_WRITE:
            group.write()
        if not group.items:
            settle_waiting()
    group.write()
    settle_waiting()
    assert all(r is not None for r in results)
    return results  # type: ignore[return-value]


def _batch_one(session: Session, msg: Message, group: _FreshGroup, kb: KnowledgeBase,
               settings: Settings, *, now: datetime, prepared: Prepared | None = None,
               usage: dict[str, int] | None = None) -> IntakeResult | None:
    """``process_message`` for a new mail of a batch: None when the batch took it.

    ``usage`` (sender -> bytes stored in the quota window, this chunk included) applies the
    per-sender quota: a mail over it keeps only its header block here, quarantined with the
    reason; the mail itself stays in the IMAP mailbox.
    """
    own = own_addresses(settings)
    refuse = ""
    if msg.size > settings.max_message_bytes:
        refuse = _oversize(msg.size, settings)
    else:
        if prepared is None:
            prepared = prepare(msg.raw, kb, own_addresses=own)
        if prepared.over_budget:
            refuse = prepared.over_budget
        elif prepared.mail is None:
            log.error("parser failed on a new mail (%s)", msg.fingerprint[:12],
                      exc_info=RemoteFailure(prepared.trace))
            refuse = f"could not parse the message: {prepared.parse_error}"
    mail = (prepared.mail if prepared is not None and prepared.mail is not None and not refuse
            else parse_headers(msg.raw, own_addresses=own))
    if usage is not None and mail.from_addr:
        sender = mail.from_addr[:320]
        if sender not in usage:
            usage[sender] = stored_bytes(session, sender, now=now)
        try:
            check_quota(session, sender, msg.size, settings, now=now, used=usage[sender])
            usage[sender] += msg.size
        except QuotaExceeded as exc:
            head, _ = split_head(msg.raw)
            msg.raw, msg.size = head + b"\r\n\r\n", len(head) + 4
            usage[sender] += msg.size
            refuse = f"{exc}; only the headers are kept here, the mail stays in the mailbox"
    if refuse:
        return process_parsed(session, msg, mail, kb, settings, now=now, batch=group,
                              refuse=refuse)
    assert prepared is not None
    return process_parsed(session, msg, mail, kb, settings, now=now, batch=group,
                          prepared=prepared)


#: Raw bytes of stored mail one ``process_pending`` call loads at most (one mail always goes).
PENDING_BATCH_BYTES = 32 * 1024 * 1024


def pending(session: Session, limit: int = 200,
            max_bytes: int | None = None) -> list[Message]:
    """Stored mail not yet processed (e.g. taken in by the SMTP listener), oldest first; at
    most ``limit`` mails and, with ``max_bytes``, about that many bytes of them."""
    query = (select(Message.id, Message.size)
             .where(Message.processed == False, Message.direction == "in")  # noqa: E712
             .order_by(col(Message.id)).limit(limit))
    ids: list[int] = []
    total = 0
    for msg_id, size in session.exec(query):
        if ids and max_bytes is not None and total + size > max_bytes:
            break
        ids.append(msg_id)  # type: ignore[arg-type]
        total += size
    if not ids:
        return []
    return list(session.exec(select(Message).where(col(Message.id).in_(ids))
                             .order_by(col(Message.id))))


def process_pending(
    session: Session, kb: KnowledgeBase, settings: Settings, *, now: datetime, limit: int = 200,
    prepare: Preparer | None = None, max_bytes: int | None = PENDING_BATCH_BYTES,
) -> list[IntakeResult]:
    """Process a batch of stored mail (``limit`` mails, about ``max_bytes`` of them), each in
    its own savepoint so one failure never blocks the rest; the caller commits and calls again
    while it returns results.

    All of them are parsed and analysed first (by ``prepare``, e.g. the budgeted pool, else
    here), then written: the write lock is held for the writes only.
    """
    msgs = pending(session, limit, max_bytes)
    if not msgs:
        return []
    here = in_process(kb, settings)
    small = [m for m in msgs if m.size <= settings.max_message_bytes]
    got = list((prepare or here)([m.raw for m in small])) if small else []
    ahead: dict[int, Prepared | None] = {id(m): p for m, p in zip(small, got, strict=True)}
    for m in small:
        if ahead[id(m)] is None:  # the pool could not do it
            ahead[id(m)] = next(iter(here([m.raw])))
    results = []
    for msg in msgs:
        try:
            with session.begin_nested():
                results.append(process_message(session, msg, kb, settings, now=now,
                                                prepared=ahead.get(id(msg))))
        except Exception as exc:
            log.exception("intake failed on mail #%s", msg.id)
            with session.begin_nested():
                results.append(_quarantine(session, msg, None, f"intake failed: {exc!r}", now))
    return results
