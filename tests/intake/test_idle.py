"""The IDLE watcher: new mail drafted within seconds, reconnects after a restart, stops on a
refused login, polls when the server has no IDLE."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlmodel import select
from support.mails import consultation
from support.servers import Dovecot

from consult.clock import utcnow
from consult.config import ImapAccount
from consult.errors import AuthenticationError
from consult.kb.store import KnowledgeBase
from db.engine import session
from db.models import Case, Draft
from workers.imap_connect import connect
from workers.imap_idle import IdleWatcher

from .helpers import count


def _wait_for(cond: Callable[[], bool], timeout: float, what: str) -> float:
    start = time.monotonic()
    while not cond():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)
    return time.monotonic() - start


def _start(watcher: IdleWatcher) -> threading.Thread:
    thread = threading.Thread(target=watcher.run_forever, daemon=True)
    thread.start()
    return thread


def _watcher(settings, engine, kb, **kw) -> IdleWatcher:  # type: ignore[no-untyped-def]
    account = settings.imap_all_accounts[0]
    return IdleWatcher(settings, engine, kb, account, account.folders[0], clock=utcnow, **kw)


def test_idle_drafts_new_mail_and_survives_a_server_restart(
        imap_settings, engine_for, starter_kb: KnowledgeBase, dovecot: Dovecot, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    settings, engine = imap_settings(dovecot, url, imap_poll_seconds=3600), engine_for(url)
    watcher = _watcher(settings, engine, starter_kb)
    thread = _start(watcher)
    try:
        _wait_for(watcher.idling.is_set, 10, "the watcher to enter IDLE")
        dovecot.append(consultation(message_id="idle1@clinic.example"))
        # polling is hourly here, so only IDLE can explain a draft within seconds
        _wait_for(lambda: count(engine, Draft) == 1, 5, "the IDLE-triggered draft")

        dovecot.restart(pause=0.5)
        dovecot.append(consultation(message_id="idle2@clinic.example", subject="second"))
        _wait_for(lambda: count(engine, Draft) == 2, 20, "the draft after the restart")
        assert watcher.connects >= 2 and watcher.failure is None
        assert dovecot.count("INBOX") == 0 and dovecot.count("Processed") == 2
    finally:
        watcher.stop()
        thread.join(10)
    assert not thread.is_alive()


def test_refused_login_stops_with_a_clear_error(
        imap_settings, engine_for, starter_kb: KnowledgeBase, dovecot: Dovecot, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    settings = imap_settings(dovecot, url, imap_password="wrong-password-here")
    attempts: list[ImapAccount] = []

    def counting(account: ImapAccount):  # type: ignore[no-untyped-def]
        attempts.append(account)
        return connect(account)

    watcher = _watcher(settings, engine_for(url), starter_kb, client_factory=counting)
    thread = _start(watcher)
    thread.join(15)
    assert not thread.is_alive(), "the watcher kept reconnecting"
    assert isinstance(watcher.failure, AuthenticationError)
    assert "refused" in str(watcher.failure) and "Retrying will not help" in str(watcher.failure)
    assert len(attempts) == 1


def test_polls_when_the_server_lacks_idle(imap_settings, engine_for, starter_kb: KnowledgeBase,
                                          tmp_path, dovecots) -> None:
    dv = dovecots()
    try:
        with dv.conf.open("a") as fh:
            fh.write("imap_capability = IMAP4rev1 LITERAL+ SASL-IR UIDPLUS MOVE\n")
        dv.restart()
        url = f"sqlite:///{tmp_path / 'c.db'}"
        settings, engine = imap_settings(dv, url, imap_poll_seconds=1), engine_for(url)
        watcher = _watcher(settings, engine, starter_kb)
        thread = _start(watcher)
        try:
            _wait_for(lambda: watcher.syncs >= 1, 10, "the first sync")
            dv.append(consultation())
            _wait_for(lambda: count(engine, Case) == 1, 10, "the polled case")
            assert not watcher.idling.is_set()
        finally:
            watcher.stop()
            thread.join(10)
    finally:
        dv.stop()
    with session(engine) as s:
        assert s.exec(select(Case)).one().status == "awaiting_review"
