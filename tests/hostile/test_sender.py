"""Item 7: the sender never blocks the outbox. Against real aiosmtpd relays that answer 421,
451, 550 and 552, one that drops the connection in the middle of DATA, one that stalls, and
relays with and without SMTPUTF8: each row gets its own outcome and the rows behind it go."""

from __future__ import annotations

import contextlib
import mailbox
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_string, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import col, select
from support.mails import consultation
from support.servers import free_port

from consult import review
from consult.config import Settings
from consult.intake import ingest
from consult.kb.store import KnowledgeBase
from db.engine import session
from db.models import Case, Outbox
from workers.sender import Sender

NOW = datetime(2026, 11, 16, 15, 0, tzinfo=UTC)
#: Recipients the scripted relay answers with a fixed reply to DATA.
SCRIPT = {"tempfail@clinic.example": "451 4.3.0 try later",
          "reject@clinic.example": "550 5.1.1 no such user",
          "full@clinic.example": "552 5.3.4 mailbox full",
          "closing@clinic.example": "421 4.3.2 shutting down"}


class ScriptedRelay:
    """An aiosmtpd relay: 250 for ordinary recipients, the scripted reply for the others."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        for rcpt in envelope.rcpt_tos:
            if rcpt in SCRIPT:
                return SCRIPT[rcpt]
        self.received.append((list(envelope.rcpt_tos),
                              envelope.original_content or envelope.content))
        return "250 OK"


@contextlib.contextmanager
def relay(*, smtputf8: bool = True) -> Iterator[tuple[ScriptedRelay, int]]:
    handler, port = ScriptedRelay(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port,
                            enable_SMTPUTF8=smtputf8)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@contextlib.contextmanager
def dropping_relay(*, stall: bool = False) -> Iterator[int]:
    """A raw SMTP server that drops the connection in the middle of DATA (or, ``stall``,
    accepts the connection and never says a word)."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                if stall:
                    stop.wait(30)
                    continue
                conn.sendall(b"220 relay ESMTP\r\n")
                buf = b""
                while not stop.is_set():
                    data = conn.recv(65536)
                    if not data:
                        break
                    buf += data
                    if b"\r\n" not in buf:
                        continue
                    line, _, buf = buf.partition(b"\r\n")
                    verb = line[:4].upper()
                    if verb in (b"EHLO", b"HELO"):
                        conn.sendall(b"250 relay\r\n")
                    elif verb == b"DATA":
                        conn.sendall(b"354 go on\r\n")
                        conn.recv(200)  # a little of the message, then hang up
                        break
                    else:
                        conn.sendall(b"250 OK\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        stop.set()
        thread.join(5)
        server.close()


@pytest.fixture
def outbox(make_settings: Callable[..., Settings], engine_for: Any, starter_kb: KnowledgeBase,
           tmp_path: Path) -> Callable[..., Any]:
    """Approved replies to the given addresses, oldest first; returns (settings, engine)."""
    url = f"sqlite:///{tmp_path / 'send.db'}"
    engine = engine_for(url)

    def make(addresses: list[str], **overrides: Any) -> tuple[Settings, Any]:
        settings = make_settings(database_url=url, smtp_starttls=False, **overrides)
        for number, address in enumerate(addresses):
            with session(engine) as s:
                raw = consultation(sender=address, message_id=f"q{number}@x",
                                   utf8=not address.isascii())
                result = ingest(s, raw, starter_kb, settings, source="cli", now=NOW)
                review.approve(s, result.case_id, settings, actor="tester",  # type: ignore[arg-type]
                               now=NOW + timedelta(seconds=number))
                s.commit()
        return settings, engine

    return make


def _rows(engine: Any) -> list[Outbox]:
    with session(engine) as s:
        return list(s.exec(select(Outbox).order_by(col(Outbox.id))))


def test_every_reply_gets_its_own_outcome_and_none_blocks_the_rest(outbox: Any) -> None:
    addresses = ["tempfail@clinic.example", "josé@clinic.example", "reject@clinic.example",
                 "full@clinic.example", "dana@clinic.example"]
    with relay(smtputf8=False) as (handler, port):
        settings, engine = outbox(addresses, smtp_host="127.0.0.1", smtp_port=port)
        report = Sender(settings, engine, clock=lambda: NOW + timedelta(minutes=1)).run_once()
    rows = {r.to_addr: r for r in _rows(engine)}
    assert (report.sent, report.retried, report.failed) == (1, 1, 3)
    assert rows["dana@clinic.example"].status == "sent"
    assert [r[0] for r in handler.received] == [["dana@clinic.example"]]
    temp = rows["tempfail@clinic.example"]
    assert temp.status == "pending" and temp.attempts == 1 and "451" in (temp.last_error or "")
    assert temp.next_attempt_at.replace(tzinfo=UTC) > NOW + timedelta(minutes=1)
    assert rows["reject@clinic.example"].status == "failed"
    assert rows["full@clinic.example"].status == "failed"
    utf8 = rows["josé@clinic.example"]
    assert utf8.status == "failed" and "SMTPUTF8" in (utf8.last_error or "")
    with session(engine) as s:  # a failed reply sends its case back to the reviewers
        case = s.get(Case, utf8.case_id)
        assert case is not None and case.status == "awaiting_review"


def test_a_temporary_failure_fails_after_the_deadline(outbox: Any) -> None:
    with relay() as (_handler, port):
        settings, engine = outbox(["tempfail@clinic.example"], smtp_host="127.0.0.1",
                                  smtp_port=port, sender_retry_hours=1)
        later = NOW + timedelta(hours=2)
        report = Sender(settings, engine, clock=lambda: later).run_once()
    [row] = _rows(engine)
    assert report.failed == 1 and row.status == "failed" and row.attempts == 1


def test_smtputf8_when_the_relay_offers_it(outbox: Any) -> None:
    with relay(smtputf8=True) as (handler, port):
        settings, engine = outbox(["josé@clinic.example"], smtp_host="127.0.0.1",
                                  smtp_port=port)
        assert Sender(settings, engine, clock=lambda: NOW).run_once().sent == 1
    [(rcpts, raw)] = handler.received
    assert rcpts == ["josé@clinic.example"]
    mail = message_from_string(raw.decode("utf-8"), policy=policy.SMTPUTF8)
    assert mail["To"].addresses[0].addr_spec == "josé@clinic.example"


def test_the_maildir_gets_a_valid_to_header(outbox: Any) -> None:
    settings, engine = outbox(["josé@clinic.example"])
    assert Sender(settings, engine, clock=lambda: NOW).run_once().sent == 1
    box = mailbox.Maildir(settings.outbox_maildir, create=False)
    [key] = list(box.keys())
    raw = box.get_bytes(key)
    to_line = raw.split(b"\r\n\r\n")[0].split(b"\nTo:")[1].split(b"\n")[0]
    assert b"=?" not in to_line and "josé@clinic.example" in to_line.decode("utf-8")
    mail = message_from_string(raw.decode("utf-8"), policy=policy.SMTPUTF8)
    assert mail["To"].addresses[0].addr_spec == "josé@clinic.example"


@pytest.mark.parametrize("failure", ["421", "drop", "stall"])
def test_a_failing_relay_stops_the_run_and_the_rows_wait(outbox: Any, failure: str) -> None:
    if failure == "421":
        cm: Any = relay()
        addresses = ["closing@clinic.example", "dana@clinic.example"]
    else:
        cm = dropping_relay(stall=failure == "stall")
        addresses = ["dana@clinic.example", "lee@clinic.example"]
    with cm as got:
        port = got[1] if failure == "421" else got
        settings, engine = outbox(addresses, smtp_host="127.0.0.1", smtp_port=port,
                                  smtp_timeout_seconds=2)
        report = Sender(settings, engine, clock=lambda: NOW + timedelta(minutes=1)).run_once()
    first, second = _rows(engine)
    assert (report.retried, report.deferred) == (1, 1)
    assert first.status == "pending" and first.attempts == 1 and first.last_error
    assert second.status == "pending" and second.attempts == 0  # waits for the next run
