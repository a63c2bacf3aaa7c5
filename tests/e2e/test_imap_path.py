"""Mail in a real Dovecot mailbox -> poller -> case -> approve -> reply at a real SMTP sink."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlmodel import func, select
from support.mails import consultation
from support.servers import Dovecot, SmtpSink

from consult import review
from consult.clock import utcnow
from consult.config import Settings
from consult.kb.store import KnowledgeBase
from db.engine import session
from db.models import Case, MailboxState
from workers.imap_poller import ImapPoller
from workers.sender import Sender


def _settings(make_settings: Callable[..., Settings], dovecot: Dovecot, db_url: str,
              sink: SmtpSink | None = None, **extra: object) -> Settings:
    values: dict[str, object] = dict(
        database_url=db_url, imap_host="127.0.0.1", imap_port=dovecot.port,
        imap_user=dovecot.user, imap_password=dovecot.password, imap_ssl="none",
        imap_processed_folder="Processed")
    if sink:
        values.update(smtp_host=sink.host, smtp_port=sink.port, smtp_starttls=False)
    values.update(extra)
    return make_settings(**values)


def test_mailbox_to_reply(make_settings, db_url: str, engine_for, starter_kb: KnowledgeBase,
                          dovecot: Dovecot, smtp_sink: SmtpSink) -> None:
    settings = _settings(make_settings, dovecot, db_url, smtp_sink)
    engine = engine_for(db_url)
    dovecot.append(consultation(), consultation(
        subject="Fluoro with dilation", message_id="q2@clinic.example",
        body="Can 76000 be billed with 43214? Hospital outpatient, Medicare."))

    poller = ImapPoller(settings, engine, starter_kb, clock=utcnow)
    report = poller.run_once()
    assert (report.cases, report.duplicates, report.quarantined) == (2, 0, 0)
    assert dovecot.count("INBOX") == 0 and dovecot.count("Processed") == 2

    # a second poll finds nothing new; the same mail appended again is a duplicate, not a case
    assert poller.run_once().cases == 0
    dovecot.append(consultation())
    again = poller.run_once()
    assert (again.cases, again.duplicates) == (0, 1)

    with session(engine) as s:
        assert s.exec(select(func.count()).select_from(Case)).one() == 2
        state = s.exec(select(MailboxState)).one()
        assert state.last_uid == 3
        case = s.exec(select(Case).where(Case.subject == "Fluoro with dilation")).one()
        review.approve(s, case.id, settings, actor="tester", now=datetime.now(UTC))
        s.commit()

    assert Sender(settings, engine, clock=utcnow).run_once().sent == 1
    (reply,) = smtp_sink.wait(1)
    assert reply["In-Reply-To"] == "<q2@clinic.example>"
    assert reply["Subject"] == f"Re: Fluoro with dilation [Case #{case.id}]"
    text = reply.get_body(("plain",)).get_content()
    assert "76000" in text and "43214" in text


def test_flags_instead_of_moving_when_no_processed_folder(make_settings, engine_for,
                                                          starter_kb: KnowledgeBase,
                                                          dovecot: Dovecot, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    settings = _settings(make_settings, dovecot, url, imap_processed_folder="")
    engine = engine_for(url)
    dovecot.append(consultation())
    assert ImapPoller(settings, engine, starter_kb, clock=utcnow).run_once().cases == 1
    client = dovecot.client()
    try:
        client.select_folder("INBOX")
        flags = client.get_flags(client.search(["ALL"]))
        assert all(b"$ConsultProcessed" in f for f in flags.values())
    finally:
        client.logout()
