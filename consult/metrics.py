"""Prometheus metrics: what the desk's state is (read from the database at each scrape) and what
this process did (counted where it happens).

Two kinds, on purpose:

- **Database series** (``consult_cases``, ``consult_outbox_*``, ``consult_quarantined_cases``,
  ``consult_database_up``) are read from the case database when ``/metrics`` is scraped, by
  indexed queries. They are the same on every replica: aggregate them with ``max``, not ``sum``.
- **Process series** (``consult_mails_received_total``, ``consult_draft_latency_seconds``,
  ``consult_imap_*``, ``process_*``) count what this process did since it started; ``sum`` them
  over instances. They are fed by hooks deep in the workers (one call each:
  ``workers/smtp_inbound.py`` after a mail is stored, ``workers/imap_poller.py`` after a chunk
  is committed, ``workers/scheduler.py`` after stored mail is drafted), so the counters live in
  this module, made by the first ``build_registry`` of the process. Until then the hooks return
  at once: a ``consult poll --once`` that serves no metrics neither counts nor imports
  prometheus_client (its start-up time is measured).

No label ever carries mail content: a quarantine reason is reduced to one of
``QUARANTINE_CATEGORIES`` first.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from db.models import Case, Message, Outbox

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry, Counter, Histogram
    from prometheus_client.core import Metric

    from consult.intake import IntakeResult

log = logging.getLogger(__name__)

#: Seconds from a mail reaching the desk to its draft waiting for review.
LATENCY_BUCKETS = (0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600)


@dataclass(frozen=True)
class ProcessInstruments:
    """The counters of this process (one set per process: see the module docstring)."""

    received: Counter
    latency: Histogram


_instruments: ProcessInstruments | None = None


def process_instruments() -> ProcessInstruments:
    """This process's counters, made on the first call (``build_registry`` calls it)."""
    global _instruments
    if _instruments is None:
        from prometheus_client import Counter, Histogram

        _instruments = ProcessInstruments(
            Counter("consult_mails_received_total",
                    "Inbound mails this process stored (duplicates of stored mail not "
                    "counted), by transport.", ["transport"], registry=None),
            Histogram("consult_draft_latency_seconds",
                      "Seconds from a mail reaching the desk (smtp: stored by our listener; "
                      "imap: delivered to the mailbox, its INTERNALDATE) to its draft "
                      "committed, by transport.", ["transport"], buckets=LATENCY_BUCKETS,
                      registry=None))
    return _instruments


#: Quarantine reasons by category, first match wins: (category, test on the lower-case reason).
_REASON_RULES: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("auto_reply", lambda r: r.startswith("auto reply:")),
    ("bounce", lambda r: r.startswith("bounce:")),
    ("mailing_list", lambda r: r.startswith("mailing list:")),
    ("loop", lambda r: r.startswith("loop:")),
    ("oversize", lambda r: "consult_max_message_bytes" in r),
    ("over_budget", lambda r: r.startswith("over the analysis budget")),
    ("sender_quota", lambda r: "consult_sender_quota_mb" in r),
    ("no_sender", lambda r: r.startswith(("no sender address", "unusable mail: no sender"))),
    ("unparseable", lambda r: r.startswith(("could not parse", "unusable mail"))),
    ("failure", lambda r: r.startswith(("analysis failed", "intake failed"))),
)
QUARANTINE_CATEGORIES = (*(name for name, _ in _REASON_RULES), "other")


def quarantine_category(reason: str | None) -> str:
    """The category of a quarantine reason (pure): one of QUARANTINE_CATEGORIES; "other" for
    a reviewer's own words and anything unforeseen."""
    text = (reason or "").strip().lower()
    for name, test in _REASON_RULES:
        if test(text):
            return name
    return "other"


# -- hooks ---------------------------------------------------------------------------------------
def mail_stored(transport: str, count: int = 1) -> None:
    """Count mails stored by a transport (smtp, imap)."""
    if _instruments is not None and count > 0:
        _instruments.received.labels(transport).inc(count)


def _drafted(result: IntakeResult) -> bool:
    """A mail whose draft now waits for review (a follow-up over the reopen cap is kept on
    its case without a new draft: it carries a reason)."""
    return result.outcome in ("case", "followup") and not result.reason


def _utc(value: datetime) -> datetime:
    """As an aware UTC time: SQLite gives naive UTC; imapclient gives naive local time."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def imap_chunk_committed(results: Sequence[IntakeResult], arrived: Sequence[datetime | None],
                         *, now: datetime) -> None:
    """After an IMAP chunk's commit: count the stored mails, and observe the draft latency of
    each drafted one from its INTERNALDATE (``arrived``, in the order of ``results``; None
    where the server gave none)."""
    if _instruments is None:
        return
    mail_stored("imap", sum(1 for r in results if r.outcome != "duplicate"))
    done = _utc(now)
    for result, at in zip(results, arrived, strict=False):
        if at is not None and _drafted(result):
            # imapclient gives naive local times, and astimezone() reads a naive time as local
            when = at.astimezone(UTC)
            _instruments.latency.labels("imap").observe(
                max(0.0, (done - when).total_seconds()))


def stored_mail_drafted(session: Session, results: Sequence[IntakeResult], *,
                        now: datetime) -> None:
    """After stored mail (the SMTP listener's) was drafted and committed: observe the latency
    of each from the moment it was stored (one indexed query for the batch)."""
    ids = [r.message_pk for r in results if _drafted(r)]
    if _instruments is None or not ids:
        return
    done = _utc(now)
    rows = session.exec(select(Message.source, Message.received_at)
                        .where(col(Message.id).in_(ids)))
    for source, received_at in rows:
        _instruments.latency.labels(source or "smtp").observe(
            max(0.0, (done - _utc(received_at)).total_seconds()))


# -- mailbox watchers ----------------------------------------------------------------------------
#: States of a mailbox watcher; ``stopped`` needs a person (a refused login, a bad setting).
#: ``standby``: another worker holds the mailbox's lease and takes it in.
WATCH_STATES = ("idle", "polling", "syncing", "connecting", "standby", "stopped")


@dataclass(frozen=True)
class MailboxWatch:
    """What this process knows of one watched mailbox (account and folder).

    ``lag_seconds``: mail delivered more than this long ago has certainly been taken in (0 while
    the watcher waits in IDLE, which wakes it on new mail; else the time since its last complete
    sync; None while standing by). ``owner``: who takes the mailbox in when it is not this
    process (the lease's holder, ``workers.leases``); None when it is.
    """

    mailbox: str
    state: str
    lag_seconds: float | None
    detail: str = ""
    owner: str | None = None

    @property
    def ok(self) -> bool:
        return self.state != "stopped"

    def to_json(self) -> dict[str, object]:
        return {"mailbox": self.mailbox, "state": self.state, "ok": self.ok,
                "lag_seconds": None if self.lag_seconds is None else round(self.lag_seconds, 1),
                "owner": self.owner, "detail": self.detail}


#: Where the app learns the mailbox watchers' state; None: no watchers in this process.
MailboxSource = Callable[[], Sequence[MailboxWatch] | None]


def no_mailboxes() -> Sequence[MailboxWatch] | None:
    return None


# -- collectors ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class DeskState:
    """The database series at one moment (pure data, so tests compare values, not text)."""

    cases: Mapping[str, int]
    outbox: Mapping[str, int]
    oldest_pending_age: float
    quarantined: Mapping[str, int]


def read_desk_state(session: Session, *, now: datetime) -> DeskState:
    """Cases by status, outbox pending/failed and the age of the oldest pending reply, and the
    quarantine by category: indexed queries (cases.status, outbox (status, next_attempt_at)),
    never a scan of the messages."""
    from consult.cases import STATUSES

    cases = dict.fromkeys(STATUSES, 0)
    for status, n in session.exec(select(Case.status, func.count()).group_by(Case.status)):
        cases[status] = n
    outbox = {"pending": 0, "failed": 0}
    oldest: datetime | None = None
    for status, n, first in session.exec(
            select(Outbox.status, func.count(), func.min(Outbox.created_at))
            .where(col(Outbox.status).in_(("pending", "sending", "failed")))
            .group_by(Outbox.status)):
        # a reply being sent (claimed by a sender) still waits, as far as the desk is concerned
        kind = "failed" if status == "failed" else "pending"
        outbox[kind] += n
        if kind == "pending" and first is not None:
            oldest = first if oldest is None else min(oldest, first)
    quarantined = dict.fromkeys(QUARANTINE_CATEGORIES, 0)
    for reason, n in session.exec(
            select(Case.quarantine_reason, func.count())
            .where(Case.status == "quarantined").group_by(Case.quarantine_reason)):
        quarantined[quarantine_category(reason)] += n
    age = max(0.0, (_utc(now) - _utc(oldest)).total_seconds()) if oldest else 0.0
    return DeskState(cases, outbox, age, quarantined)


class DatabaseCollector:
    """The database series, read at scrape time (at most once per ``cache_seconds``, so several
    scrapers or a tight interval cost one set of queries). A database that does not answer
    gives ``consult_database_up 0`` and no other database series, never a failed scrape."""

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime],
                 cache_seconds: float = 5.0) -> None:
        self.engine, self.clock, self.cache_seconds = engine, clock, cache_seconds
        self._cached: tuple[float, DeskState | None] | None = None

    def state(self) -> DeskState | None:
        if self._cached is not None and time.monotonic() - self._cached[0] < self.cache_seconds:
            return self._cached[1]
        try:
            with Session(self.engine) as s:
                state: DeskState | None = read_desk_state(s, now=self.clock())
        except Exception as exc:  # the class only: the text can name the database URL
            log.warning("metrics: the database did not answer (%s)", type(exc).__name__)
            state = None
        self._cached = (time.monotonic(), state)
        return state

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import GaugeMetricFamily

        state = self.state()
        up = GaugeMetricFamily("consult_database_up",
                               "1 when the case database answered the metrics queries.")
        up.add_metric([], 1.0 if state is not None else 0.0)
        yield up
        if state is None:
            return
        cases = GaugeMetricFamily("consult_cases", "Cases by status (the whole database).",
                                  labels=["status"])
        for status, n in state.cases.items():
            cases.add_metric([status], n)
        yield cases
        outbox = GaugeMetricFamily("consult_outbox_messages",
                                   "Outbox rows waiting to be sent (pending) or given up "
                                   "(failed).", labels=["status"])
        for status, n in state.outbox.items():
            outbox.add_metric([status], n)
        yield outbox
        yield GaugeMetricFamily("consult_outbox_oldest_pending_age_seconds",
                                "Age of the oldest reply still pending (0: none).",
                                value=state.oldest_pending_age)
        quarantined = GaugeMetricFamily("consult_quarantined_cases",
                                        "Cases in quarantine by the category of their reason.",
                                        labels=["reason"])
        for reason, n in state.quarantined.items():
            quarantined.add_metric([reason], n)
        yield quarantined


class MailboxCollector:
    """The IMAP watchers of this process: lag per mailbox and the state each is in."""

    def __init__(self, source: MailboxSource) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import GaugeMetricFamily

        watches = self.source() or ()
        lag = GaugeMetricFamily(
            "consult_imap_lag_seconds",
            "Mail delivered to the mailbox more than this long ago has been taken in (0 while "
            "waiting in IDLE; else the time since the last complete sync).",
            labels=["mailbox"])
        state = GaugeMetricFamily("consult_imap_watcher_state",
                                  "1 for the state each mailbox watcher is in.",
                                  labels=["mailbox", "state"])
        for w in watches:
            if w.lag_seconds is not None:
                lag.add_metric([w.mailbox], w.lag_seconds)
            for name in WATCH_STATES:
                state.add_metric([w.mailbox, name], 1.0 if w.state == name else 0.0)
        yield lag
        yield state


def build_registry(engine: Engine, *, clock: Callable[[], datetime],
                   mailboxes: MailboxSource = no_mailboxes) -> CollectorRegistry:
    """A registry for one app: the database and mailbox collectors, this process's counters
    (made now, so the hooks start counting) and the standard ``process_*`` series (memory,
    CPU, open files)."""
    from prometheus_client import CollectorRegistry, ProcessCollector

    registry = CollectorRegistry()  # no auto_describe: registering must not query the DB
    registry.register(DatabaseCollector(engine, clock=clock))  # type: ignore[arg-type]
    registry.register(MailboxCollector(mailboxes))  # type: ignore[arg-type]
    counters = process_instruments()
    registry.register(counters.received)
    registry.register(counters.latency)
    ProcessCollector(registry=registry)
    return registry
