"""Exactly once across crashes: `consult poll --once` SIGKILLed at several points of a batch
against a real Dovecot, then restarted; every mail is a case (or a follow-up, or a duplicate
link) exactly once, none is lost, and each ends in the processed folder exactly once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import select
from support.mails import consultation
from support.servers import Dovecot

from consult.mail.fingerprint import fingerprint
from db.engine import session
from db.models import Case, Message

from .helpers import count

ROOT = Path(__file__).resolve().parents[2]


def _mails(n: int) -> list[bytes]:
    out = [consultation(message_id=f"c{i}@clinic.example", subject=f"43214 with 43200 #{i}",
                        sender=f"coder{i}@clinic.example",
                        date=datetime(2026, 11, 16, 9, i % 60, tzinfo=UTC)) for i in range(n)]
    followup = consultation(message_id="c-followup@clinic.example", subject="Re: 43214 #0",
                            sender="coder0@clinic.example", body="Also: is modifier XS better?",
                            extra_headers={"In-Reply-To": "<c0@clinic.example>"})
    duplicate = b"Received: from mx2.clinic.example by mx.consult.test\r\n" + out[1]
    return [*out[:3], followup, *out[3:], duplicate]


def _poll(env: dict[str, str], crash_at: str | None = None,
          timeout: float = 120) -> subprocess.Popen[bytes]:
    run_env = dict(env)
    if crash_at:
        run_env["CONSULT_TEST_CRASH_AT"] = crash_at
    return subprocess.Popen([sys.executable, "-m", "consult", "poll", "--once"], cwd=ROOT,
                            env=run_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _env(dovecot: Dovecot, url: str, tmp_path: Path, kb: Path, chunk: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSULT_")}
    env.update(CONSULT_HOME=str(tmp_path / "home"), CONSULT_DATABASE_URL=url,
               CONSULT_KB_PATH=str(kb), CONSULT_FROM_ADDRESS="consult@consult.test",
               CONSULT_IMAP_HOST="127.0.0.1", CONSULT_IMAP_PORT=str(dovecot.port),
               CONSULT_IMAP_USER=dovecot.user, CONSULT_IMAP_PASSWORD=dovecot.password,
               CONSULT_IMAP_SSL="none", CONSULT_IMAP_PROCESSED_FOLDER="Processed",
               CONSULT_IMAP_FETCH_CHUNK=str(chunk),
               # the budgeted pool as in production, with one worker: each of the dozen polls
               # starts it afresh, and a second worker adds start-up time, not coverage
               CONSULT_ANALYSIS_WORKERS="1")
    return env


def _assert_exactly_once(engine, dovecot: Dovecot, mails: list[bytes]) -> None:  # type: ignore[no-untyped-def]
    with session(engine) as s:
        stored = [m.fingerprint for m in s.exec(select(Message))]
        assert sorted(stored) == sorted({fingerprint(m) for m in mails}), "lost or doubled"
        assert all(m.processed for m in s.exec(select(Message)))
        cases = list(s.exec(select(Case)))
    distinct_questions = len({fingerprint(m) for m in mails}) - 1  # minus the follow-up
    assert len(cases) == distinct_questions
    assert all(c.status == "awaiting_review" for c in cases)
    assert dovecot.count("INBOX") == 0
    assert dovecot.count("Processed") == len(mails)  # moved exactly once each


def test_sigkill_at_each_point_of_a_batch_then_restart(
        dovecot: Dovecot, engine_for, starter_kb_path: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    engine = engine_for(url)
    mails = _mails(12)  # 14 mails: chunks of 4 -> 4 chunks
    dovecot.append(*mails)
    env = _env(dovecot, url, tmp_path, starter_kb_path, chunk=4)
    steps = [("mid_batch:2", 0), ("after_commit:1", 4), ("after_move:1", 8),
             ("mid_batch:3", 8), ("after_commit:1", 12)]
    for crash_at, committed in steps:
        proc = _poll(env, crash_at)
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == -signal.SIGKILL, (crash_at, err.decode()[-2000:])
        # what the killed run committed is exactly the chunks before the crash point
        assert count(engine, Message) == committed, crash_at
    assert dovecot.count("INBOX") + dovecot.count("Processed") == len(mails)
    proc = _poll(env)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()[-2000:]
    assert out.decode().strip() == "1 new cases, 0 follow-ups, 0 quarantined, 1 duplicates"
    _assert_exactly_once(engine, dovecot, mails)
    # and a run after that finds nothing to do
    proc = _poll(env)
    out, _ = proc.communicate(timeout=120)
    assert out.decode().strip() == "0 new cases, 0 follow-ups, 0 quarantined, 0 duplicates"


def _stored(engine) -> int:  # type: ignore[no-untyped-def]
    from sqlmodel import func, select

    from db.engine import session
    from db.models import Message

    with session(engine) as s:
        return s.exec(select(func.count()).select_from(Message)).one()


def test_sigkill_at_random_moments_of_a_large_batch(
        dovecot: Dovecot, engine_for, starter_kb_path: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    engine = engine_for(url)
    mails = _mails(150)
    dovecot.append(*mails)
    env = _env(dovecot, url, tmp_path, starter_kb_path, chunk=10)
    rng = random.Random(4)
    kills = 0
    for _ in range(4):
        # kill after a random amount of progress (mails committed), not after a fixed time:
        # the poller is fast, and the moment within a chunk is what varies
        start = _stored(engine)
        target = start + rng.randint(1, 25)
        proc = _poll(env)
        deadline = time.monotonic() + 60
        while proc.poll() is None and _stored(engine) < target and time.monotonic() < deadline:
            time.sleep(rng.uniform(0.001, 0.01))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.communicate(timeout=60)
    proc = _poll(env)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()[-2000:]
    assert kills >= 3
    _assert_exactly_once(engine, dovecot, mails)


def test_a_poll_of_an_empty_mailbox_exits_cleanly(
        dovecot: Dovecot, engine_for, starter_kb_path: Path, tmp_path: Path) -> None:
    """The pool's workers are still starting when there is nothing to do: they are stopped at
    once, and none of them writes a traceback (it used to: BrokenPipeError on "ready")."""
    url = f"sqlite:///{tmp_path / 'e.db'}"
    engine_for(url)
    env = {**_env(dovecot, url, tmp_path, starter_kb_path, 50), "CONSULT_ANALYSIS_WORKERS": "2"}
    out, err = _poll(env).communicate(timeout=120)
    assert out.decode().strip().endswith("0 new cases, 0 follow-ups, 0 quarantined, 0 duplicates")
    assert b"Traceback" not in err and b"Error" not in err, err.decode()[-2000:]
