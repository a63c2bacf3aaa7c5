"""The analysis pool: the same rows as in-process intake, and a broken pool loses no mail."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from support.mails import consultation
from support.servers import Dovecot

from consult.clock import utcnow
from consult.intake import Arrival, ingest_batch, own_addresses
from consult.kb.store import KnowledgeBase
from db.engine import session
from db.models import Case, Message
from workers.analysis_pool import AnalysisPool
from workers.imap_poller import ImapPoller

from .helpers import count

NOW = datetime(2026, 11, 20, tzinfo=UTC)


def _mixed() -> list[bytes]:
    """New questions, a follow-up of one of them, an auto-reply, garbage and a duplicate."""
    mails = [consultation(message_id=f"p{i}@clinic.example", subject=f"43214 with 43200 #{i}",
                          sender=f"coder{i % 3}@clinic.example") for i in range(12)]
    mails += [
        consultation(message_id="f1@clinic.example", subject="Re: 43214 with 43200 #2",
                     sender="coder2@clinic.example",
                     extra_headers={"In-Reply-To": "<p2@clinic.example>"}),
        consultation(message_id="ooo@clinic.example", subject="Out of office",
                     extra_headers={"Auto-Submitted": "auto-replied"}),
        b"\x00\xff garbage \r\n\r\n",
        b"From: x@clinic.example\r\nSubject: 43214?\r\n",
    ]
    return [*mails, mails[4]]


def _tables(engine: object) -> list[object]:
    with engine.connect() as c:  # type: ignore[attr-defined]
        return [[tuple(r) for r in c.execute(text(f"select * from {t} order by id"))]
                for t in ("cases", "messages", "drafts", "audit_events")]


def test_pool_writes_the_same_rows_as_in_process(make_settings, engine_for,
                                                 starter_kb: KnowledgeBase,
                                                 starter_kb_path: Path, tmp_path) -> None:
    pool = AnalysisPool(starter_kb_path, min_batch=4, task_mails=3)
    dumps, outcomes = [], []
    try:
        for name in ("inproc", "pool"):
            url = f"sqlite:///{tmp_path / name}.db"
            settings, engine = make_settings(database_url=url), engine_for(url)
            own = own_addresses(settings)
            prepare = None if name == "inproc" else (lambda raws, own=own: pool.analyze(raws, own))
            with session(engine) as s:
                results = ingest_batch(s, [Arrival(m, i) for i, m in enumerate(_mixed(), 1)],
                                       starter_kb, settings, source="imap", now=NOW,
                                       mailbox="m", uidvalidity=1, prepare=prepare)
                s.commit()
            outcomes.append(results)
            dumps.append(_tables(engine))
        assert pool.failures == 0
    finally:
        pool.close()
    assert outcomes[0] == outcomes[1]
    assert dumps[0] == dumps[1]
    assert [r.outcome for r in outcomes[0][12:]] == [
        "followup", "quarantined", "quarantined", "case", "duplicate"]


def test_a_pool_that_cannot_start_loses_no_mail(imap_settings, engine_for,
                                                starter_kb: KnowledgeBase, dovecot: Dovecot,
                                                tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    settings, engine = imap_settings(dovecot, url, imap_fetch_chunk=40), engine_for(url)
    dovecot.append(*[consultation(message_id=f"b{i}@clinic.example", subject=f"43214 #{i}")
                     for i in range(90)])
    with ImapPoller(settings, engine, starter_kb, clock=utcnow) as poller:
        assert poller.pool is not None
        poller.pool.kb_path = str(tmp_path / "no-such-kb.sqlite")  # every worker fails to start
        report = poller.run_once()
        assert poller.pool.failures >= 1
    assert (report.cases, report.quarantined) == (90, 0)
    assert count(engine, Case) == 90 and count(engine, Message) == 90
    assert dovecot.count("INBOX") == 0
