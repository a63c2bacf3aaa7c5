"""Mail through the embedded SMTP listener -> case -> approve -> reply at a real SMTP sink."""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from datetime import UTC, datetime

from sqlmodel import select
from support.mails import consultation
from support.servers import SmtpSink, free_port

from consult import review
from consult.clock import utcnow
from consult.config import Settings
from consult.kb.store import KnowledgeBase
from db.engine import session
from db.models import Case, Message
from workers.processor import Processor
from workers.sender import Sender
from workers.smtp_inbound import start_listener


def test_smtp_listener_to_reply_at_sink(make_settings: Callable[..., Settings], db_url: str,
                                        engine_for, starter_kb: KnowledgeBase,
                                        smtp_sink: SmtpSink) -> None:
    settings = make_settings(
        database_url=db_url, listen_smtp=f"127.0.0.1:{free_port()}",
        smtp_host=smtp_sink.host, smtp_port=smtp_sink.port, smtp_starttls=False,
        accept_recipients="consult@consult.test",
    )
    engine = engine_for(db_url)
    controller = start_listener(settings, engine, clock=utcnow)
    try:
        host, port = settings.smtp_listen
        with smtplib.SMTP(host, port, timeout=10) as client:
            client.sendmail("dana@clinic.example", ["consult@consult.test"], consultation())
            try:
                client.sendmail("dana@clinic.example", ["nobody@consult.test"], consultation())
                raise AssertionError("unknown recipient was accepted")
            except smtplib.SMTPRecipientsRefused as exc:
                assert exc.recipients["nobody@consult.test"][0] == 550
    finally:
        controller.stop()

    # the listener stored the bytes but drafted nothing yet
    with session(engine) as s:
        stored = s.exec(select(Message)).all()
        assert len(stored) == 1 and not stored[0].processed
        assert b"43214" in stored[0].raw

    assert Processor(settings, engine, starter_kb, clock=utcnow).run_once() == 1
    with session(engine) as s:
        case = s.exec(select(Case)).one()
        assert case.status == "awaiting_review"
        draft = review.latest_draft(s, case.id)
        assert draft is not None and "43214" in draft.body_text
        review.approve(s, case.id, settings, actor="tester", now=datetime.now(UTC))
        s.commit()
        case_id = case.id

    report = Sender(settings, engine, clock=utcnow).run_once()
    assert report.sent == 1
    (reply,) = smtp_sink.wait(1)
    mail_from, rcpts, _raw = smtp_sink.received[0]
    assert mail_from == "consult@consult.test" and rcpts == ["dana@clinic.example"]
    assert reply["In-Reply-To"] == "<q1@clinic.example>"
    assert reply["Subject"].endswith(f"[Case #{case_id}]")
    text = reply.get_body(("plain",)).get_content()
    flat = " ".join(text.split())
    assert "Answer: No: 43200 is bundled into 43214" in flat  # the answer comes first
    assert starter_kb.version in flat
    with session(engine) as s:
        assert s.get(Case, case_id).status == "sent"  # type: ignore[union-attr]
        out = s.exec(select(Message).where(Message.direction == "out")).one()
        assert out.case_id == case_id
