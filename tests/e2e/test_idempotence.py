"""The same mail twice is one case; different mails sharing (or lacking) a Message-ID are two."""

from __future__ import annotations

from sqlmodel import func, select
from support.mails import consultation

from consult.clock import utcnow
from consult.intake import ingest
from consult.kb.store import KnowledgeBase
from db.engine import session
from db.models import Case, Message


def _count(engine, model) -> int:  # type: ignore[no-untyped-def]
    with session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def test_same_mail_twice_is_one_case(make_settings, db_url, engine_for,
                                     starter_kb: KnowledgeBase) -> None:
    settings, engine = make_settings(database_url=db_url), engine_for(db_url)
    raw = consultation()
    # the same content arriving through another mailbox carries other transport headers
    relayed = b"Received: from mx2.clinic.example by mx.consult.test\r\nDelivered-To: x@y\r\n" + raw
    with session(engine) as s:
        first = ingest(s, raw, starter_kb, settings, source="cli", now=utcnow())
        second = ingest(s, relayed, starter_kb, settings, source="imap", now=utcnow())
        s.commit()
    assert first.outcome == "case" and second.outcome == "duplicate"
    assert second.case_id == first.case_id
    assert _count(engine, Case) == 1 and _count(engine, Message) == 1


def test_reused_or_missing_message_id_makes_two_cases(make_settings, db_url, engine_for,
                                                      starter_kb: KnowledgeBase) -> None:
    settings, engine = make_settings(database_url=db_url), engine_for(db_url)
    a = consultation(message_id="same@clinic.example", subject="43239 with 43235?")
    b = consultation(message_id="same@clinic.example", subject="45380 with 45378?",
                     body="Colonoscopy with biopsy, 45380 and 45378 same session?")
    c = consultation(message_id=None, subject="no id one", body="Is 99213-25 ok with 20610?")
    d = consultation(message_id=None, subject="no id two", body="Is 96372 ok with 20610?")
    with session(engine) as s:
        outcomes = [ingest(s, raw, starter_kb, settings, source="cli", now=utcnow()).outcome
                    for raw in (a, b, c, d)]
        s.commit()
    assert outcomes == ["case"] * 4
    assert _count(engine, Case) == 4
