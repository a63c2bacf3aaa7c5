"""The poller against a real Dovecot: backfill, several mailboxes, UIDVALIDITY, bad mail, moves."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlmodel import col, select
from support.mails import consultation
from support.servers import Dovecot

import consult.intake.batch
import consult.intake.process
import consult.intake.thread
from consult.clock import utcnow
from consult.kb.store import KnowledgeBase
from db.engine import session
from db.models import Case, MailboxState, Message
from workers.imap_poller import ImapPoller

from .helpers import count


def _mail(i: int, **kw: object) -> bytes:
    values: dict[str, object] = dict(message_id=f"q{i}@clinic.example",
                                     subject=f"43214 with 43200 #{i}",
                                     date=datetime(2026, 11, 16, 14, i % 60, tzinfo=UTC))
    values.update(kw)
    return consultation(**values)  # type: ignore[arg-type]


def test_backfills_everything_above_the_last_uid_read_or_not(
        imap_settings, engine_for, starter_kb: KnowledgeBase, dovecot: Dovecot, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    settings, engine = imap_settings(dovecot, url, imap_fetch_chunk=40), engine_for(url)
    dovecot.append(*[_mail(i) for i in range(3)])
    poller = ImapPoller(settings, engine, starter_kb, clock=utcnow)
    assert poller.run_once().cases == 3
    # "downtime": 250 mails arrive, and another client reads half of them
    dovecot.append(*[_mail(i) for i in range(3, 253)])
    client = dovecot.client()
    try:
        client.select_folder("INBOX")
        uids = client.search(["ALL"])
        client.add_flags(uids[::2], [b"\\Seen"])
    finally:
        client.logout()
    report = poller.run_once()
    assert (report.cases, report.duplicates, report.quarantined) == (250, 0, 0)
    assert count(engine, Case) == 253 and count(engine, Message) == 253
    assert dovecot.count("INBOX") == 0 and dovecot.count("Processed") == 253
    with session(engine) as s:
        assert s.exec(select(MailboxState)).one().last_uid == 253


def test_several_folders_and_accounts(imap_settings, engine_for, starter_kb: KnowledgeBase,
                                      dovecot: Dovecot, tmp_path, monkeypatch, dovecots) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    other = dovecots()
    try:
        monkeypatch.setenv("OTHER_IMAP_PASSWORD", other.password)
        accounts = [{"host": "127.0.0.1", "port": other.port, "user": other.user,
                     "password_env": "OTHER_IMAP_PASSWORD", "ssl": "none",
                     "folders": ["INBOX"], "processed_folder": ""}]
        monkeypatch.setenv("CONSULT_IMAP_ACCOUNTS", json.dumps(accounts))
        settings = imap_settings(dovecot, url, imap_folders="INBOX,Billing")
        engine = engine_for(url)
        client = dovecot.client()
        client.create_folder("Billing")
        client.logout()
        dovecot.append(_mail(1))
        dovecot.append(_mail(2), folder="Billing")
        other.append(_mail(3), _mail(1))  # the same mail reached two accounts: one case
        report = ImapPoller(settings, engine, starter_kb, clock=utcnow).run_once()
        assert (report.cases, report.duplicates) == (3, 1)
        with session(engine) as s:
            keys = sorted(st.mailbox for st in s.exec(select(MailboxState)))
        assert keys == sorted([f"coder@127.0.0.1:{dovecot.port}/INBOX",
                               f"coder@127.0.0.1:{dovecot.port}/Billing",
                               f"coder@127.0.0.1:{other.port}/INBOX"])
        assert dovecot.count("Billing") == 0 and dovecot.count("Processed") == 2
        assert other.count("INBOX") == 2  # flagged there, not moved (no processed folder)
    finally:
        other.stop()


def test_uidvalidity_change_resyncs_without_duplicates(
        imap_settings, engine_for, starter_kb: KnowledgeBase, dovecot: Dovecot, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    settings = imap_settings(dovecot, url, imap_folder="Support", imap_processed_folder="")
    engine = engine_for(url)
    client = dovecot.client()
    client.create_folder("Support")
    client.logout()
    mails = [_mail(i) for i in range(5)]
    dovecot.append(*mails, folder="Support")
    poller = ImapPoller(settings, engine, starter_kb, clock=utcnow)
    assert poller.run_once().cases == 5
    with session(engine) as s:
        before = s.exec(select(MailboxState)).one().uidvalidity
    # the folder is rebuilt (a server migration): same mails, new UIDs, new UIDVALIDITY
    client = dovecot.client()
    client.delete_folder("Support")
    client.create_folder("Support")
    client.logout()
    dovecot.append(*mails, _mail(5), _mail(6), folder="Support")
    report = poller.run_once()
    assert (report.cases, report.duplicates) == (2, 5)
    assert count(engine, Case) == 7
    with session(engine) as s:
        state = s.exec(select(MailboxState)).one()
        assert state.uidvalidity != before and state.last_uid == 7


def test_one_bad_message_never_blocks_the_mailbox(
        imap_settings, engine_for, db_url: str, starter_kb: KnowledgeBase, dovecot: Dovecot,
        monkeypatch: pytest.MonkeyPatch) -> None:
    settings = imap_settings(dovecot, db_url, max_message_bytes=20_000, imap_fetch_chunk=50)
    engine = engine_for(db_url)
    real = consult.intake.thread.find_thread

    def buggy(session, mail, *a, **kw):  # type: ignore[no-untyped-def]
        if "TRIGGER-BUG" in mail.subject:  # a bug outside the parse/analysis guards
            raise RuntimeError("simulated intake bug")
        return real(session, mail, *a, **kw)

    # both paths: the chunk (consult.intake.batch) and one mail at a time (.process)
    monkeypatch.setattr(consult.intake.batch, "find_thread", buggy)
    monkeypatch.setattr(consult.intake.process, "find_thread", buggy)
    oversize = _mail(90, body="Is 43239 ok? " + "x" * 30_000)
    bad = {
        "oversize": oversize,
        "bug": _mail(91, subject="TRIGGER-BUG 43214"),  # type: ignore[arg-type]
        "garbage": b"\x00\xff\xfe not a mail at all \x00\r\n\r\n\x80\x81",
        "nul-subject": _mail(92).replace(b"Subject: 43214", b"Subject: 43\x00214"),
        "headers-only": b"From: x@clinic.example\r\nSubject: 43214?\r\n",
    }
    good = [_mail(i) for i in range(6)]
    dovecot.append(good[0], good[1], *bad.values(), *good[2:])
    report = ImapPoller(settings, engine, starter_kb, clock=utcnow).run_once()

    assert report.cases + report.quarantined + report.followups == 11
    assert dovecot.count("INBOX") == 0 and dovecot.count("Processed") == 11
    with session(engine) as s:
        msgs = list(s.exec(select(Message).order_by(col(Message.uid))))
        assert len(msgs) == 11 and all(m.processed for m in msgs)
        by_raw = {m.raw: m for m in msgs}
        for name in ("oversize", "bug"):
            m = by_raw[bad[name]]  # the exact bytes are kept
            case = s.get(Case, m.case_id)
            assert case is not None and case.status == "quarantined", name
        assert "byte limit" in (s.get(Case, by_raw[oversize].case_id).quarantine_reason or "")
        assert "simulated intake bug" in (by_raw[bad["bug"]].error or "")
        good_cases = [s.get(Case, by_raw[g].case_id) for g in good]
        assert all(c is not None and c.status == "awaiting_review" for c in good_cases)
        assert s.exec(select(MailboxState)).one().last_uid == 11


def test_copy_expunge_when_the_server_lacks_move(imap_settings, engine_for,
                                                 starter_kb: KnowledgeBase, tmp_path,
                                                 dovecots) -> None:
    dv = dovecots()
    try:
        with dv.conf.open("a") as fh:
            fh.write("imap_capability = IMAP4rev1 LITERAL+ SASL-IR IDLE UIDPLUS\n")
        dv.restart()
        url = f"sqlite:///{tmp_path / 'c.db'}"
        settings, engine = imap_settings(dv, url), engine_for(url)
        dv.append(_mail(1), _mail(2))
        poller = ImapPoller(settings, engine, starter_kb, clock=utcnow)
        client = poller.client_factory(poller.accounts[0])
        assert not client.has_capability("MOVE")
        client.logout()
        assert poller.run_once().cases == 2
        assert dv.count("INBOX") == 0 and dv.count("Processed") == 2
    finally:
        dv.stop()


def test_mail_committed_but_not_moved_is_moved_next_run(
        imap_settings, engine_for, starter_kb: KnowledgeBase, dovecot: Dovecot, tmp_path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    settings, engine = imap_settings(dovecot, url), engine_for(url)
    dovecot.append(_mail(1), _mail(2))
    poller = ImapPoller(settings, engine, starter_kb, clock=utcnow)
    monkeypatch.setattr(poller.folders, "_mark_processed", lambda *a: 0)  # "crashed" before it
    assert poller.run_once().cases == 2
    assert dovecot.count("INBOX") == 2
    monkeypatch.undo()
    report = poller.run_once()
    assert (report.cases, report.duplicates, report.moved) == (0, 0, 2)
    assert dovecot.count("INBOX") == 0 and dovecot.count("Processed") == 2


def test_chunks_grow_and_split_by_bytes() -> None:
    from workers.imap_poller import _chunks_by_size, _growing

    assert [len(c) for c in _growing(list(range(400)), 25, 200)] == [25, 50, 100, 200, 25]
    assert [len(c) for c in _growing(list(range(30)), 25, 200)] == [25, 5]
    assert [len(c) for c in _growing(list(range(30)), 200, 10)] == [10, 10, 10]
    assert _growing([], 25, 200) == []
    sizes = {uid: 10 for uid in range(1, 8)} | {4: 100}
    assert _chunks_by_size(list(range(1, 8)), sizes, 110) == [[1, 2, 3], [4, 5], [6, 7]]
    assert _chunks_by_size([9], {9: 5000}, 1000) == [[9]]  # a big mail comes alone
