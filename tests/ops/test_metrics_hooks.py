"""The process series of /metrics fed by the real transports: the SMTP listener and the
processor (mails stored, draft latency from the store), the IMAP poller against a real Dovecot
(latency from the mailbox's INTERNALDATE), and the IDLE watchers' state in /readyz and
/metrics (idle, reconnecting while the server is down, stopped on a refused login)."""

from __future__ import annotations

import smtplib
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import generate_latest
from support.mails import consultation
from support.prom import Samples, samples, value
from support.servers import Dovecot, free_port

from consult.clock import utcnow
from consult.config import Settings
from consult.kb.store import KnowledgeBase
from consult.metrics import build_registry
from consult.web.ops import create_ops_app
from workers.imap_idle import start_watchers
from workers.imap_poller import ImapPoller
from workers.scheduler import Processor
from workers.smtp_inbound import start_listener


def _scrape(engine: Any) -> Samples:
    return samples(generate_latest(build_registry(engine, clock=utcnow)).decode())


def _latency(found: Samples, transport: str) -> tuple[float, float, float]:
    """(count, sum, observations at or under 1 s) of the draft latency of ``transport``."""
    return (value(found, "consult_draft_latency_seconds_count", transport=transport),
            value(found, "consult_draft_latency_seconds_sum", transport=transport),
            value(found, "consult_draft_latency_seconds_bucket", transport=transport, le="1.0"))


def _wait_for(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_smtp_mails_stored_and_drafted_are_counted(
        make_settings: Callable[..., Settings], engine_for: Any, starter_kb: KnowledgeBase,
        tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    settings = make_settings(database_url=url, listen_smtp=f"127.0.0.1:{free_port()}",
                             analysis_workers=0)
    engine = engine_for(url)
    before = _scrape(engine)
    controller = start_listener(settings, engine, clock=utcnow)
    try:
        host, port = settings.smtp_listen
        with smtplib.SMTP(host, port, timeout=30) as smtp:
            for raw in (consultation(message_id="s1@x"), consultation(message_id="s2@x"),
                        consultation(message_id="s1@x")):  # the same mail again: not counted
                smtp.sendmail("dana@clinic.example", [settings.from_address], raw)
    finally:
        controller.stop()
    stored = _scrape(engine)
    assert (value(stored, "consult_mails_received_total", transport="smtp")
            - value(before, "consult_mails_received_total", transport="smtp")) == 2
    time.sleep(1.2)  # the mails wait in the store before the processor drafts them
    assert Processor(settings, engine, starter_kb, clock=utcnow).run_once() == 2
    after = _scrape(engine)
    count0, sum0, fast0 = _latency(before, "smtp")
    count1, sum1, fast1 = _latency(after, "smtp")
    assert count1 - count0 == 2
    assert sum1 - sum0 >= 2 * 1.2 and fast1 == fast0  # each waited more than a second
    assert value(after, "consult_cases", status="awaiting_review") == 2


def _imap_settings(make_settings: Callable[..., Settings], dovecot: Dovecot, url: str,
                   **extra: Any) -> Settings:
    values: dict[str, Any] = dict(
        database_url=url, imap_host="127.0.0.1", imap_port=dovecot.port,
        imap_user=dovecot.user, imap_password=dovecot.password, imap_ssl="none",
        imap_processed_folder="Processed", imap_backoff_max_seconds=1.0, analysis_workers=0)
    values.update(extra)
    return make_settings(**values)


@pytest.mark.dovecot
def test_imap_latency_runs_from_the_mailbox_internaldate(
        make_settings: Callable[..., Settings], engine_for: Any, starter_kb: KnowledgeBase,
        dovecot: Dovecot, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    settings, engine = _imap_settings(make_settings, dovecot, url), engine_for(url)
    delivered = datetime.now(UTC) - timedelta(minutes=10)  # it waited in the mailbox
    client = dovecot.client()
    try:
        for n in range(3):
            client.append("INBOX", consultation(message_id=f"i{n}@x", subject=f"q {n}"),
                          msg_time=delivered)
        client.append("INBOX", consultation(message_id="ooo@x", subject="Out of office",
                                            body="Away.",
                                            extra_headers={"Auto-Submitted": "auto-replied"}),
                      msg_time=delivered)
    finally:
        client.logout()
    before = _scrape(engine)
    with ImapPoller(settings, engine, starter_kb, clock=utcnow) as poller:
        report = poller.run_once()
    assert report.cases == 3 and report.quarantined == 1
    after = _scrape(engine)
    assert (value(after, "consult_mails_received_total", transport="imap")
            - value(before, "consult_mails_received_total", transport="imap")) == 4
    count0, sum0, _ = _latency(before, "imap")
    count1, sum1, _ = _latency(after, "imap")
    assert count1 - count0 == 3  # the auto-reply got no draft
    assert 3 * 590 <= sum1 - sum0 <= 3 * 900  # ten minutes in the mailbox, each
    assert value(after, "consult_quarantined_cases", reason="auto_reply") == 1


@pytest.mark.dovecot
@pytest.mark.slow
def test_watcher_state_in_readyz_and_metrics(
        make_settings: Callable[..., Settings], engine_for: Any, starter_kb: KnowledgeBase,
        dovecot: Dovecot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    monkeypatch.setenv("OPS_TEST_WRONG_PASSWORD", "not-the-password")
    wrong = {"host": "127.0.0.1", "port": dovecot.port, "user": "intruder",
             "password_env": "OPS_TEST_WRONG_PASSWORD", "ssl": "none", "folders": ["INBOX"],
             "processed_folder": "Processed"}
    settings = _imap_settings(make_settings, dovecot, url, imap_folders="INBOX,Other",
                              imap_accounts=[wrong])
    engine = engine_for(url)
    client = dovecot.client()
    client.create_folder("Other")
    client.logout()
    group = start_watchers(settings, engine, starter_kb, clock=utcnow)
    good = [w for w in group.watchers if w.account.password_env == ""]
    bad = [w for w in group.watchers if w.account.password_env != ""]
    app = create_ops_app(settings, engine, kb=starter_kb, mailboxes=group.watches)
    try:
        with TestClient(app) as http:
            _wait_for(lambda: all(w.idling.is_set() for w in good), 15, "both folders in IDLE")
            _wait_for(lambda: all(w.failure is not None for w in bad), 15, "the refused login")
            resp = http.get("/readyz")
            assert resp.status_code == 503  # a watcher stopped for good needs a person
            boxes = {m["mailbox"]: m for m in resp.json()["checks"]["mailboxes"]["mailboxes"]}
            inbox, other = (good[0].name, good[1].name)
            assert boxes[inbox]["state"] == boxes[other]["state"] == "idle"
            assert boxes[inbox]["lag_seconds"] == 0.0
            assert boxes[bad[0].name]["state"] == "stopped"
            assert "AuthenticationError" in boxes[bad[0].name]["detail"]
            found = samples(http.get("/metrics").text)
            assert value(found, "consult_imap_watcher_state", mailbox=inbox, state="idle") == 1
            assert value(found, "consult_imap_lag_seconds", mailbox=inbox) == 0.0

            dovecot.stop()  # the server goes away: the watchers reconnect, the lag grows
            _wait_for(lambda: not good[0].idling.is_set(), 10, "the watcher to notice")
            time.sleep(1.5)
            [mine] = [m for m in http.get("/readyz").json()["checks"]["mailboxes"]["mailboxes"]
                      if m["mailbox"] == inbox]
            assert mine["state"] == "connecting" and mine["detail"] == "reconnecting"
            assert mine["lag_seconds"] >= 1.0 and mine["ok"] is True
            found = samples(http.get("/metrics").text)
            assert value(found, "consult_imap_lag_seconds", mailbox=inbox) >= 1.0
            assert value(found, "consult_imap_watcher_state", mailbox=inbox,
                         state="connecting") == 1
            dovecot.start()
            _wait_for(lambda: good[0].idling.is_set(), 20, "IDLE again after the restart")
            [mine] = [m for m in http.get("/readyz").json()["checks"]["mailboxes"]["mailboxes"]
                      if m["mailbox"] == inbox]
            assert mine["state"] == "idle" and mine["lag_seconds"] == 0.0
    finally:
        group.stop()
    assert not any(t.is_alive() for t in group.threads)


def test_workers_load_no_prometheus_until_an_app_serves_metrics() -> None:
    """`consult poll --once` imports the workers; its start-up time is measured (item 4), and
    nobody scrapes a one-shot process: the hooks stay idle and cost no import."""
    import subprocess
    import sys

    code = ("import sys, workers.imap_poller, workers.imap_idle, workers.scheduler, "
            "workers.smtp_inbound, consult.metrics as m; m.mail_stored('smtp'); "
            "print('prometheus_client' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip() == "False"
