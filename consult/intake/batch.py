"""The fast path for a chunk of mail (the IMAP poller's): the same rows, fewer statements.

A mail that starts a new case (the common one, also when it is quarantined) is planned by
``plan_new_case``, as one by one, and the plans are written with multi-row Core inserts at the
end of a run of such mails; a follow-up, or a mail stored earlier by the SMTP listener, goes the
ORM way of ``consult.intake.process``, after the run before it is written (so ids, threading
and audit order stay those of one-by-one intake). tests/intake/test_differential.py holds the
two paths together.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, insert, update
from sqlmodel import Session, col, select

from consult.analyzed import AnalyzedMail, RemoteFailure
from consult.config import Settings
from consult.errors import QuotaExceeded
from consult.intake.plan import (
    ADDRESS_MAX,
    IntakeResult,
    NewCase,
    message_fields,
    oversize_reason,
    parse_failed_reason,
    plan_new_case,
    unanswerable_reason,
)
from consult.intake.process import (
    BatchAnalyzer,
    analysis_of,
    analyze_here,
    in_process,
    log_new_case,
    own_addresses,
    process_followup,
    process_message,
)
from consult.intake.store import (
    QUOTA_WINDOW,
    Inbound,
    check_quota,
    message_row,
    new_inbound,
    stored_bytes,
    to_message,
)
from consult.intake.thread import ThreadLookup, find_thread, may_join, sender_verdict
from consult.kb.store import KnowledgeBase
from consult.mail.fingerprint import fingerprint, split_head
from consult.mail.message import ParsedMail
from consult.mail.parse import parse_headers
from db.bulk import CopyWriter
from db.models import AuditEvent, Case, Draft, Message

log = logging.getLogger(__name__)

#: A chunk's new cases are written at least this often, so the writes of the first mails
#: overlap the analysis of the next ones when a pool prepares them (the rows are the same).
GROUP_WRITE = 64


@dataclass(frozen=True)
class Arrival:
    """One mail handed to ``ingest_batch``: its bytes and, for IMAP, its UID."""

    raw: bytes
    uid: int | None = None


@dataclass(frozen=True)
class _Planned:
    """A new case of the chunk, planned and not written yet."""

    index: int
    msg: Inbound
    plan: NewCase


class NewCaseWriter:
    """The planned new cases of a chunk, written with a handful of multi-row Core statements.

    The ORM costs more than the whole pure core here (a flush per case to learn its id, a
    validated SQLModel object and an INSERT per row), so a chunk's new cases skip it: cases and
    messages are inserted with ``RETURNING id`` in one executemany each, then drafts and audit
    events in one each; on PostgreSQL each is a binary COPY (``db.bulk``: the same rows and
    ids, without SQL to parse or rows sent one by one). ``written`` receives (chunk index,
    result) pairs in arrival order.
    """

    def __init__(self, session: Session,
                 written: Callable[[list[tuple[int, IntakeResult]]], None]) -> None:
        self.session, self.written = session, written
        self.copy = CopyWriter.for_session(session)
        self.items: list[_Planned] = []
        self.fingerprints: set[str] = set()
        self.message_ids: set[str] = set()
        self.senders: set[str] = set()

    def add(self, index: int, msg: Inbound, plan: NewCase) -> None:
        self.items.append(_Planned(index, msg, plan))
        self.fingerprints.add(msg.fingerprint)
        if msg.message_id:
            self.message_ids.add(msg.message_id)
        if plan.mail.from_addr:
            self.senders.add(plan.mail.from_addr[:ADDRESS_MAX].lower())

    def may_join(self, mail: ParsedMail, settings: Settings) -> bool:
        """Whether threading ``mail`` could hit a case planned here (then write them first)."""
        return bool(self.items) and may_join(mail, settings, message_ids=self.message_ids,
                                             senders=self.senders)

    def write(self) -> None:
        """Insert what is planned and hand the results to ``written``."""
        items, self.items = self.items, []
        self.fingerprints, self.message_ids, self.senders = set(), set(), set()
        if items:
            self.written(self._write(items))

    def _write(self, items: list[_Planned]) -> list[tuple[int, IntakeResult]]:
        session = self.session
        cases_t: Table = Case.__table__  # type: ignore[attr-defined]
        case_ids = self._insert_returning(cases_t, [it.plan.case for it in items])
        plans = [it.plan.with_draft(case_id)
                 for it, case_id in zip(items, case_ids, strict=True)]
        for it, plan, case_id in zip(items, plans, case_ids, strict=True):
            if plan.case != it.plan.case:  # the draft failed: quarantined instead (rare)
                session.execute(update(cases_t).where(cases_t.c.id == case_id)
                                .values(**plan.case))
        msg_rows = [{**message_row(it.msg), **plan.message, "case_id": case_id}
                    for it, plan, case_id in zip(items, plans, case_ids, strict=True)]
        msg_ids = self._insert_returning(Message.__table__, msg_rows)  # type: ignore[attr-defined]
        drafts: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        out: list[tuple[int, IntakeResult]] = []
        for it, plan, case_id, msg_id in zip(items, plans, case_ids, msg_ids, strict=True):
            draft = plan.draft_row(case_id)
            if draft is not None:
                drafts.append(draft)
            events.extend(plan.event_rows(case_id, msg_id))
            log_new_case(plan, case_id, msg_id)
            out.append((it.index, plan.result(case_id, msg_id)))
        if drafts:
            self._insert(Draft.__table__, drafts)  # type: ignore[attr-defined]
        self._insert(AuditEvent.__table__, events)  # type: ignore[attr-defined]
        return out

    def _insert(self, table: Table, rows: Sequence[Mapping[str, object]]) -> None:
        if self.copy is not None:
            self.copy.insert(table, rows)
        else:
            self.session.execute(insert(table), rows)

    def _insert_returning(self, table: Table, rows: Sequence[Mapping[str, object]]) -> list[int]:
        if self.copy is not None:
            return self.copy.insert_returning_ids(table, rows)
        stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return [row[0] for row in self.session.execute(stmt, rows)]


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
    prepare: BatchAnalyzer | None = None,
) -> list[IntakeResult]:
    """Take a chunk in within the caller's transaction: one fingerprint query, no savepoints.

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
            lookup.note_case(result.case_id)
        settle_waiting()

    analyzed = _analyze_ahead(arrivals, fps, known, kb, settings, prepare)
    # threading's lookups for the whole chunk in a query or two instead of one or two a mail
    lookup = ThreadLookup.prefetch(session, (a.mail for a in analyzed.values()
                                             if a is not None and a.mail is not None))
    # per-sender quota use, counting this chunk's mails: one query for the chunk's senders
    usage = _stored_by_sender(session, analyzed.values(), settings, now=now)
    writer = NewCaseWriter(session, written)
    for index, (arrival, fp) in enumerate(zip(arrivals, fps, strict=True)):
        if fp in writer.fingerprints:  # the same mail twice in the chunk: write the first one
            writer.write()
        seen = known.get(fp)
        result: IntakeResult | None
        if seen is not None and seen[2]:
            result = IntakeResult(seen[0], seen[1], "duplicate")
        elif seen is not None:  # stored by the SMTP listener, not processed yet
            writer.write()
            msg = session.get(Message, seen[0])
            assert msg is not None
            lookup.note_written(msg.message_id)
            result = process_message(session, msg, kb, settings, now=now,
                                     prepared=analyzed.pop(index, None))
        else:
            row = new_inbound(arrival.raw, fp, source=source, now=now, mailbox=mailbox,
                              uidvalidity=uidvalidity, uid=arrival.uid)
            lookup.note_written(row.message_id)
            result = _new_mail(session, index, row, writer, kb, settings, now=now,
                               prepared=analyzed.pop(index, None), usage=usage, lookup=lookup)
        if result is not None:
            lookup.note_case(result.case_id)
            if result.outcome != "duplicate":
                session.flush()  # the next mail's threading query sees this one
                known[fp] = (result.message_pk, result.case_id, True)
            results[index] = result
        waiting.append(index)
        if len(writer.items) >= GROUP_WRITE:
            writer.write()
        if not writer.items:
            settle_waiting()
    writer.write()
    settle_waiting()
    assert all(r is not None for r in results)
    return results  # type: ignore[return-value]


def _analyze_ahead(arrivals: Sequence[Arrival], fps: list[str],
                   known: dict[str, tuple[int, int | None, bool]], kb: KnowledgeBase,
                   settings: Settings,
                   prepare: BatchAnalyzer | None) -> dict[int, AnalyzedMail | None]:
    """Parse and analyse every mail of the chunk that needs it before the first write (the
    pool's workers in parallel, or here), so no write lock is held while a slow mail is
    analysed: chunk index -> result, for the first copy of each such mail."""
    fresh: dict[str, int] = {}
    for i, (arrival, fp) in enumerate(zip(arrivals, fps, strict=True)):
        seen = known.get(fp)
        if (seen is None or not seen[2]) and len(arrival.raw) <= settings.max_message_bytes:
            fresh.setdefault(fp, i)
    order = list(fresh.values())
    if not order:
        return {}
    here = in_process(kb, settings)
    got = list((prepare or here)([arrivals[i].raw for i in order]))
    ahead = dict(zip(order, got, strict=True))
    redo = [i for i in order if ahead[i] is None]  # the pool could not do them
    if redo:
        ahead.update(zip(redo, here([arrivals[i].raw for i in redo]), strict=True))
    return ahead


def _new_mail(session: Session, index: int, msg: Inbound, writer: NewCaseWriter,
              kb: KnowledgeBase, settings: Settings, *, now: datetime,
              prepared: AnalyzedMail | None, usage: dict[str, int],
              lookup: ThreadLookup | None = None) -> IntakeResult | None:
    """A mail the database has not seen: planned into ``writer`` (None), or a follow-up
    written the ORM way (its result).

    ``usage`` (sender -> bytes stored in the quota window, this chunk included) applies the
    per-sender quota: a mail over it keeps only its header block here, quarantined with the
    reason; the mail itself stays in the IMAP mailbox. ``lookup``: the chunk's prefetched
    threading answers.
    """
    own = own_addresses(settings)
    refused = ""
    if msg.size > settings.max_message_bytes:
        refused = oversize_reason(msg.size, settings.max_message_bytes)
    else:
        if prepared is None:
            prepared = analyze_here(msg.raw, kb, settings)
        if prepared.over_budget:
            refused = prepared.over_budget
        elif prepared.mail is None:
            log.error("parser failed on a new mail (%s)", msg.fingerprint[:12],
                      exc_info=RemoteFailure(prepared.trace))
            refused = parse_failed_reason(prepared.parse_error)
    mail = (prepared.mail if prepared is not None and prepared.mail is not None and not refused
            else parse_headers(msg.raw, own_addresses=own))
    if mail.from_addr:
        refused = _over_quota(session, msg, mail.from_addr[:ADDRESS_MAX], settings, now=now,
                              usage=usage) or refused
    if refused or mail.unusable:
        writer.add(index, msg, plan_new_case(mail, None, source=msg.source, now=now,
                                             refused=refused))
        return None
    if writer.may_join(mail, settings):
        writer.write()  # the mail may answer one of them: they must be in the database
    auth = sender_verdict(mail, settings)
    thread = find_thread(session, mail, settings, auth, lookup=lookup)
    if thread.case is not None:  # a follow-up goes the ORM way, after the mails before it
        writer.write()
        stored = to_message(msg)
        for name, value in message_fields(mail).items():
            setattr(stored, name, value)
        session.add(stored)
        session.flush()  # the audit notes name the mail by its id
        return process_followup(session, stored, mail, thread, auth, kb, settings, now=now,
                                prepared=prepared)
    digest, failure, error = (None, "", None) if unanswerable_reason(mail) else (
        analysis_of(mail, kb, prepared))
    writer.add(index, msg, plan_new_case(mail, digest, source=msg.source, now=now,
                                         failure=failure, claims=thread.claims,
                                         auth=auth.label, error=error))
    return None


def _stored_by_sender(session: Session, analyzed: Iterable[AnalyzedMail | None],
                      settings: Settings, *, now: datetime) -> dict[str, int]:
    """``stored_bytes`` of every sender the chunk's analysed mails name, in one grouped query
    per 500 senders instead of one query per mail (a fifth of the intake's own time on
    PostgreSQL, where each is a round trip). Senders it misses are counted one by one later."""
    if settings.sender_quota_mb <= 0:
        return {}
    senders = sorted({a.mail.from_addr[:ADDRESS_MAX] for a in analyzed
                      if a is not None and a.mail is not None and a.mail.from_addr})
    usage = dict.fromkeys(senders, 0)
    for start in range(0, len(senders), 500):
        rows = session.exec(
            select(Message.from_addr, func.sum(Message.size))
            .where(col(Message.from_addr).in_(senders[start:start + 500]),
                   Message.direction == "in", col(Message.received_at) >= now - QUOTA_WINDOW)
            .group_by(col(Message.from_addr))
        ).all()
        usage.update({sender: int(total or 0) for sender, total in rows})
    return usage


def _over_quota(session: Session, msg: Inbound, sender: str, settings: Settings, *,
                now: datetime, usage: dict[str, int]) -> str:
    """Count ``msg`` to its sender's quota; over it, keep only its headers and say why."""
    if sender not in usage:  # without a quota there is nothing to count against
        usage[sender] = (stored_bytes(session, sender, now=now)
                         if settings.sender_quota_mb > 0 else 0)
    try:
        check_quota(session, sender, msg.size, settings, now=now, used=usage[sender])
    except QuotaExceeded as exc:
        head, _ = split_head(msg.raw)
        msg.raw, msg.size = head + b"\r\n\r\n", len(head) + 4
        usage[sender] += msg.size
        return f"{exc}; only the headers are kept here, the mail stays in the mailbox"
    usage[sender] += msg.size
    return ""
