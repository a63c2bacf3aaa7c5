"""Item 6 of issue 14 through the review app: /healthz (liveness), /readyz (database, schema,
KB, mailboxes) and /metrics (the desk's state from the database), on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text, update
from support.mails import consultation
from support.prom import samples, value
from support.servers import free_port

from consult import review
from consult.clock import utcnow
from consult.config import Settings
from consult.errors import QuotaExceeded
from consult.intake import check_quota
from consult.kb.store import KnowledgeBase
from consult.metrics import (
    QUARANTINE_CATEGORIES,
    MailboxWatch,
    quarantine_category,
    read_desk_state,
)
from consult.web.ops import code_migrations, create_ops_app, schema_check
from db.engine import make_engine, session
from db.models import Outbox
from web.conftest import WebApp
from workers.analysis_pool import Budget


def _auto_reply() -> bytes:
    return consultation(message_id="ar@x", subject="Out of office",
                        body="I am away until Monday.",
                        extra_headers={"Auto-Submitted": "auto-replied"})


def _no_sender() -> bytes:
    raw = consultation(message_id="ns@x", subject="who?", body="Can we bill 99213?")
    return b"\r\n".join(line for line in raw.split(b"\r\n") if not line.startswith(b"From:"))


def test_healthz_and_readyz_answer_without_a_session(make_web: Any, db_url: str) -> None:
    web: WebApp = make_web(db_url)
    client = web.client()
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["status"] == "ready"
    db, kb, boxes = (body["checks"][k] for k in ("database", "kb", "mailboxes"))
    [head] = code_migrations()[0]
    assert db["ok"] and db["detail"] == f"schema at {head}" and db["ms"] >= 0
    assert kb["ok"] and kb["version"] == web.kb.version and "sources" in kb["detail"]
    assert boxes == {"ok": True, "detail": "no mailbox watchers in this process",
                     "skipped": True}
    assert ready.headers["cache-control"] == "no-store"  # the guards wrap them too


def test_readyz_schema_behind_the_code_is_not_ready_ahead_is(web: WebApp) -> None:
    client = web.client()
    with web.engine.begin() as conn:
        [(head,)] = conn.execute(text("SELECT version_num FROM alembic_version")).all()
        assert {head} == set(code_migrations()[0])  # migrated to the code's head
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    resp = client.get("/readyz")
    assert resp.status_code == 503
    detail = resp.json()["checks"]["database"]["detail"]
    assert detail.startswith(f"schema at 0001, this code needs {head}")
    assert "run the migrations" in detail
    with web.engine.begin() as conn:  # a newer release migrated it: a rolling upgrade
        conn.execute(text("UPDATE alembic_version SET version_num = '0099_from_the_future'"))
    resp = client.get("/readyz")
    assert resp.status_code == 200 and "rolling upgrade" in resp.json()["checks"]["database"][
        "detail"]
    # the pure rule behind it
    assert schema_check({"b"}, frozenset({"b"}), frozenset({"a", "b"})).ok
    assert not schema_check(set(), frozenset({"b"}), frozenset({"a", "b"})).ok


def test_database_down_is_not_ready_but_alive_and_scrapable(
        make_settings: Any, starter_kb: KnowledgeBase) -> None:
    settings = make_settings()
    dead = make_engine(f"postgresql+psycopg://consult@127.0.0.1:{free_port()}/nothing")
    app = create_ops_app(settings, dead, kb=starter_kb)
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        resp = client.get("/readyz")
        assert resp.status_code == 503
        assert resp.json()["checks"]["database"] == {
            "ok": False, "detail": "the database did not answer (OperationalError)"}
        scrape = client.get("/metrics")
        assert scrape.status_code == 200
        found = samples(scrape.text)
        assert value(found, "consult_database_up") == 0.0
        assert not any(name == "consult_cases" for name, _ in found)
        assert client.get("/login").status_code == 404  # the ops app serves nothing else
    dead.dispose()


def test_a_database_that_never_answers_is_not_ready_within_the_timeout(
        make_settings: Any, starter_kb: KnowledgeBase) -> None:
    silent = socket.socket()  # accepts the connection (the kernel does) and never says a word
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    engine = make_engine(f"postgresql+psycopg://consult@127.0.0.1:{port}/nothing")
    app = create_ops_app(make_settings(), engine, kb=starter_kb)
    app.state.ops.ready_timeout = 0.5
    try:
        with TestClient(app) as client:
            started = time.monotonic()
            resp = client.get("/readyz")
            assert time.monotonic() - started < 5
            assert resp.status_code == 503
            assert resp.json()["checks"]["database"]["detail"] == (
                "the database did not answer within 0.5 s")
    finally:
        silent.close()  # the waiting connection fails now, and its thread ends
        engine.dispose()


def test_broken_kb_file_is_not_ready(make_web: Any, starter_kb_path: Path,
                                     tmp_path: Path) -> None:
    copy = tmp_path / "kb.sqlite"
    shutil.copy(starter_kb_path, copy)
    kb = KnowledgeBase(copy)
    web: WebApp = make_web()
    web.app.state.ops.kb = kb
    client = web.client()
    assert client.get("/readyz").status_code == 200
    copy.write_bytes(b"not a database" * 1000)  # each request thread opens its own connection
    resp = client.get("/readyz")
    assert resp.status_code == 503
    assert "did not answer (DatabaseError)" in resp.json()["checks"]["kb"]["detail"]


def test_metrics_read_the_desk_from_the_database(make_web: Any, db_url: str) -> None:
    web: WebApp = make_web(db_url, max_message_bytes=4000)
    web.add_user("rita@consult.test")
    clock = web.clock
    answered = web.ingest(consultation(message_id="m1@x"))
    web.ingest(consultation(message_id="m2@x", subject="second", sender="lee@ortho.example"))
    web.ingest(_auto_reply())
    web.ingest(_no_sender())
    web.ingest(consultation(message_id="big@x", body="x " * 5000))  # over 4000 bytes
    manual = web.ingest(consultation(message_id="m3@x", subject="spam?",
                                     sender="odd@spam.example"))
    with session(web.engine) as s:
        review.quarantine(s, manual, actor="rita@consult.test", now=clock(),
                          reason="looks like spam to me")
        review.approve(s, answered, web.settings, actor="rita@consult.test", now=clock())
        s.commit()
    clock.advance(minutes=90)  # the reply waits: the relay is down

    client = web.client()
    found = samples(client.get("/metrics").text)
    assert value(found, "consult_database_up") == 1.0
    assert value(found, "consult_cases", status="awaiting_review") == 1
    assert value(found, "consult_cases", status="approved") == 1
    assert value(found, "consult_cases", status="quarantined") == 4
    assert value(found, "consult_cases", status="closed") == 0  # every status is listed
    assert ("consult_cases", frozenset({("status", "closed")})) in found
    assert value(found, "consult_outbox_messages", status="pending") == 1
    assert value(found, "consult_outbox_messages", status="failed") == 0
    assert value(found, "consult_outbox_oldest_pending_age_seconds") == pytest.approx(5400)
    by_reason = {c: value(found, "consult_quarantined_cases", reason=c)
                 for c in QUARANTINE_CATEGORIES}
    assert by_reason == {**dict.fromkeys(QUARANTINE_CATEGORIES, 0.0), "auto_reply": 1,
                         "no_sender": 1, "oversize": 1, "other": 1}
    assert value(found, "process_resident_memory_bytes") > 10_000_000  # this process
    # no mail text in any label: the categories are fixed words
    assert "spam" not in client.get("/metrics").text.replace("consult_", "")

    with session(web.engine) as s:  # the relay gave up: failed, nothing pending
        s.execute(update(Outbox).values(status="failed"))
        s.commit()
        state = read_desk_state(s, now=clock())
    assert dict(state.outbox) == {"pending": 0, "failed": 1}
    assert state.oldest_pending_age == 0.0


def test_quarantine_categories_of_the_real_reasons(make_settings: Any) -> None:
    budget = Budget(cpu_seconds=2, wall_seconds=3, memory_mb=256)
    assert [quarantine_category(budget.reason(w)) for w in ("cpu", "wall", "memory")] == [
        "over_budget"] * 3
    settings: Settings = make_settings(sender_quota_mb=0.001)
    with pytest.raises(QuotaExceeded) as exc:
        check_quota(None, "a@b.example", 5000, settings, now=utcnow(), used=0)  # type: ignore[arg-type]
    assert quarantine_category(f"{exc.value}; only the headers are kept here") == "sender_quota"
    assert quarantine_category("bounce: delivery status notification") == "bounce"
    assert quarantine_category("mailing list: List-Id header") == "mailing_list"
    assert quarantine_category("loop: our own mail came back") == "loop"
    assert quarantine_category("could not parse the message: ValueError") == "unparseable"
    assert quarantine_category("unusable mail: no subject, body or attachment") == "unparseable"
    assert quarantine_category("unusable mail: no sender address") == "no_sender"
    assert quarantine_category("intake failed: KeyError('x')") == "failure"
    assert quarantine_category("analysis failed: boom") == "failure"
    assert quarantine_category(None) == quarantine_category("Bounce? no, a person") == "other"


def test_metrics_token_is_asked_for_when_set(make_web: Any) -> None:
    web: WebApp = make_web(metrics_token="scrape-token-0123456789")
    client = web.client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    ok = client.get("/metrics", headers={"Authorization": "Bearer scrape-token-0123456789"})
    assert ok.status_code == 200 and ok.headers["content-type"].startswith("text/plain")
    assert client.get("/readyz").status_code == 200  # probes need no token


def test_mailbox_source_feeds_readyz_and_metrics(make_web: Any, make_settings: Any,
                                                 starter_kb: KnowledgeBase,
                                                 tmp_path: Path) -> None:
    watches = [MailboxWatch("coder@127.0.0.1:143/INBOX", "idle", 0.0),
               MailboxWatch("coder@127.0.0.1:143/Other", "connecting", 12.5, "reconnecting")]
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    from db.engine import upgrade

    engine = make_engine(url)
    upgrade(engine)
    app = create_ops_app(make_settings(database_url=url), engine, kb=starter_kb,
                         mailboxes=lambda: watches)
    with TestClient(app) as client:
        body = client.get("/readyz").json()
        assert body["status"] == "ready"
        assert [m["state"] for m in body["checks"]["mailboxes"]["mailboxes"]] == [
            "idle", "connecting"]
        found = samples(client.get("/metrics").text)
        assert value(found, "consult_imap_lag_seconds", mailbox=watches[1].mailbox) == 12.5
        assert value(found, "consult_imap_watcher_state", mailbox=watches[0].mailbox,
                     state="idle") == 1
        assert value(found, "consult_imap_watcher_state", mailbox=watches[0].mailbox,
                     state="stopped") == 0
        watches.append(MailboxWatch("coder@127.0.0.1:143/Third", "stopped", 60.0,
                                    "AuthenticationError: refused"))
        resp = client.get("/readyz")
        assert resp.status_code == 503
        assert resp.json()["checks"]["mailboxes"]["detail"] == (
            "stopped, needs a person: coder@127.0.0.1:143/Third")
    engine.dispose()
