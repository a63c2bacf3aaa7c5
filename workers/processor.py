"""The processor: drafts the mail the SMTP listener stored (``consult process``, and a job of
``consult serve``'s scheduler).

Each run takes the stored mail a batch at a time (``consult.intake.process_pending``: every mail
analysed first, then written one by one in the per-message runner, one commit per batch).
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
from consult.intake import BatchAnalyzer, own_addresses, process_pending
from consult.kb.store import KnowledgeBase
from db.engine import session as new_session
from workers.analysis_pool import AnalysisPool
from workers.memory import trim

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
        done = 0
        with self._lock:
            for _ in range(batches):
                with new_session(self.engine) as s:
                    results = process_pending(s, self.kb, self.settings, now=self.clock(),
                                              prepare=self._preparer())
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
