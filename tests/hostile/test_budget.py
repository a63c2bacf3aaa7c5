"""Item 3: every mail has a CPU, memory and wall-clock budget in a worker process; a mail over it
is quarantined with the reason (subject, sender and raw bytes kept) and the queue goes on."""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from typing import Any

from sqlmodel import select
from support import hostile
from support.mails import consultation
from support.servers import Dovecot, free_port

from consult.clock import utcnow
from consult.config import Settings
from consult.kb.store import KnowledgeBase
from db.engine import session
from db.models import Case, Message
from workers.analysis_pool import AnalysisPool
from workers.imap_poller import ImapPoller
from workers.processor import Processor
from workers.smtp_inbound import start_listener


def test_each_budget_stops_its_mail_and_the_next_mail_is_fine(
        make_pool: Callable[..., AnalysisPool]) -> None:
    own: frozenset[str] = frozenset()
    cases = [
        (dict(cpu_seconds=1, wall_seconds=30), hostile.many_pdfs(5), "CPU time"),
        (dict(cpu_seconds=30, wall_seconds=1), hostile.many_pdfs(5), "not done within 1 s"),
        (dict(memory_mb=40), hostile.big_body(30), "more than 40 MB of memory"),
    ]
    for budget, raw, why in cases:
        pool = make_pool(**budget)
        hostile_result, after = list(pool.analyze([raw, consultation()], own))
        assert hostile_result is not None and hostile_result.mail is None
        assert why in hostile_result.over_budget, hostile_result.over_budget
        assert "CONSULT_ANALYSIS_" in hostile_result.over_budget
        assert after is not None and after.digest is not None  # a fresh worker took it
        assert set(after.digest.codes.split()) >= {"43214", "43200"}
        assert pool.over_budget == 1 and not pool.broken


def _listener_settings(make_settings: Callable[..., Settings], db_url: str) -> Settings:
    return make_settings(database_url=db_url, listen_smtp=f"127.0.0.1:{free_port()}",
                         secret_key="test-secret-key-0123456789",
                         analysis_cpu_seconds=1, analysis_wall_seconds=1.5)


def test_a_mail_over_budget_is_quarantined_and_the_queue_goes_on(
        make_settings: Callable[..., Settings], db_url: str, engine_for: Any,
        starter_kb: KnowledgeBase, make_pool: Callable[..., AnalysisPool]) -> None:
    settings = _listener_settings(make_settings, db_url)
    engine = engine_for(db_url)
    pool = make_pool(cpu_seconds=1, wall_seconds=1.5, workers=2)
    bomb = hostile.many_pdfs(5, sender="eve@attacker.example", message_id="bomb@attacker.example")
    controller = start_listener(settings, engine, clock=utcnow)
    try:
        with smtplib.SMTP(*settings.smtp_listen, timeout=30) as client:
            client.sendmail("eve@attacker.example", ["consult@consult.test"], bomb)
            client.sendmail("dana@clinic.example", ["consult@consult.test"], consultation())
    finally:
        controller.stop()
    processor = Processor(settings, engine, starter_kb, clock=utcnow, pool=pool)
    assert processor.run_once() == 2
    with session(engine) as s:
        by_sender = {c.sender: c for c in s.exec(select(Case))}
        bad, good = by_sender["eve@attacker.example"], by_sender["dana@clinic.example"]
        assert bad.status == "quarantined"
        assert bad.quarantine_reason and "over the analysis budget" in bad.quarantine_reason
        assert bad.subject == "43214 with 43200?"  # read from the headers alone
        stored = s.exec(select(Message).where(Message.case_id == bad.id)).one()
        assert stored.raw == bomb and stored.processed
        assert good.status == "awaiting_review" and "43214" in good.codes


def test_imap_intake_quarantines_over_budget_mail_without_stopping_the_chunk(
        imap_settings: Any, engine_for: Any, starter_kb: KnowledgeBase, dovecot: Dovecot,
        make_pool: Callable[..., AnalysisPool], tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'imap.db'}"
    settings = imap_settings(dovecot, url, analysis_cpu_seconds=1, analysis_wall_seconds=1.5)
    engine = engine_for(url)
    mails = [consultation(message_id=f"ok{i}@clinic.example", subject=f"43214 question {i}")
             for i in range(3)]
    mails.insert(1, hostile.many_pdfs(5, message_id="pdfs@attacker.example"))
    dovecot.append(*mails)
    pool = make_pool(cpu_seconds=1, wall_seconds=1.5, workers=2)
    with ImapPoller(settings, engine, starter_kb, clock=utcnow, pool=pool) as poller:
        report = poller.run_once()
    assert (report.cases, report.quarantined) == (3, 1)
    with session(engine) as s:
        bad = s.exec(select(Case).where(Case.status == "quarantined")).one()
        assert bad.quarantine_reason and "over the analysis budget" in bad.quarantine_reason
        assert bad.sender == "probe@attacker.example"
    assert dovecot.count("INBOX") == 0
