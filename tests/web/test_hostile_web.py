"""Issue 13 in the web app, on a real uvicorn: request bodies capped before authentication (5),
atomic approval (6), login slow-down instead of lockout (14), ids beyond 2^63 and headers on
error pages (18)."""

from __future__ import annotations

import select as io_select
import socket
import threading
import time
from collections.abc import Callable

import httpx
from sqlalchemy import text
from sqlmodel import select
from support.mails import consultation
from support.servers import SmtpSink

from consult import accounts
from consult.clock import utcnow
from db.engine import session
from db.models import Outbox, WebSession
from web.conftest import PASSWORD, Served, WebApp, post_login
from workers.sender import Sender

SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "x-frame-options",
                    "referrer-policy")


def _raw_request(port: int, head: bytes, body: bytes = b"", wait: float = 5.0) -> bytes:
    """Send a request head and then ``body`` in 16 KB pieces, stopping as soon as the server
    answers; return the answer ("" when none came within ``wait`` seconds of the last piece)."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        sock.sendall(head)
        for start in range(0, len(body), 16384):
            if io_select.select([sock], [], [], 0.005)[0]:
                break
            try:
                sock.sendall(body[start:start + 16384])
            except OSError:
                break
        try:
            if io_select.select([sock], [], [], wait)[0]:
                return sock.recv(4096)
        except OSError:
            pass
        return b""


def test_a_huge_body_without_credentials_is_refused_before_it_is_read(web: WebApp) -> None:
    with Served(web) as served:
        head = (b"POST /api/cases/1/approve HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/json\r\nContent-Length: 314572800\r\n\r\n")
        answer = _raw_request(served.port, head, b'{"body": "' + b"x" * 1000)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        # chunked, no length: cut off at the anonymous cap, long before the 5 MB sent
        head = (b"POST /login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n\r\n")
        chunk = b"%x\r\n%s\r\n" % (64 * 1024, b"a" * 64 * 1024)
        answer = _raw_request(served.port, head, chunk * 80)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert b"content-security-policy" in answer.lower()


def test_a_logged_in_caller_gets_the_full_limit_and_no_more(web: WebApp) -> None:
    with session(web.engine) as s:
        token = accounts.new_api_token(s, "adam@consult.test")
        s.commit()
    case_id = web.ingest(consultation())
    with Served(web) as served, httpx.Client(base_url=served.url, timeout=30) as client:
        auth = {"Authorization": f"Bearer {token}"}
        ok = client.post(f"/api/cases/{case_id}/draft", headers=auth,
                         json={"body": "43214 " * 20_000})  # 120 KB: over the anonymous cap
        assert ok.status_code == 200, ok.text
        big = client.post(f"/api/cases/{case_id}/draft", headers=auth,
                          json={"body": "x" * (web.settings.max_request_bytes + 10)})
        assert big.status_code == 413


def test_ids_beyond_64_bits_are_404_and_error_pages_carry_the_headers(web: WebApp) -> None:
    huge = 2**64 + 5
    case_id = web.ingest(consultation())
    with Served(web) as served, httpx.Client(base_url=served.url, timeout=30) as client:
        post_login(client, "rita@consult.test", PASSWORD)
        for path in (f"/cases/{huge}", f"/api/cases/{huge}", f"/cases/{2**63}"):
            resp = client.get(path)
            assert resp.status_code == 404, (path, resp.status_code)
            assert all(h in resp.headers for h in SECURITY_HEADERS), resp.headers
        with web.engine.begin() as conn:  # break the database under the app: a 500
            conn.execute(text("DROP TABLE audit_events"))
        resp = client.get(f"/cases/{case_id}")
        assert resp.status_code == 500
        assert all(h in resp.headers for h in SECURITY_HEADERS), resp.headers
        assert resp.headers["cache-control"] == "no-store"


def test_concurrent_approvals_give_one_reply(make_web: Callable[..., WebApp], db_url: str,
                                             smtp_sink: SmtpSink) -> None:
    web = make_web(db_url, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                   smtp_starttls=False)
    web.add_user("adam@consult.test", "admin")
    with session(web.engine) as s:
        token = accounts.new_api_token(s, "adam@consult.test")
        s.commit()
    case_id = web.ingest(consultation())
    codes: list[int] = []
    start = threading.Barrier(8)
    with Served(web) as served:

        def approve() -> None:
            with httpx.Client(base_url=served.url, timeout=60) as client:
                start.wait()
                resp = client.post(f"/api/cases/{case_id}/approve", json={},
                                   headers={"Authorization": f"Bearer {token}"})
                codes.append(resp.status_code)

        threads = [threading.Thread(target=approve) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert sorted(codes) == [200] + [409] * 7, codes
    with session(web.engine) as s:
        assert len(s.exec(select(Outbox).where(Outbox.case_id == case_id)).all()) == 1
    assert Sender(web.settings, web.engine, clock=utcnow).run_once().sent == 1
    time.sleep(0.5)
    assert len(smtp_sink.received) == 1


def test_failed_logins_slow_down_instead_of_locking_the_owner_out(web: WebApp) -> None:
    attacker, owner = web.client(), web.client()
    for _ in range(12):  # someone guesses rita's password
        resp = post_login(attacker, "rita@consult.test", "not-her-password")
        assert resp.status_code in (401, 429)
        web.clock.advance(seconds=0.2)
    wait = post_login(owner, "rita@consult.test", PASSWORD)
    assert wait.status_code == 429 and "Wait" in wait.text
    seconds = int(wait.headers["retry-after"])
    assert 1 <= seconds <= web.settings.login_max_delay_seconds
    web.clock.advance(seconds=seconds)  # rita waits it out: the right password works
    assert post_login(owner, "rita@consult.test", PASSWORD).status_code == 303

    for _ in range(30):  # a long guessing run: the wait is capped, never a lockout
        post_login(attacker, "adam@consult.test", "not-his-password")
        web.clock.advance(seconds=web.settings.login_max_delay_seconds)
    assert post_login(web.client(), "adam@consult.test", PASSWORD).status_code == 303


def test_reset_and_enable_clear_the_count_and_end_sessions(web: WebApp) -> None:
    rita = web.client()
    web.login(rita, "rita@consult.test")
    for _ in range(8):
        post_login(web.client(), "rita@consult.test", "not-her-password")
    with session(web.engine) as s:  # an admin resets the password
        accounts.set_password(s, "rita@consult.test", "a-brand-new-password")
        s.commit()
    assert rita.get("/").status_code == 303  # the old session ended with the reset
    assert post_login(web.client(), "rita@consult.test", "a-brand-new-password").status_code \
        == 303  # and the slow-down was cleared

    web.login(rita, "rita@consult.test", "a-brand-new-password")
    with session(web.engine) as s:
        accounts.set_active(s, "rita@consult.test", False)
        s.commit()
        assert s.exec(select(WebSession)).all() == [] or all(
            w.user_id != accounts.get_user(s, "rita@consult.test").id  # type: ignore[union-attr]
            for w in s.exec(select(WebSession)))
        accounts.set_active(s, "rita@consult.test", True)
        s.commit()
    assert rita.get("/").status_code == 303  # enabling does not revive the old session
