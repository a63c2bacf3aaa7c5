"""The processor: drafts the mail the SMTP listener stored (``consult process``, and a job of
``consult serve``'s scheduler).

Each run takes the stored mail a batch at a time (``consult.intake.process_pending``: every mail
analysed first, then written one by one in the per-message runner, one commit per batch).

Several workers share the stored mail: on PostgreSQL each batch is claimed with
``FOR UPDATE SKIP LOCKED`` (other workers take the next mails, none is processed twice); on
SQLite, where every process is on one machine, the processors of all processes take turns
under one lease (``workers.leases``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from consult import metrics
from consult.config import Settings
from consult.intake import BatchAnalyzer, has_pending, own_addresses, process_pending
from consult.kb.store import KnowledgeBase
from db.engine import session as new_session
from workers.analysis_pool import AnalysisPool
from workers.leases import hold
from workers.memory import trim

#: The lease the processors of all processes on one SQLite database take turns under.
SQLITE_LEASE = "stored mail"

if TYPE_CHECKING:
    from apscheduler.schedulers.base import BaseScheduler

log = logging.getLogger(__name__)


class Processor:
    """Drafts mail the SMTP listener stored. ``wake()`` makes it run now instead of on the tick.

    With a ``pool`` each mail is parsed and analysed in a budgeted worker process; all of a
    run's mails are analysed before its first write, so the listener never waits on a slow one.
    """

    def __init__(self, settings: Settings, engine: Engine, kb: KnowledgeBase, *,
                 clock: Callable[[], datetime], pool: AnalysisPool | None = None) -> None:
        self.settings, self.engine, self.kb, self.clock = settings, engine, kb, clock
        self.pool = pool
        self._lock = threading.Lock()
        self.scheduler: BaseScheduler | None = None

    def _preparer(self) -> BatchAnalyzer | None:
        pool, own = self.pool, own_addresses(self.settings)
        if pool is None:
            return None
        return lambda raws: pool.analyze(raws, own)

    def run_once(self, *, batches: int = 20) -> int:
        """Draft what is stored, a batch (and a commit) at a time; how many mails."""
        rows_lock = self.engine.dialect.name != "sqlite"
        with self._lock:
            lease = None
            if not rows_lock:  # a write every tick only when there is work
                with new_session(self.engine) as s:
                    if not has_pending(s):
                        return 0
                lease = hold(self.engine, SQLITE_LEASE, seconds=self.settings.lease_seconds)
                if lease is None:  # another process's processor is at it
                    return 0
            try:
                done = self._batches(batches, claim=rows_lock)
            finally:
                if lease is not None:
                    lease.release()
        return done

    def _batches(self, batches: int, *, claim: bool) -> int:
        done = 0
        for _ in range(batches):
            with new_session(self.engine) as s:
                results = process_pending(s, self.kb, self.settings, now=self.clock(),
                                          prepare=self._preparer(), claim=claim)
                s.commit()
                metrics.stored_mail_drafted(s, results, now=self.clock())
            for r in results:
                log.info("mail #%s -> case #%s (%s)", r.message_pk, r.case_id, r.outcome)
            done += len(results)
            if not results:
                break
        if done:
            trim()  # the batch's buffers go back to the system before the next tick
        return done

    def wake(self) -> None:
        """Run the job now; while a run is under way, its next tick (2 s) picks the mail up."""
        if self.scheduler is not None and not self._lock.locked():
            self.scheduler.modify_job("process", next_run_time=self.clock())
