"""The IMAP poller: take in every mail above the last UID committed, exactly once.

It never relies on UNSEEN (another client may have read the mail) or on "the last N". Per
mailbox (account + folder) it keeps UIDVALIDITY and the last UID in the database, committed in
the same transaction as the cases those mails became; only after that commit are the mails
moved to the processed folder (MOVE, or COPY + \\Deleted + EXPUNGE) or flagged. So a crash at
any point loses nothing and duplicates nothing:

- before the commit: nothing of the chunk is in the database, the next run fetches it again;
- after the commit, before the move: the next run finds mails at or below the last UID still in
  the folder (or not flagged) and only moves them;
- a UIDVALIDITY change restarts from UID 1, and the content fingerprint turns every mail already
  taken in into a "duplicate" instead of a second case.

A chunk is ingested in one transaction (the fast path). When that fails, the chunk is rolled
back and redone one mail per transaction, so one bad message is quarantined with its raw bytes
and never blocks the mailbox (Mailman's shunt queue, not django-helpdesk's stuck inbox). Small
chunks (the IDLE watcher's first ones) are moved together, up to ``imap_fetch_chunk`` mails per
MOVE, still only after their commit.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from imapclient import IMAPClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from consult import metrics
from consult.analyzed import AnalyzedMail
from consult.config import ImapAccount, Settings
from consult.intake import (
    Arrival,
    BatchAnalyzer,
    IntakeResult,
    ingest,
    ingest_batch,
    own_addresses,
    quarantine_raw,
)
from consult.kb.store import KnowledgeBase
from consult.runner import Runner
from db.engine import session as new_session
from db.models import MailboxState
from workers.analysis_pool import AnalysisPool, Budget, QueuedChunk
from workers.imap_connect import ClientFactory, connect, take_news
from workers.leases import HeldLease, LeaseLost, hold, mailbox_lease

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
PROCESSED_FLAG = b"$ConsultProcessed"
#: Bodies fetched in one FETCH stay under this many bytes (a bigger mail comes alone).
FETCH_BYTES = 32 * 1024 * 1024
#: Test hook, inert unless set: ``point:N`` SIGKILLs this process the N-th time it reaches
#: ``point`` (mid_batch: after a mail is ingested, before the commit; after_commit: after a
#: chunk's commit, before the move; after_move: after the chunk was moved or flagged).
CRASH_ENV = "CONSULT_TEST_CRASH_AT"


def default_client_factory(account: ImapAccount) -> IMAPClient:
    """Connect and log in (see ``workers.imap_connect.connect``)."""
    return connect(account)


class CrashHook:
    """Kills the process at a named point of a batch, for the exactly-once tests only."""

    def __init__(self, spec: str | None) -> None:
        self.point, self.at, self.seen = "", 0, 0
        if spec:
            point, _, count = spec.partition(":")
            self.point, self.at = point.strip(), int(count or "1")

    def __call__(self, point: str) -> None:
        if point != self.point:
            return
        self.seen += 1
        if self.seen == self.at:
            log.warning("%s=%s:%s reached: SIGKILL", CRASH_ENV, point, self.at)
            os.kill(os.getpid(), signal.SIGKILL)


@dataclass
class PollReport:
    """How many mails became cases, follow-ups, quarantined or were already known."""

    cases: int = 0
    followups: int = 0
    quarantined: int = 0
    duplicates: int = 0
    moved: int = 0
    results: list[IntakeResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    #: the server announced new mail (EXISTS/RECENT) during the sync, after its SELECT: that
    #: mail may not have been in the SEARCH, so sync again before waiting (IDLE or poll)
    news: bool = False
    #: mailboxes left alone: another worker holds their lease and takes them in
    skipped: list[str] = field(default_factory=list)

    def add(self, result: IntakeResult) -> None:
        self.results.append(result)
        if result.outcome == "case":
            self.cases += 1
        elif result.outcome == "followup":
            self.followups += 1
        elif result.outcome == "quarantined":
            self.quarantined += 1
        else:
            self.duplicates += 1

    def merge(self, other: PollReport) -> None:
        for result in other.results:
            self.add(result)
        self.moved += other.moved
        self.errors.extend(other.errors)
        self.news = self.news or other.news
        self.skipped.extend(other.skipped)

    @property
    def taken_in(self) -> int:
        return len(self.results)

    def summary(self) -> str:
        held = (f"; {len(self.skipped)} mailbox(es) left to the worker holding their lease"
                if self.skipped else "")
        return (f"{self.cases} new cases, {self.followups} follow-ups, "
                f"{self.quarantined} quarantined, {self.duplicates} duplicates{held}")


def _growing(uids: Sequence[int], first: int, cap: int) -> list[list[int]]:
    """Split UIDs into runs of ``first``, twice that, four times... at most ``cap`` (pure)."""
    out: list[list[int]] = []
    size, start = max(1, min(first, cap)), 0
    while start < len(uids):
        out.append(list(uids[start:start + size]))
        start += size
        size = min(cap, size * 2)
    return out


def _chunks_by_size(uids: Sequence[int], sizes: dict[int, int], limit: int) -> list[list[int]]:
    """Split UIDs so each body FETCH stays under ``limit`` bytes (pure)."""
    out: list[list[int]] = []
    current: list[int] = []
    total = 0
    for uid in uids:
        size = sizes.get(uid, 0)
        if current and total + size > limit:
            out.append(current)
            current, total = [], 0
        current.append(uid)
        total += size
    if current:
        out.append(current)
    return out


class FolderSync:
    """Takes in everything new in one folder over an open, logged-in connection.

    Shared by the poller (``run_once`` over all mailboxes) and the IDLE watcher (one folder,
    called again on every EXISTS). ``commit_chunk``: the first chunk's size, doubling up to
    ``imap_fetch_chunk`` (default: that from the start); the watcher starts small, so the first
    drafts of a burst show up while the rest is still being taken in.
    """

    def __init__(self, settings: Settings, engine: Engine, kb: KnowledgeBase, *,
                 clock: Clock, crash: CrashHook | None = None,
                 pool: AnalysisPool | None = None, commit_chunk: int | None = None) -> None:
        self.settings, self.engine, self.kb, self.clock = settings, engine, kb, clock
        self.pool = pool
        self.commit_chunk = commit_chunk
        self.crash = crash or CrashHook(os.environ.get(CRASH_ENV))
        self._folders_made: set[str] = set()
        self._delivered: dict[int, datetime] = {}  # UID -> INTERNALDATE, for the metrics

    # -- state ------------------------------------------------------------------------------
    def _state(self, s: Session, key: str) -> MailboxState | None:
        return s.exec(select(MailboxState).where(MailboxState.mailbox == key)).first()

    def _load_last_uid(self, key: str, uidvalidity: int) -> int:
        """The last UID committed; 0 for a new mailbox or after a UIDVALIDITY change."""
        with new_session(self.engine) as s:
            state = self._state(s, key)
            if state is not None and state.uidvalidity == uidvalidity:
                return state.last_uid
            if state is None:
                state = MailboxState(mailbox=key, uidvalidity=uidvalidity, last_uid=0,
                                     updated_at=self.clock())
            else:
                log.warning("%s: UIDVALIDITY changed %s -> %s; resyncing from UID 1 (content "
                            "fingerprints turn mail already taken in into duplicates)", key,
                            state.uidvalidity, uidvalidity)
                state.uidvalidity, state.last_uid, state.updated_at = uidvalidity, 0, self.clock()
            s.add(state)
            s.commit()
            return 0

    def _save_state(self, s: Session, key: str, uidvalidity: int, last_uid: int) -> None:
        state = self._state(s, key)
        if state is None:
            state = MailboxState(mailbox=key, uidvalidity=uidvalidity, last_uid=0,
                                 updated_at=self.clock())
        state.uidvalidity = uidvalidity
        state.last_uid = max(state.last_uid if state.uidvalidity == uidvalidity else 0, last_uid)
        state.updated_at = self.clock()
        s.add(state)

    # -- one folder -------------------------------------------------------------------------
    def sync(self, client: IMAPClient, account: ImapAccount, folder: str,
             lease: HeldLease | None = None) -> PollReport:
        """Take in everything new in ``folder``; with a ``lease``, stop (LeaseLost) before the
        next commit once another worker has taken the mailbox over."""
        report = PollReport()
        key = account.mailbox_key(folder)
        info = client.select_folder(folder)
        take_news(client)  # the SELECT's own EXISTS: the SEARCH below covers those mails
        uidvalidity = int(info[b"UIDVALIDITY"])
        last_uid = self._load_last_uid(key, uidvalidity)
        if last_uid:
            self._finish_moves(client, account, last_uid, report)
        uids = sorted(u for u in client.search(["UID", f"{last_uid + 1}:*"]) if u > last_uid)
        self._delivered.clear()
        chunks = self._fetch_chunks(client, uids)
        current = next(chunks, None)
        ahead = self._start(current)
        unmoved: list[int] = []  # committed; moved together, up to a fetch chunk at a time
        try:
            while current is not None:
                chunk, arrivals = current
                # the next chunk is fetched (and its analysis started) before this one is
                # committed, so the analysis workers never wait for the poller's IMAP and DB work
                this_ahead, fetch_error = ahead, None
                try:
                    current = next(chunks, None)
                except Exception as exc:  # the fetched chunk is still committed, as before
                    current, fetch_error = None, exc
                ahead = self._start(current)
                if lease is not None and lease.lost.is_set():
                    raise LeaseLost(f"{key}: another worker took the mailbox over")
                try:
                    results = self._commit(key, uidvalidity, arrivals, max(chunk), this_ahead)
                finally:
                    if this_ahead is not None:
                        this_ahead.close()
                for result in results:
                    report.add(result)
                metrics.imap_chunk_committed(  # counts, and latency from INTERNALDATE
                    results, [self._delivered.pop(a.uid or 0, None) for a in arrivals],
                    now=self.clock())
                if fetch_error is not None:  # the next run moves this chunk and goes on
                    raise fetch_error
                self.crash("after_commit")
                unmoved += chunk
                # small commit chunks share one MOVE: its round trip would delay the next draft
                if current is None or len(unmoved) >= self.settings.imap_fetch_chunk:
                    report.moved += self._mark_processed(client, account, unmoved)
                    unmoved = []
                    self.crash("after_move")
        finally:
            if ahead is not None:
                ahead.close()
        report.news = take_news(client)
        return report

    def _fetch_chunks(self, client: IMAPClient,
                      uids: list[int]) -> Iterator[tuple[list[int], list[Arrival]]]:
        """The new mail in commit chunks, fetched ``imap_fetch_chunk`` mails at a time (each
        FETCH under ``FETCH_BYTES``). With ``commit_chunk``, the first FETCH is committed in
        growing chunks; fetching stays one round trip, as without it."""
        step = max(1, self.settings.imap_fetch_chunk)
        first = self.commit_chunk or step
        for start in range(0, len(uids), step):
            window = uids[start:start + step]
            meta = client.fetch(window, [b"RFC822.SIZE", b"INTERNALDATE"])
            sizes = {uid: int(d.get(b"RFC822.SIZE", 0)) for uid, d in meta.items()}
            self._delivered.update({uid: d[b"INTERNALDATE"] for uid, d in meta.items()
                                    if isinstance(d.get(b"INTERNALDATE"), datetime)})
            for chunk in _chunks_by_size(window, sizes, FETCH_BYTES):
                fetched = client.fetch(chunk, [b"BODY.PEEK[]"])
                for run in _growing(chunk, first, step):
                    yield run, [Arrival(bytes(fetched[uid][b"BODY[]"]), uid) for uid in run
                                if uid in fetched and b"BODY[]" in fetched[uid]]
                first = step

    def _start(self, fetched: tuple[list[int], list[Arrival]] | None) -> QueuedChunk | None:
        """Hand a fetched chunk to the analysis pool, if there is one."""
        if fetched is None or self.pool is None:
            return None
        return self.pool.start([a.raw for a in fetched[1]], own_addresses(self.settings))

    def _commit(self, key: str, uidvalidity: int, arrivals: list[Arrival],
                last_uid: int, ahead: QueuedChunk | None = None) -> list[IntakeResult]:
        """Ingest a chunk and advance the last UID in one transaction; one mail at a time when
        the chunk as a whole fails. ``ahead``: the chunk's analysis, started in the pool."""
        prepare: BatchAnalyzer | None = None if ahead is None else ahead.results
        try:
            with new_session(self.engine) as s:
                results = ingest_batch(s, arrivals, self.kb, self.settings, source="imap",
                                       now=self.clock(), mailbox=key, uidvalidity=uidvalidity,
                                       after_each=lambda _i: self.crash("mid_batch"),
                                       prepare=prepare)
                self._save_state(s, key, uidvalidity, last_uid)
                s.commit()
                return results
        except Exception as exc:
            # the class and the count only: the error's text can hold the statement, subjects
            # and the start of each raw mail
            log.warning("%s: a chunk of %s mails failed as a whole (%s); taking them in one at "
                        "a time", key, len(arrivals), type(exc).__name__)
        runner: Runner[Arrival, IntakeResult] = Runner(
            f"IMAP {key}", handle=lambda arrival: self._commit_one(key, uidvalidity, arrival),
            on_failure=lambda arrival, exc: self._quarantine_one(key, uidvalidity, arrival, exc),
            label=lambda arrival: f"UID {arrival.uid}")
        results = runner.run(arrivals).results
        with new_session(self.engine) as s:
            self._save_state(s, key, uidvalidity, last_uid)
            s.commit()
        return results

    def _commit_one(self, key: str, uidvalidity: int, arrival: Arrival) -> IntakeResult:
        """One mail in its own transaction (still within the budget, with a pool)."""
        prepared: AnalyzedMail | None = None
        if self.pool is not None:
            prepared = next(self.pool.analyze([arrival.raw], own_addresses(self.settings)))
        with new_session(self.engine) as s:
            result = ingest(s, arrival.raw, self.kb, self.settings, source="imap",
                            now=self.clock(), mailbox=key, uidvalidity=uidvalidity,
                            uid=arrival.uid, prepared=prepared)
            self._save_state(s, key, uidvalidity, arrival.uid or 0)
            s.commit()
            return result

    def _quarantine_one(self, key: str, uidvalidity: int, arrival: Arrival,
                        exc: Exception) -> IntakeResult:
        """A mail that failed even on its own: its bytes kept in quarantine with the reason
        (if even this fails, the database is down: the error propagates)."""
        reason = f"intake failed: {type(exc).__name__}: {str(exc)[:500]}"
        with new_session(self.engine) as s:
            result = quarantine_raw(s, arrival.raw, reason, source="imap", now=self.clock(),
                                    mailbox=key, uidvalidity=uidvalidity, uid=arrival.uid)
            self._save_state(s, key, uidvalidity, arrival.uid or 0)
            s.commit()
            return result

    # -- after the commit -------------------------------------------------------------------
    def _finish_moves(self, client: IMAPClient, account: ImapAccount, last_uid: int,
                      report: PollReport) -> None:
        """Mail committed before a crash but not yet moved (or flagged): do that now."""
        criteria: list[object] = ["UID", f"1:{last_uid}"]
        if not account.processed_folder:
            criteria += ["UNKEYWORD", PROCESSED_FLAG.decode()]
        left = [u for u in client.search(criteria) if u <= last_uid]
        if left:
            log.info("%s: %s mails committed earlier are still in %s; finishing their move",
                     account.label, len(left), "the folder")
            report.moved += self._mark_processed(client, account, left)

    def _mark_processed(self, client: IMAPClient, account: ImapAccount, uids: list[int]) -> int:
        """Move to the processed folder, or flag when none is configured. Only called after
        the commit; a failure here is retried by the next run's ``_finish_moves``."""
        target = account.processed_folder
        if not uids:
            return 0
        try:
            if not target:
                client.add_flags(uids, [PROCESSED_FLAG], silent=True)
                return len(uids)
            if target not in self._folders_made:
                if not client.folder_exists(target):
                    with contextlib.suppress(IMAPClient.Error):  # another worker made it
                        client.create_folder(target)
                self._folders_made.add(target)
            if client.has_capability("MOVE"):
                client.move(uids, target)
            else:
                client.copy(uids, target)
                client.delete_messages(uids, silent=True)
                if client.has_capability("UIDPLUS"):
                    client.uid_expunge(uids)
                else:
                    client.expunge()
            return len(uids)
        except IMAPClient.AbortError:
            raise  # the connection is gone: the caller reconnects, the next run moves them
        except IMAPClient.Error as exc:
            log.warning("could not move processed mail of %s to %r: %s (retried next run)",
                        account.label, target or PROCESSED_FLAG.decode(), exc)
            return 0


class ImapPoller:
    """Polls every configured mailbox; ``run_once`` takes in everything new and returns.

    Each folder is taken in under its lease (``workers.leases``): while another worker (an IDLE
    watcher, a second ``consult poll --once``) holds it, the folder is left to that worker and
    named in the report's ``skipped``.

    Big chunks are parsed and analysed by ``analysis_workers`` processes (0: none), made on the
    first such chunk and stopped by ``close`` (or leaving a ``with`` block).
    """

    def __init__(self, settings: Settings, engine: Engine, kb: KnowledgeBase, *, clock: Clock,
                 client_factory: ClientFactory = default_client_factory,
                 accounts: list[ImapAccount] | None = None,
                 analysis_workers: int | None = None,
                 pool: AnalysisPool | None = None) -> None:
        self.settings = settings
        self.engine = engine
        self.kb = kb
        self.clock = clock
        self.client_factory = client_factory
        self.accounts = accounts if accounts is not None else settings.imap_all_accounts
        # a shared pool (serve's) is closed by its owner; one made here is closed by close()
        if analysis_workers is None:
            analysis_workers = settings.analysis_workers
        self._own_pool = pool is None and analysis_workers > 0
        self.pool = pool if pool is not None else (
            AnalysisPool(kb.path, workers=analysis_workers,
                         budget=Budget.from_settings(settings)) if analysis_workers else None)
        self.folders = FolderSync(settings, engine, kb, clock=clock, pool=self.pool)

    def close(self) -> None:
        """Stop the analysis workers, if this poller started them."""
        if self.pool is not None and self._own_pool:
            self.pool.close()

    def __enter__(self) -> ImapPoller:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def poll_account(self, account: ImapAccount) -> PollReport:
        """Connect to one account and take in each of its folders."""
        report = PollReport()
        client = self.client_factory(account)
        try:
            for folder in account.folders:
                key = account.mailbox_key(folder)
                lease = hold(self.engine, mailbox_lease(key),
                             seconds=self.settings.lease_seconds)
                if lease is None:  # another worker is taking it in right now
                    log.info("%s: another worker holds its lease; left to it", key)
                    report.skipped.append(key)
                    continue
                with lease:
                    report.merge(self.folders.sync(client, account, folder, lease=lease))
        finally:
            with contextlib.suppress(Exception):  # the connection may already be gone
                client.logout()
        return report

    def run_once(self) -> PollReport:
        """Every account in turn; one failing account does not keep the others from being
        taken in, and its error is raised after them (AuthenticationError: fix credentials)."""
        report = PollReport()
        first_error: Exception | None = None
        for account in self.accounts:
            try:
                report.merge(self.poll_account(account))
            except Exception as exc:
                log.error("IMAP %s: %s", account.label, exc)
                report.errors.append(f"{account.label}: {exc}")
                first_error = first_error or exc
        if first_error is not None:
            if len(self.accounts) == 1:
                raise first_error
            log.error("%s of %s IMAP accounts failed", len(report.errors), len(self.accounts))
        return report
