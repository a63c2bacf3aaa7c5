"""The IDLE watcher: new mail drafted within seconds, reconnects after a restart, stops on a
refused login, polls when the server has no IDLE; no lost wake-ups when mail lands while it is
busy (one folder, two folders, two accounts, the poll fallback); a burst committed in growing
chunks."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import event
from sqlmodel import col, select
from support.mails import consultation
from support.servers import Dovecot

from consult.clock import utcnow
from consult.config import ImapAccount
from consult.errors import AuthenticationError
from consult.kb.store import KnowledgeBase
from db.engine import session
from db.models import Case, Draft, Message
from workers.imap_connect import buffered_responses, connect, parse_untagged
from workers.imap_idle import BURST_CHUNK, IdleWatcher, start_watchers
from workers.imap_poller import PollReport

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


# -- lost wake-ups (issue 16) ------------------------------------------------------------------
class Hooks:
    """Wraps every watcher connection (as a client factory) so a test can act at an exact point
    of the watcher's own thread: right after it fetched a mail's body, or right before it
    enters IDLE. One-shot actions are keyed by (server port, folder, point)."""

    def __init__(self) -> None:
        self.armed: dict[tuple[int, str, str], Callable[[], None]] = {}
        self.every_body_fetch: Callable[[], None] | None = None
        self.lock = threading.Lock()

    def _fire(self, port: int, folder: str | None, point: str) -> None:
        with self.lock:
            action = self.armed.pop((port, folder or "", point), None)
        if action is not None:
            action()

    def factory(self, account: ImapAccount):  # type: ignore[no-untyped-def]
        client = connect(account)
        selected: list[str] = []
        select_folder, fetch, idle = client.select_folder, client.fetch, client.idle

        def hooked_select(folder, *a, **kw):  # type: ignore[no-untyped-def]
            selected[:] = [folder]
            return select_folder(folder, *a, **kw)

        def hooked_fetch(messages, data, *a, **kw):  # type: ignore[no-untyped-def]
            out = fetch(messages, data, *a, **kw)
            if any(b"BODY" in bytes(d) for d in data):
                if self.every_body_fetch is not None:
                    self.every_body_fetch()
                self._fire(account.port, selected[0] if selected else None, "after fetch")
            return out

        def hooked_idle():  # type: ignore[no-untyped-def]
            self._fire(account.port, selected[0] if selected else None, "before idle")
            return idle()

        client.select_folder, client.fetch, client.idle = hooked_select, hooked_fetch, hooked_idle
        return client


def _has_draft(engine, message_id: str) -> bool:  # type: ignore[no-untyped-def]
    with session(engine) as s:
        return s.exec(select(Draft.id).join(Message, col(Message.case_id) == Draft.case_id)
                      .where(Message.message_id == message_id)).first() is not None


def _question(tag: str, n: int) -> tuple[str, bytes]:
    mid = f"{tag}-{n}@clinic.example"
    return mid, consultation(message_id=mid, subject=f"43214 with 43200? ({tag} {n})",
                             body=f"Can we bill 43214 with 43200 same day? Case {tag} {n}.")


@pytest.mark.parametrize("point", ["after fetch", "before idle"])
@pytest.mark.parametrize("layout", ["one folder", "two folders", "two accounts"])
def test_mail_landing_while_the_watcher_is_busy_is_drafted_without_another_mail(
        layout: str, point: str, imap_settings, engine_for, starter_kb: KnowledgeBase,
        dovecot: Dovecot, dovecots: Callable[..., Dovecot], tmp_path) -> None:
    """Mail B lands while the watcher handles mail A: right after A's body FETCH (Dovecot then
    reports B inside the reply to A's MOVE) or right before IDLE (B's EXISTS comes in the packet
    of the IDLE continuation). B must be drafted without a third mail; IDLE renewal is an hour
    away here, so only the watcher noticing B explains a draft within seconds."""
    url = f"sqlite:///{tmp_path / 'c.db'}"
    servers = [dovecot]
    extra: dict[str, object] = {}
    mailboxes: list[tuple[Dovecot, str]] = [(dovecot, "INBOX")]
    if layout == "two folders":
        client = dovecot.client()
        client.create_folder("Billing")
        client.logout()
        extra["imap_folders"] = "INBOX,Billing"
        mailboxes.append((dovecot, "Billing"))
    elif layout == "two accounts":
        other = dovecots()
        servers.append(other)
        extra["imap_accounts"] = [ImapAccount(
            host="127.0.0.1", port=other.port, user=other.user, password=other.password,
            ssl="none", folders=["INBOX"], processed_folder="Processed")]
        mailboxes.append((other, "INBOX"))
    settings = imap_settings(dovecot, url, imap_idle_seconds=3600, **extra)
    engine = engine_for(url)
    hooks = Hooks()
    group = start_watchers(settings, engine, starter_kb, clock=utcnow,
                           client_factory=hooks.factory)
    try:
        assert len(group.watchers) == len(mailboxes)
        for watcher in group.watchers:
            _wait_for(watcher.idling.is_set, 10, f"{watcher.name} to enter IDLE")
        b_appended: dict[str, float] = {}
        for i, (server, folder) in enumerate(mailboxes):
            mid_b, raw_b = _question("b", i)

            def append_b(server: Dovecot = server, folder: str = folder, mid: str = mid_b,
                         raw: bytes = raw_b) -> None:
                server.append(raw, folder=folder)
                b_appended[mid] = time.monotonic()

            hooks.armed[(server.port, folder, point)] = append_b
        for i, (server, folder) in enumerate(mailboxes):
            server.append(_question("a", i)[1], folder=folder)
        for i in range(len(mailboxes)):
            _wait_for(lambda i=i: _has_draft(engine, f"a-{i}@clinic.example"), 10, "mail A")
        _wait_for(lambda: len(b_appended) == len(mailboxes), 10, "the hooks to append B")
        for mid, appended in b_appended.items():
            _wait_for(lambda mid=mid: _has_draft(engine, mid), 5, f"{mid} (no other mail)")
            assert time.monotonic() - appended < 3, f"{mid} drafted, but late"
        for server, folder in mailboxes:
            assert server.count(folder) == 0
        assert all(w.failure is None and w.connects == 1 for w in group.watchers)
    finally:
        group.stop()
        for server in servers[1:]:
            server.stop()


def test_poll_fallback_takes_in_mail_that_landed_during_a_sync_at_once(
        imap_settings, engine_for, starter_kb: KnowledgeBase, tmp_path,
        dovecots: Callable[..., Dovecot]) -> None:
    """Without IDLE the watcher polls; a mail that lands while it handles another is taken in
    by a second sync straight away, not a poll interval (an hour here) later."""
    dv = dovecots()
    try:
        with dv.conf.open("a") as fh:
            fh.write("imap_capability = IMAP4rev1 LITERAL+ SASL-IR UIDPLUS MOVE\n")
        dv.restart()
        url = f"sqlite:///{tmp_path / 'c.db'}"
        settings, engine = imap_settings(dv, url, imap_poll_seconds=3600), engine_for(url)
        hooks = Hooks()
        mid_b, raw_b = _question("b", 0)
        hooks.armed[(dv.port, "INBOX", "after fetch")] = lambda: dv.append(raw_b)
        dv.append(_question("a", 0)[1])
        reports: list[PollReport] = []
        watcher = _watcher(settings, engine, starter_kb, client_factory=hooks.factory,
                           on_report=reports.append)
        thread = _start(watcher)
        try:
            _wait_for(lambda: _has_draft(engine, "a-0@clinic.example"), 10, "mail A")
            _wait_for(lambda: _has_draft(engine, mid_b), 5, "mail B (the next poll is in 1 h)")
            assert not watcher.idling.is_set() and dv.count("INBOX") == 0
            # B was announced inside the reply to A's MOVE, and the next sync took it in
            assert (reports[0].taken_in, reports[0].news) == (1, True)
            assert reports[1].taken_in == 1
        finally:
            watcher.stop()
            thread.join(10)
    finally:
        dv.stop()


def test_a_burst_is_committed_in_growing_chunks(
        imap_settings, engine_for, starter_kb: KnowledgeBase, dovecot: Dovecot, tmp_path) -> None:
    """100 mails at once: the first BURST_CHUNK drafts are committed (visible in the review
    queue) while the rest is still being drafted, then twice as many, then the rest; fetched in
    one FETCH as before, every mail drafted once, moved once."""
    url = f"sqlite:///{tmp_path / 'c.db'}"
    settings, engine = imap_settings(dovecot, url), engine_for(url)
    hooks = Hooks()
    body_fetches: list[int] = []
    hooks.every_body_fetch = lambda: body_fetches.append(1)
    watcher = _watcher(settings, engine, starter_kb, client_factory=hooks.factory)
    thread = _start(watcher)
    visible_at_commit: list[int] = []

    def note(_conn: object) -> None:  # in the watcher's thread, as each commit starts
        visible_at_commit.append(count(engine, Draft))

    try:
        _wait_for(watcher.idling.is_set, 10, "the watcher to enter IDLE")
        body_fetches.clear()
        event.listen(engine, "commit", note)
        client = dovecot.client()
        try:
            client.multiappend("INBOX", [_question("burst", i)[1] for i in range(100)])
        finally:
            client.logout()
        _wait_for(lambda: count(engine, Draft) == 100, 30, "100 drafts")
        _wait_for(watcher.idling.is_set, 10, "the watcher to go back to IDLE")
    finally:
        event.remove(engine, "commit", note)
        watcher.stop()
        thread.join(10)
    assert visible_at_commit == [0, BURST_CHUNK, 3 * BURST_CHUNK], visible_at_commit
    assert len(body_fetches) == 1
    assert count(engine, Case) == 100 and dovecot.count("Processed") == 100
    assert watcher.syncs <= 4  # start, burst, one more to be sure; no spinning


@pytest.mark.parametrize("mode", ["none", "tls", "starttls"])
def test_exists_sent_with_the_idle_continuation_is_read_from_the_buffer(
        mode: str, dovecots: Callable[..., Dovecot]) -> None:
    """Dovecot checks the mailbox when IDLE starts and sends "+ idling" and "* 1 EXISTS" in one
    packet; imaplib reads both off the socket at once, so polling the socket cannot see the
    EXISTS. ``buffered_responses`` finds it, in plaintext and under TLS, without waiting."""
    dv = dovecots(ssl="no" if mode == "none" else "required")
    try:
        account = ImapAccount(host="127.0.0.1", user=dv.user, password=dv.password, ssl=mode,
                              port=dv.imaps_port if mode == "tls" else dv.port, ca_file=dv.cert)
        client = connect(account)
        try:
            client.select_folder("INBOX")
            client.idle()
            started = time.monotonic()
            assert buffered_responses(client) == []  # nothing new: returns at once
            assert time.monotonic() - started < 0.5
            client.idle_done()
            dv.append(_question("between", 0)[1])  # lands between two of our commands
            client.idle()
            assert (1, b"EXISTS") in buffered_responses(client)
            client.idle_done()
            assert client.select_folder("INBOX")[b"EXISTS"] == 1  # the connection still works
        finally:
            client.logout()
    finally:
        dv.stop()


def test_parse_untagged() -> None:
    assert parse_untagged(b"* 5 EXISTS\r\n") == (5, b"EXISTS")
    assert parse_untagged(b"* 3 FETCH (FLAGS (\\Seen))\r\n") == (3, b"FETCH", b"(FLAGS (\\Seen))")
    assert parse_untagged(b"* BYE shutting down\r\n") == (b"BYE", b"shutting down")
    assert parse_untagged(b"* OK Still here\r\n") == (b"OK", b"Still here")
