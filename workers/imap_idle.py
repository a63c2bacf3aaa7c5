"""The IDLE watcher: one thread per mailbox that takes in new mail within about a second.

imapclient is blocking, so each watched folder gets its own thread and connection. When the
server offers IDLE, the watcher waits in IDLE and syncs on every EXISTS (and every
``imap_idle_seconds`` anyway, renewing the IDLE before servers drop it at 30 minutes); when it
does not, the watcher polls every ``imap_poll_seconds``. The sync itself is the poller's
``FolderSync``, so the exactly-once rules are the same.

No lost wake-ups: a server tells of a new mail once. When it lands while the watcher handles
another one, the news comes inside the reply to one of our commands (Dovecot: in the reply to
the MOVE), or together with the IDLE continuation when it landed just before IDLE. So the
watcher syncs again, before it waits, while the last sync took mail in or heard of new mail,
and it reads what came with the continuation before it waits for more.

A burst is committed in growing chunks (``BURST_CHUNK`` mails, then twice as many, up to
``imap_fetch_chunk``), so its first drafts show up within about a second, and the few extra
commits cost no throughput.

Several workers may watch the same folder (``consult serve --role worker`` on several machines):
the one holding the folder's lease (``workers.leases``) connects and takes the mail in; the
others stand by, without an IMAP connection, and try the lease every few seconds, so when the
holder dies its folder is taken over within about 1.25 x ``lease_seconds``. A holder that finds
its lease taken (it stalled past the expiry) stops at its next chunk and stands by.

A dropped connection or a restarting server is retried with exponential backoff (with jitter,
capped at ``imap_backoff_max_seconds``); a refused login or a configuration error stops the
watcher with a clear error instead of hammering the server in an endless reconnect loop.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from imapclient import IMAPClient
from sqlalchemy.engine import Engine

from consult.config import ImapAccount, Settings
from consult.errors import AuthenticationError, ConfigError, MailboxError
from consult.kb.store import KnowledgeBase
from consult.metrics import MailboxWatch
from workers.analysis_pool import AnalysisPool, Budget
from workers.imap_connect import ClientFactory, buffered_responses, connect
from workers.imap_poller import FolderSync, PollReport
from workers.leases import HeldLease, LeaseLost, holders, mailbox_lease
from workers.leases import hold as hold_lease
from workers.memory import trim

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
BACKOFF_START = 1.0
#: How long one idle_check waits, so ``stop()`` is honoured within about this long.
IDLE_TICK = 1.0
#: The first chunk of a sync: the first drafts of a burst of 200 are visible after ~0.1 s of
#: work instead of after the whole burst. Chunks double from there (each commit costs a few ms).
BURST_CHUNK = 25
#: Syncs in a row that took nothing in but heard of new mail, before waiting anyway (a server
#: that announces EXISTS on every command must not keep the watcher spinning).
MAX_NEWS_RESYNCS = 3
#: A standby tries the lease this often (at most; a quarter of the lease when that is shorter).
STANDBY_RETRY = 5.0


def next_backoff(current: float, cap: float) -> float:
    """Double the delay, up to ``cap`` (pure; jitter is added by the caller)."""
    return min(cap, max(BACKOFF_START, current * 2))


class IdleWatcher:
    """Keeps one folder of one account taken in until ``stop()``; see the module docstring."""

    def __init__(self, settings: Settings, engine: Engine, kb: KnowledgeBase,
                 account: ImapAccount, folder: str, *, clock: Clock,
                 client_factory: ClientFactory = connect,
                 on_report: Callable[[PollReport], None] | None = None,
                 pool: AnalysisPool | None = None) -> None:
        self.settings, self.account, self.folder = settings, account, folder
        self.engine = engine
        self.client_factory = client_factory
        self.sync = FolderSync(settings, engine, kb, clock=clock, pool=pool,
                               commit_chunk=BURST_CHUNK)
        self.on_report = on_report
        self._stop = threading.Event()
        self.failure: Exception | None = None  # why it stopped for good, if it did
        self.connects = 0
        self.syncs = 0
        self.idling = threading.Event()  # set while waiting in IDLE (tests, benchmarks)
        # what /readyz and /metrics report (``watch()``): monotonic times and flags
        self.started_at = time.monotonic()
        self.last_sync_at: float | None = None
        self.connected = False
        self.in_sync = False
        self.lease: HeldLease | None = None
        self.standby_for: str | None = None  # the lease's holder while this watcher waits

    @property
    def name(self) -> str:
        return self.account.mailbox_key(self.folder)

    def stop(self) -> None:
        self._stop.set()

    def watch(self) -> MailboxWatch:
        """This watcher's state for /readyz and /metrics (read from another thread)."""
        since = self.last_sync_at if self.last_sync_at is not None else self.started_at
        lag: float | None = max(0.0, time.monotonic() - since)
        if self.failure is not None:
            return MailboxWatch(self.name, "stopped", lag,
                                f"{type(self.failure).__name__}: {self.failure}")
        if self.standby_for is not None:
            return MailboxWatch(self.name, "standby", None, "another worker takes it in",
                                owner=self.standby_for)
        if self.idling.is_set():
            return MailboxWatch(self.name, "idle", 0.0)
        if not self.connected:
            detail = "reconnecting" if self.connects else "not connected yet"
            return MailboxWatch(self.name, "connecting", lag, detail)
        return MailboxWatch(self.name, "syncing" if self.in_sync else "polling", lag)

    def _take_lease(self) -> HeldLease | None:
        """The folder's lease, or None (standing by, the holder noted) while another has it."""
        lease = hold_lease(self.engine, mailbox_lease(self.name),
                           seconds=self.settings.lease_seconds)
        if lease is None:
            held = holders(self.engine).get(mailbox_lease(self.name))
            if self.standby_for is None:
                log.info("IMAP watcher %s: standing by, another worker holds the mailbox",
                         self.name)
            self.standby_for = held[0] if held else "another worker"
        else:
            if self.standby_for is not None:
                log.info("IMAP watcher %s: took the mailbox over", self.name)
            self.standby_for = None
        return lease

    def run_forever(self) -> None:
        """Take the folder's lease (or stand by), connect, sync, wait for mail; reconnect with
        backoff; stop on a login refusal."""
        delay = BACKOFF_START
        retry = min(STANDBY_RETRY, self.settings.lease_seconds / 4)
        while not self._stop.is_set():
            client: IMAPClient | None = None
            syncs_before = self.syncs
            try:
                self.lease = self._take_lease()
            except Exception as exc:  # the database is down: try again later
                log.warning("IMAP watcher %s: cannot read the lease (%s)", self.name,
                            type(exc).__name__)
                self._stop.wait(retry)
                continue
            if self.lease is None:
                self._stop.wait(retry)
                continue
            try:
                client = self.client_factory(self.account)
                self.connects += 1
                self.connected = True
                self._serve(client)
                return
            except LeaseLost as exc:
                log.warning("IMAP watcher %s: %s; standing by", self.name, exc)
                continue
            except (AuthenticationError, ConfigError) as exc:
                log.error("IMAP watcher %s stopped: %s", self.name, exc)
                self.failure = exc
                return
            except Exception as exc:  # dropped connection, restarting server, database hiccup
                if self._stop.is_set():
                    return
                wait = delay * random.uniform(0.8, 1.2)
                log.warning("IMAP watcher %s: %s: %s; reconnecting in %.1fs", self.name,
                            type(exc).__name__, exc, wait)
                self._stop.wait(wait)
                # a connection that synced was healthy: the next failure starts the backoff over
                delay = (BACKOFF_START if self.syncs > syncs_before
                         else next_backoff(delay, self.settings.imap_backoff_max_seconds))
            finally:
                self.idling.clear()
                self.connected = self.in_sync = False
                if client is not None:
                    with contextlib.suppress(Exception):
                        client.shutdown()
                if self.lease is not None:
                    self.lease.release()
                    self.lease = None

    def _serve(self, client: IMAPClient) -> None:
        use_idle = self.settings.imap_idle and client.has_capability("IDLE")
        if not use_idle:
            log.info("IMAP watcher %s: polling every %ss (%s)", self.name,
                     self.settings.imap_poll_seconds,
                     "IDLE disabled" if not self.settings.imap_idle else "server lacks IDLE")
        news_only = 0  # syncs in a row that heard of new mail but took nothing in
        while not self._stop.is_set():
            self.in_sync = True
            report = self.sync.sync(client, self.account, self.folder, lease=self.lease)
            self.in_sync = False
            self.last_sync_at = time.monotonic()
            self.syncs += 1
            if report.taken_in:
                log.info("IMAP %s: %s", self.name, report.summary())
                trim()  # the burst's buffers go back to the system before the next wait
            if self.on_report is not None:
                self.on_report(report)
            # mail that landed during this sync was announced in its replies, not again later
            if report.taken_in:
                news_only = 0
                continue
            if report.news and news_only < MAX_NEWS_RESYNCS:
                news_only += 1
                continue
            news_only = 0
            if use_idle:
                self._wait_in_idle(client)
            else:
                self._stop.wait(self.settings.imap_poll_seconds)

    def _wait_in_idle(self, client: IMAPClient) -> None:
        """Return when new mail may have arrived, the IDLE needs renewing, or on stop."""
        client.idle()
        # a mail that landed since our last command comes with the continuation, already read
        responses = buffered_responses(client)
        self.idling.set()
        renew_at = time.monotonic() + self.settings.imap_idle_seconds
        try:
            while True:
                for response in responses:
                    if len(response) >= 1 and response[0] == b"BYE":
                        raise MailboxError(f"server closed the connection: {response!r}")
                if any(len(r) >= 2 and r[1] == b"EXISTS" for r in responses):
                    break
                if self._stop.is_set() or time.monotonic() >= renew_at:
                    break
                if self.lease is not None and self.lease.lost.is_set():
                    raise LeaseLost(f"{self.name}: another worker took the mailbox over")
                started = time.monotonic()
                responses = client.idle_check(timeout=IDLE_TICK)
                if not responses and time.monotonic() - started < IDLE_TICK * 0.5:
                    # readable but no line: the server hung up (idle_check swallows the EOF)
                    raise MailboxError("connection closed by the server during IDLE")
        finally:
            self.idling.clear()
        client.idle_done()  # not on a dead connection: the exceptions above skip it


@dataclass
class WatcherGroup:
    """The running watchers of ``consult serve`` / ``consult poll``."""

    watchers: list[IdleWatcher]
    threads: list[threading.Thread] = field(default_factory=list)

    def watches(self) -> list[MailboxWatch]:
        """Each watcher's state (``consult.metrics.MailboxSource``)."""
        return [w.watch() for w in self.watchers]

    def stop(self, timeout: float = 10.0) -> None:
        for watcher in self.watchers:
            watcher.stop()
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))


def start_watchers(settings: Settings, engine: Engine, kb: KnowledgeBase, *, clock: Clock,
                   client_factory: ClientFactory = connect,
                   pool: AnalysisPool | None = None) -> WatcherGroup:
    """One watcher thread per folder of every configured account; ``pool`` (budgeted analysis
    workers, shared by all of them) parses and analyses the mail."""
    watchers = [IdleWatcher(settings, engine, kb, account, folder, clock=clock,
                            client_factory=client_factory, pool=pool)
                for account in settings.imap_all_accounts for folder in account.folders]
    group = WatcherGroup(watchers)
    for watcher in watchers:
        thread = threading.Thread(target=watcher.run_forever, name=f"imap {watcher.name}",
                                  daemon=True)
        thread.start()
        group.threads.append(thread)
    return group


def run_watchers(settings: Settings, engine: Engine, kb: KnowledgeBase, *, clock: Clock) -> None:
    """Run the watchers in the foreground until Ctrl-C, or until every one of them has stopped
    for good (a refused login): then raise its error."""
    pool = (AnalysisPool(kb.path, workers=settings.analysis_workers,
                         budget=Budget.from_settings(settings))
            if settings.analysis_workers > 0 else None)
    group = start_watchers(settings, engine, kb, clock=clock, pool=pool)
    try:
        while any(t.is_alive() for t in group.threads):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        group.stop()
        if pool is not None:
            pool.close()
    failures = [w.failure for w in group.watchers if w.failure is not None]
    if failures:
        raise failures[0]
