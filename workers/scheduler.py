"""APScheduler wiring: the processor, the sender and the IMAP poller as interval jobs.

Each job is a worker's ``run_once``; a failing run is logged and the next one runs on time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.engine import Engine

from consult.config import Settings
from consult.kb.store import KnowledgeBase
from workers.analysis_pool import AnalysisPool
from workers.imap_poller import ImapPoller
from workers.processor import Processor
from workers.sender import SEND_INTERVAL, Sender


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
    scheduler.add_job(sender.run_once, "interval", seconds=SEND_INTERVAL, id="send")
    if settings.imap_all_accounts and not settings.imap_idle:
        # with IDLE on, workers.imap_idle watchers take the mail in (and poll by themselves
        # when a server lacks IDLE); serve starts them
        poller = ImapPoller(settings, engine, kb, clock=clock, pool=pool)
        scheduler.add_job(poller.run_once, "interval", seconds=settings.imap_poll_seconds,
                          id="imap", next_run_time=clock())
    return scheduler, processor
