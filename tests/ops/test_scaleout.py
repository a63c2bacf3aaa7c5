"""Several instances on one PostgreSQL and one Dovecot, as real processes: three
`consult poll --once` at once take every mail in exactly once (600 mails here to keep the
suite short; bench/scaleout.py runs the same on 3 x 1,000) (the mailbox lease: one takes it
in, the others leave it to that one); two `consult serve --role worker` watch one mailbox with
IDLE while mail arrives in bursts, the one taking it in is SIGKILLed mid-burst, and the other
takes over with nothing lost or doubled; three `consult send --once` at once deliver every
approved reply exactly once at an aiosmtpd sink."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import select
from support.mails import consultation
from support.servers import Dovecot, SmtpSink, free_port

from consult import review
from consult.clock import utcnow
from consult.config import Settings
from consult.intake import ingest
from consult.kb.store import KnowledgeBase
from consult.mail.fingerprint import fingerprint
from db.engine import session
from db.models import Case, Lease, Message, Outbox
from workers.sender import Sender

ROOT = Path(__file__).resolve().parents[2]


def _mails(n: int, tag: str) -> list[bytes]:
    return [consultation(message_id=f"{tag}{i}@clinic.example",
                         subject=f"43214 with 43200 #{tag}{i}",
                         sender=f"coder{i % 40}@clinic{i % 7}.example") for i in range(n)]


def _env(url: str, tmp_path: Path, kb: Path, dovecot: Dovecot | None = None,
         **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSULT_")}
    env.update(CONSULT_HOME=str(tmp_path / "home"), CONSULT_DATABASE_URL=url,
               CONSULT_KB_PATH=str(kb), CONSULT_FROM_ADDRESS="consult@consult.test",
               CONSULT_ANALYSIS_WORKERS="1", CONSULT_SECRET_KEY="scale-test-key-" + "x" * 20)
    if dovecot is not None:
        env.update(CONSULT_IMAP_HOST="127.0.0.1", CONSULT_IMAP_PORT=str(dovecot.port),
                   CONSULT_IMAP_USER=dovecot.user, CONSULT_IMAP_PASSWORD=dovecot.password,
                   CONSULT_IMAP_SSL="none", CONSULT_IMAP_PROCESSED_FOLDER="Processed")
    env.update(extra)
    return env


def _consult(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "consult", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _cases_of(engine: Any, mails: list[bytes]) -> None:
    """Every mail stored once, processed, and the question of exactly one case."""
    with session(engine) as s:
        stored = [m.fingerprint for m in s.exec(select(Message).where(
            Message.direction == "in"))]
        assert len(stored) == len(set(stored)) == len(mails), "a mail lost or stored twice"
        assert set(stored) == {fingerprint(m) for m in mails}
        assert s.exec(select(func.count()).select_from(Message).where(
            Message.processed == False)).one() == 0  # noqa: E712
        assert s.exec(select(func.count()).select_from(Case)).one() == len(mails)
        per_case = s.exec(select(Message.case_id, func.count()).where(Message.direction == "in")
                          .group_by(Message.case_id)).all()
        assert all(n == 1 for _case, n in per_case)


@pytest.mark.parametrize("database, count", [("postgres", 600), ("sqlite", 300)])
def test_three_polls_at_once_take_each_mail_in_once(
        database: str, count: int, dovecot: Dovecot, request: pytest.FixtureRequest,
        engine_for: Callable[[str], Any], starter_kb_path: Path, tmp_path: Path) -> None:
    url = (request.getfixturevalue("pg_url") if database == "postgres"
           else f"sqlite:///{tmp_path / 'consult.db'}")
    engine = engine_for(url)
    mails = _mails(count, "p")
    dovecot.append(*mails)
    env = _env(url, tmp_path, starter_kb_path, dovecot)
    polls = [_consult(env, "poll", "--once") for _ in range(3)]
    outs = [p.communicate(timeout=240) for p in polls]
    for p, (_out, err) in zip(polls, outs, strict=True):
        assert p.returncode == 0, err[-2000:]
        # no chunk redone one mail at a time because another poller stored it first
        assert "failed as a whole" not in err and "EXPUNGEISSUED" not in err
    taken = sum(int(m.group(1)) for out, _ in outs
                if (m := re.match(r"(\d+) new cases", out)))
    assert taken == len(mails)
    _cases_of(engine, mails)
    assert dovecot.count("INBOX") == 0
    assert dovecot.count("Processed") == len(mails)  # moved exactly once each
    with session(engine) as s:  # every lease given back on a clean exit
        assert not s.exec(select(Lease)).all()


def _ready(port: int) -> dict[str, Any] | None:
    try:
        response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
    except httpx.HTTPError:
        return None
    return response.json() if response.status_code == 200 else None  # type: ignore[no-any-return]


def _watch(port: int) -> dict[str, Any] | None:
    body = _ready(port)
    if body is None:
        return None
    boxes = body["checks"]["mailboxes"].get("mailboxes") or []
    return boxes[0] if boxes else None


def _wait(what: Callable[[], object], timeout: float, message: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = what()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(message)


def test_two_workers_share_a_mailbox_and_one_survives_sigkill(
        dovecot: Dovecot, pg_url: str, engine_for: Callable[[str], Any],
        starter_kb_path: Path, tmp_path: Path) -> None:
    engine = engine_for(pg_url)
    ports = [free_port() for _ in range(2)]
    workers = [_consult(_env(pg_url, tmp_path / f"w{i}", starter_kb_path, dovecot,
                             CONSULT_LISTEN_HTTP=f"127.0.0.1:{port}",
                             CONSULT_LISTEN_SMTP=f"127.0.0.1:{free_port()}",
                             CONSULT_LEASE_SECONDS="4", CONSULT_LOG_LEVEL="INFO"),
                        "serve", "--role", "worker") for i, port in enumerate(ports)]
    try:
        states = _wait(lambda: (lambda w: w if all(w) and sorted(x["state"] for x in w)
                                == ["idle", "standby"] else None)([_watch(p) for p in ports]),
                       90, "one worker idle on the mailbox and the other standing by")
        holder_port = ports[[s["state"] for s in states].index("idle")]
        holder = workers[ports.index(holder_port)]
        standby = workers[1 - ports.index(holder_port)]
        assert states[1 - ports.index(holder_port)]["owner"].split(":")[-2] == str(holder.pid)

        first, second = _mails(150, "a"), _mails(150, "b")
        dovecot.append(*first)

        def taken() -> int:
            with session(engine) as s:
                return int(s.exec(select(func.count()).select_from(Case)).one())

        _wait(lambda: taken() >= 25, 60, "the first burst was not taken in")
        holder.send_signal(signal.SIGKILL)  # mid-burst: some chunks committed, some not
        holder.wait(10)
        assert taken() < len(first), "the holder finished the burst before it was killed"
        killed_at = time.monotonic()
        dovecot.append(*second)
        _wait(lambda: taken() >= len(first) + len(second), 90,
              "the standby did not take the mailbox over and finish it")
        assert time.monotonic() - killed_at < 60
        _cases_of(engine, first + second)
        _wait(lambda: dovecot.count("INBOX") == 0, 30, "mail left in INBOX")
        assert dovecot.count("Processed") == len(first) + len(second)
        watch = _watch(ports[1 - ports.index(holder_port)])
        assert watch is not None and watch["state"] == "idle" and watch["owner"] is None
        assert standby.poll() is None
    finally:
        for w in workers:
            if w.poll() is None:
                w.send_signal(signal.SIGTERM)
        for w in workers:
            try:
                w.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                w.kill()


def test_three_senders_at_once_deliver_each_reply_once(
        pg_url: str, engine_for: Callable[[str], Any], make_settings: Callable[..., Settings],
        starter_kb: KnowledgeBase, starter_kb_path: Path, smtp_sink: SmtpSink,
        tmp_path: Path) -> None:
    engine = engine_for(pg_url)
    settings = make_settings(database_url=pg_url)
    mails = _mails(60, "s")
    with session(engine) as s:
        for raw in mails:
            case_id = ingest(s, raw, starter_kb, settings, source="cli", now=utcnow()).case_id
            s.commit()
            assert case_id is not None
            review.approve(s, case_id, settings, actor="lead@clinic.example", now=utcnow())
            s.commit()
        queued = {row.message_id for row in s.exec(select(Outbox))}
    assert len(queued) == len(mails)
    env = _env(pg_url, tmp_path, starter_kb_path, CONSULT_SMTP_HOST="127.0.0.1",
               CONSULT_SMTP_PORT=str(smtp_sink.port), CONSULT_SMTP_STARTTLS="false")
    senders = [_consult(env, "send", "--once") for _ in range(3)]
    for p in senders:
        _out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err[-2000:]
        assert "Traceback" not in err
    got = smtp_sink.wait(len(mails))
    time.sleep(0.5)  # nothing more arrives
    ids = [str(m["Message-ID"]).strip("<>") for m in smtp_sink.wait(len(mails))]
    assert len(smtp_sink.received) == len(got) == len(mails)
    assert sorted(ids) == sorted(i.strip("<>") for i in queued)  # each reply once, as queued
    with session(engine) as s:
        assert {r.status for r in s.exec(select(Outbox))} == {"sent"}
        assert {c.status for c in s.exec(select(Case))} == {"sent"}


def test_a_reply_left_sending_by_a_dead_sender_goes_again_with_its_message_id(
        db_url: str, engine_for: Callable[[str], Any], make_settings: Callable[..., Settings],
        starter_kb: KnowledgeBase, smtp_sink: SmtpSink) -> None:
    """The documented window: a sender killed after the relay's 250, before its commit, leaves
    the row `sending`; once its lease runs out the next run sends the same message (same
    Message-ID). A row another live sender holds is left alone."""
    engine = engine_for(db_url)
    settings = make_settings(database_url=db_url, smtp_host="127.0.0.1",
                             smtp_port=smtp_sink.port, smtp_starttls=False)
    now = utcnow()
    with session(engine) as s:
        rows = []
        for raw in _mails(2, "d"):
            case_id = ingest(s, raw, starter_kb, settings, source="cli", now=now).case_id
            s.commit()
            assert case_id is not None
            rows.append(review.approve(s, case_id, settings, actor="lead@x.example", now=now))
            s.commit()
        dead, alive = rows
        dead.status, dead.claimed_by = "sending", "gone:1:dead"
        dead.lease_until = now - timedelta(seconds=1)
        alive.status, alive.claimed_by = "sending", "busy:2:alive"
        alive.lease_until = now + timedelta(seconds=300)
        s.add(dead)
        s.add(alive)
        s.commit()
        dead_id, dead_msgid, alive_id = dead.id, dead.message_id, alive.id
    report = Sender(settings, engine, clock=utcnow).run_once()
    assert report.sent == 1
    [got] = smtp_sink.wait(1)
    assert str(got["Message-ID"]).strip("<>") == dead_msgid.strip("<>")
    with session(engine) as s:
        assert s.get(Outbox, dead_id).status == "sent"  # type: ignore[union-attr]
        still = s.get(Outbox, alive_id)
        assert still is not None and still.status == "sending"
        assert still.claimed_by == "busy:2:alive"


def test_a_web_replica_serves_pages_and_runs_no_worker(
        pg_url: str, engine_for: Callable[[str], Any], starter_kb_path: Path,
        tmp_path: Path) -> None:
    """`--role web`: the review app answers; no SMTP listener, no scheduler, no mailbox
    watcher in this process (its /readyz skips the mailbox check)."""
    engine_for(pg_url)
    http, smtp = free_port(), free_port()
    web = _consult(_env(pg_url, tmp_path, starter_kb_path,
                        CONSULT_LISTEN_HTTP=f"127.0.0.1:{http}",
                        CONSULT_LISTEN_SMTP=f"127.0.0.1:{smtp}"), "serve", "--role", "web")
    try:
        body = _wait(lambda: _ready(http), 60, "the web replica did not become ready")
        assert body["checks"]["mailboxes"]["skipped"] is True
        assert httpx.get(f"http://127.0.0.1:{http}/login", timeout=5).status_code == 200
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", smtp), timeout=1).close()
    finally:
        web.send_signal(signal.SIGTERM)
        _out, err = web.communicate(timeout=20)
    # uvicorn shuts down cleanly, then re-raises the SIGTERM it caught
    assert web.returncode in (0, -signal.SIGTERM) and "Traceback" not in err
