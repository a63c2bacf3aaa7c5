"""APScheduler wiring: the intake processor, the sender and the IMAP poller as interval jobs.

Each job is a worker's ``run_once``; a failing run is logged and the next one runs on time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.engine import Engine

from consult import metrics
from consult.config import Settings
from consult.intake import Preparer, own_addresses, process_pending
from consult.kb.store import KnowledgeBase
from db.engine import session as new_session
from workers.analysis_pool import AnalysisPool
from workers.imap_poller import ImapPoller
from workers.sender import Sender

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
        self.scheduler: BackgroundScheduler | None = None

    def _preparer(self) -> Preparer | None:
        pool, own = self.pool, own_addresses(self.settings)
        if pool is None:
            return None
        return lambda raws: pool.prepare(raws, own)

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
        return done

    def wake(self) -> None:
        """Run the job now; while a run is under way, its next tick (2 s) picks the mail up."""
        if self.scheduler is not None and not self._lock.locked():
            self.scheduler.modify_job("process", next_run_time=self.clock())


def build_scheduler(settings: Settings, engine: Engine, kb: KnowledgeBase, *,
                    clock: Callable[[], datetime], pool: AnalysisPool | None = None,
                    ) -> tuple[BackgroundScheduler, Processor]:
    """The jobs of `consult serve`; ``pool`` (shared with the IMAP watchers) analyses mail."""
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": 30})
    processor = Processor(settings, engine, kb, clock=clock, pool=pool)
    processor.scheduler = scheduler
    scheduler.add_job(processor.run_once, "interval", seconds=2, id="process")
    sender = Sender(settings, engine, clock=clock)
    scheduler.add_job(sender.run_once, "interval", seconds=5, id="send")
    if settings.imap_all_accounts and not settings.imap_idle:
        # with IDLE on, workers.imap_idle watchers take the mail in (and poll by themselves
        # when a server lacks IDLE); serve starts them
        poller = ImapPoller(settings, engine, kb, clock=clock, pool=pool)
        scheduler.add_job(poller.run_once, "interval", seconds=settings.imap_poll_seconds,
                          id="imap", next_run_time=clock())
    return scheduler, processor
