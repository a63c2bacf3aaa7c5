"""Item 11: NUL characters never cost a mail its case, an oversize mail keeps its subject and
sender, and a storage quota per sender keeps one sender from filling the disk."""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import select
from support.mails import consultation
from support.servers import Dovecot, free_port

from consult.clock import utcnow
from consult.config import Settings
from consult.intake import ingest
from consult.kb.store import KnowledgeBase
from db.engine import session
from db.models import Case, Message
from workers.imap_poller import ImapPoller
from workers.processor import Processor
from workers.smtp_inbound import start_listener


def test_a_nul_in_a_header_is_dropped_not_the_case(
        make_settings: Callable[..., Settings], db_url: str, engine_for: Any,
        starter_kb: KnowledgeBase) -> None:
    settings = make_settings(database_url=db_url, listen_smtp=f"127.0.0.1:{free_port()}")
    engine = engine_for(db_url)
    raw = consultation(subject="43214 with 43200 MARKER").replace(b"MARKER", b"\x00\x00?")
    raw = raw.replace(b"From: Dana Whitfield", b"From: Dana\x00 Whitfield")
    controller = start_listener(settings, engine, clock=utcnow)
    try:
        with smtplib.SMTP(*settings.smtp_listen, timeout=30) as client:
            client.sendmail("dana@clinic.example", ["consult@consult.test"], raw)
    finally:
        controller.stop()
    assert Processor(settings, engine, starter_kb, clock=utcnow).run_once() == 1
    with session(engine) as s:
        case = s.exec(select(Case)).one()
        assert case.status == "awaiting_review", case.quarantine_reason
        assert case.subject == "43214 with 43200 ?" and case.sender == "dana@clinic.example"
        assert case.sender_name == "Dana Whitfield"
        assert b"\x00" in s.exec(select(Message)).one().raw  # the record keeps every byte


def test_an_oversize_mail_keeps_its_subject_and_sender(
        make_settings: Callable[..., Settings], engine_for: Any, starter_kb: KnowledgeBase,
        tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'big.db'}"
    settings = make_settings(database_url=url, max_message_bytes=20_000)
    engine = engine_for(url)
    raw = consultation(subject="Op note attached: 43214?", body="43214? " + "x" * 30_000)
    with session(engine) as s:
        result = ingest(s, raw, starter_kb, settings, source="cli", now=utcnow())
        s.commit()
        case = s.get(Case, result.case_id)
        assert result.outcome == "quarantined" and "byte limit" in result.reason
        assert case is not None and case.subject == "Op note attached: 43214?"
        assert case.sender == "dana@clinic.example" and case.sender_name == "Dana Whitfield"


def _mail(n: int, sender: str = "flood@clinic.example") -> bytes:
    return consultation(message_id=f"flood{n}@clinic.example", sender=sender,
                        subject=f"43214 question {n}", body="43214? " + "y" * 30_000)


def test_the_listener_refuses_a_sender_over_quota_with_a_temporary_error(
        make_settings: Callable[..., Settings], engine_for: Any, tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'quota.db'}"
    settings = make_settings(database_url=url, listen_smtp=f"127.0.0.1:{free_port()}",
                             sender_quota_mb=0.07)  # room for two of these mails
    engine = engine_for(url)
    controller = start_listener(settings, engine, clock=utcnow)
    try:
        with smtplib.SMTP(*settings.smtp_listen, timeout=30) as client:
            for n in range(2):
                client.sendmail("flood@clinic.example", ["consult@consult.test"], _mail(n))
            with pytest.raises(smtplib.SMTPDataError) as refused:
                client.sendmail("flood@clinic.example", ["consult@consult.test"], _mail(2))
            assert refused.value.smtp_code == 452
            client.sendmail("dana@clinic.example", ["consult@consult.test"],
                            _mail(3, sender="dana@clinic.example"))  # others are not affected
    finally:
        controller.stop()
    with session(engine) as s:
        assert len(s.exec(select(Message)).all()) == 3


def test_imap_mail_over_quota_keeps_its_headers_only(
        imap_settings: Any, engine_for: Any, starter_kb: KnowledgeBase, dovecot: Dovecot,
        tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    settings = imap_settings(dovecot, url, sender_quota_mb=0.07)
    engine = engine_for(url)
    dovecot.append(*[_mail(n) for n in range(3)])
    with ImapPoller(settings, engine, starter_kb, clock=utcnow, analysis_workers=0) as poller:
        report = poller.run_once()
    assert (report.cases, report.quarantined) == (2, 1)
    with session(engine) as s:
        case = s.exec(select(Case).where(Case.status == "quarantined")).one()
        assert case.quarantine_reason and "quota" in case.quarantine_reason
        assert case.subject == "43214 question 2"
        kept = s.exec(select(Message).where(Message.case_id == case.id)).one()
        assert len(kept.raw) < 2_000 and kept.raw.startswith(b"From:")
    assert dovecot.count("Processed") == 3  # the full mail stays on the server
