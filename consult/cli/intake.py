"""`consult ingest`, `consult poll`, `consult process`, `consult send`, `consult serve`."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from consult.cli.common import CliState, echo
from consult.clock import utcnow

if TYPE_CHECKING:
    from consult.config import Settings
    from consult.kb.store import KnowledgeBase
    from workers.analysis_pool import AnalysisPool


@click.command("ingest")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(path_type=Path, allow_dash=True, exists=True, dir_okay=False))
@click.pass_obj
def ingest_cmd(state: CliState, files: tuple[Path, ...]) -> None:
    """Take FILE.eml in (store, parse, draft) and print the case id."""
    from consult.intake import ingest
    from db.engine import session

    kb, settings = state.kb, state.settings
    with session(state.engine) as s:
        for file in files:
            raw = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
            result = ingest(s, raw, kb, settings, source="cli", now=utcnow())
            s.commit()
            extra = f" ({result.outcome}: {result.reason})" if result.reason else (
                f" ({result.outcome})" if result.outcome != "case" else "")
            echo(f"{result.case_id}{extra}" if len(files) == 1 and not extra
                 else f"{file}: case {result.case_id}{extra}")


@click.command("poll")
@click.option("--once", is_flag=True, help="Take in everything new, then exit (for cron).")
@click.pass_obj
def poll_cmd(state: CliState, once: bool) -> None:
    """Take in new mail from the configured IMAP mailboxes (CONSULT_IMAP_*).

    With --once: every mailbox once, then print how many mails became cases, follow-ups or
    quarantined. Without: keep going, with IDLE where the server offers it (as `consult serve`).
    """
    from consult.errors import ConfigError, MailboxError

    settings = state.settings
    if not settings.imap_all_accounts:
        raise ConfigError("No IMAP mailbox configured: set CONSULT_IMAP_HOST, CONSULT_IMAP_USER "
                          "and CONSULT_IMAP_PASSWORD (or CONSULT_IMAP_ACCOUNTS).")
    if not once:
        from workers.imap_idle import run_watchers
        from workers.memory import tune

        tune()  # long-running: see workers/memory.py

        run_watchers(settings, state.engine, state.kb, clock=utcnow)
        return
    # the analysis workers start first (all of them), so their start-up (a forkserver that
    # imports the analysis modules, then each worker opening the KB) runs on the other core
    # while this process imports the intake, opens the database and fetches the first chunk
    kb = state.kb
    pool = _started_pool(settings, kb)
    try:
        from workers.imap_poller import ImapPoller

        with ImapPoller(settings, state.engine, kb, clock=utcnow, pool=pool) as poller:
            report = poller.run_once()
    finally:
        if pool is not None:
            pool.close()
    click.echo(report.summary())
    if report.errors:
        raise MailboxError("; ".join(report.errors))


def _started_pool(settings: Settings, kb: KnowledgeBase) -> AnalysisPool | None:
    """The analysis pool of ``settings``, its workers starting (None: analyse in process)."""
    from workers.analysis_pool import AnalysisPool, Budget

    if settings.analysis_workers <= 0:
        return None
    pool = AnalysisPool(kb.path, workers=settings.analysis_workers,
                        budget=Budget.from_settings(settings))
    pool.warm_up(settings.analysis_workers)
    return pool


@click.command("process")
@click.pass_obj
def process_cmd(state: CliState) -> None:
    """Process mail the SMTP listener stored but has not drafted yet (each mail within the
    analysis budget, in worker processes)."""
    from workers.analysis_pool import AnalysisPool, Budget
    from workers.processor import Processor

    settings = state.settings
    pool = (AnalysisPool(state.kb.path, workers=settings.analysis_workers,
                         budget=Budget.from_settings(settings))
            if settings.analysis_workers > 0 else None)
    try:
        count = Processor(settings, state.engine, state.kb, clock=utcnow,
                          pool=pool).run_once(batches=10_000)
    finally:
        if pool is not None:
            pool.close()
    click.echo(f"{count} processed")


@click.command("send")
@click.option("--once", is_flag=True,
              help="Deliver what is due, then exit (without: keep delivering until Ctrl-C).")
@click.pass_obj
def send_cmd(state: CliState, once: bool) -> None:
    """Deliver approved replies waiting in the outbox."""
    from workers.sender import SEND_INTERVAL, Sender

    sender = Sender(state.settings, state.engine, clock=utcnow)
    while True:
        report = sender.run_once()
        click.echo(f"{report.sent} sent, {report.retried} to retry, {report.failed} failed")
        if once:
            return
        try:
            time.sleep(SEND_INTERVAL)
        except KeyboardInterrupt:
            return


@click.command("serve")
@click.option("--demo", is_flag=True, help="Deliver the demo consultation mails once started.")
@click.option("--role", type=click.Choice(["all", "web", "worker"]), default="all",
              show_default=True,
              help="web: the review app and API only; worker: SMTP listener, IMAP watchers, "
                   "processor, sender (and /healthz, /readyz, /metrics); all: both. Several "
                   "instances share one PostgreSQL: workers split the work by leases and claims.")
@click.pass_obj
def serve_cmd(state: CliState, demo: bool, role: str) -> None:
    """Run everything: SMTP listener, IMAP poller (if set), processor, sender, review web UI."""
    from workers.memory import tune
    from workers.serve import serve

    tune()  # before serve starts its threads: one arena per thread would each keep its peak
    serve(state.settings, state.engine, state.kb, demo=demo, role=role)


def register(group: click.Group) -> None:
    for cmd in (ingest_cmd, poll_cmd, process_cmd, send_cmd, serve_cmd):
        group.add_command(cmd)
