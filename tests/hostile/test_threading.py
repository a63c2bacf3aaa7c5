"""Item 12: who may join a case. A forged From plus "[Case #N]" starts a case of its own marked as
claiming #N, so it can neither reopen the case nor use up its reopens; a reply token or a trusted
Authentication-Results pass still joins. Mail goes through the real SMTP listener."""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlmodel import select
from support.mails import consultation
from support.servers import free_port

from consult import review
from consult.clock import utcnow
from consult.config import Settings
from consult.kb.store import KnowledgeBase
from consult.mail.reply_token import reply_address
from db.engine import session
from db.models import Case
from workers.processor import Processor
from workers.sender import Sender
from workers.smtp_inbound import start_listener

SECRET = "test-secret-key-0123456789"
MX = "mx.consult.test"


def _auth(verdict: str, authserv: str = MX) -> dict[str, str]:
    return {"Authentication-Results": f"{authserv}; spf={verdict} smtp.mailfrom=clinic.example; "
                                      f"dmarc={verdict} header.from=clinic.example"}


class Desk:
    """The listener, the processor and the sender on one database."""

    def __init__(self, settings: Settings, engine: Any, kb: KnowledgeBase) -> None:
        self.settings, self.engine, self.kb = settings, engine, kb

    def deliver(self, *raws: bytes) -> None:
        controller = start_listener(self.settings, self.engine, clock=utcnow)
        try:
            with smtplib.SMTP(*self.settings.smtp_listen, timeout=30) as client:
                for raw in raws:
                    client.sendmail("x@clinic.example", ["consult@consult.test"], raw)
        finally:
            controller.stop()
        Processor(self.settings, self.engine, self.kb, clock=utcnow).run_once()

    def answer(self, case_id: int) -> None:
        with session(self.engine) as s:
            review.approve(s, case_id, self.settings, actor="tester", now=utcnow())
            s.commit()
        assert Sender(self.settings, self.engine, clock=utcnow).run_once().sent == 1

    def cases(self) -> list[Case]:
        with session(self.engine) as s:
            return list(s.exec(select(Case).order_by(Case.id)))  # type: ignore[arg-type]


def _desk(make_settings: Callable[..., Settings], db_url: str, engine_for: Any,
          kb: KnowledgeBase, **extra: Any) -> Desk:
    settings = make_settings(database_url=db_url, listen_smtp=f"127.0.0.1:{free_port()}",
                             secret_key=SECRET, analysis_workers=0, **extra)
    return Desk(settings, engine_for(db_url), kb)


def _followup(n: int, **kw: Any) -> bytes:
    values: dict[str, Any] = dict(message_id=f"f{n}@clinic.example", body=f"And 43239? ({n})",
                                  date=datetime(2026, 11, 17, 9, n, tzinfo=UTC))
    values.update(kw)
    return consultation(**values)


def test_forged_subject_tags_cannot_reopen_or_use_up_a_case(
        make_settings: Callable[..., Settings], db_url: str, engine_for: Any,
        starter_kb: KnowledgeBase) -> None:
    desk = _desk(make_settings, db_url, engine_for, starter_kb)
    desk.deliver(consultation(message_id="orig@clinic.example"))
    [case] = desk.cases()
    desk.answer(case.id)  # type: ignore[arg-type]
    forged = [_followup(n, subject=f"Re: 43214 [Case #{case.id}]") for n in range(5)]
    desk.deliver(*forged)  # From: dana@clinic.example, but nothing proves it
    after = desk.cases()
    original, strangers = after[0], after[1:]
    assert original.status == "sent" and original.reopen_count == 0
    assert len(strangers) == 5
    assert {c.claims_case_id for c in strangers} == {case.id}
    assert {c.status for c in strangers} == {"awaiting_review"}

    token = reply_address("consult@consult.test", case.id, SECRET)  # type: ignore[arg-type]
    desk.deliver(_followup(9, subject="Re: 43214", to=str(token)))  # the genuine client
    original = desk.cases()[0]
    assert original.status == "awaiting_review" and original.reopen_count == 1


def test_a_subject_tag_joins_only_with_our_servers_pass(
        make_settings: Callable[..., Settings], db_url: str, engine_for: Any,
        starter_kb: KnowledgeBase) -> None:
    desk = _desk(make_settings, db_url, engine_for, starter_kb, trusted_authserv_ids=MX)
    desk.deliver(consultation(message_id="orig@clinic.example"))
    [case] = desk.cases()
    subject = f"Re: 43214 [Case #{case.id}]"
    desk.deliver(_followup(1, subject=subject, extra_headers=_auth("pass", "evil.example")),
                 _followup(2, subject=subject, extra_headers=_auth("pass")))
    first, forged = desk.cases()[:2]
    assert first.id == case.id and len(desk.cases()) == 2
    assert forged.claims_case_id == case.id  # its own "pass" was written by the sender


def test_a_dmarc_failure_is_marked_in_the_queue(
        make_settings: Callable[..., Settings], db_url: str, engine_for: Any,
        starter_kb: KnowledgeBase) -> None:
    desk = _desk(make_settings, db_url, engine_for, starter_kb, trusted_authserv_ids=MX)
    desk.deliver(consultation(message_id="a@clinic.example", extra_headers=_auth("fail")),
                 consultation(message_id="b@clinic.example", extra_headers=_auth("pass")),
                 consultation(message_id="c@clinic.example",
                              extra_headers=_auth("fail", "evil.example")))
    with session(desk.engine) as s:
        rows = review.find_cases(s)
    from consult.web.views import queue_items

    items = queue_items(rows, now=utcnow(), sla_hours=24)
    assert [i.to_json()["sender_auth"] for i in items] == ["fail", "pass", ""]
