"""Accounts and safety: every route needs a session, every form a CSRF token, logins are
rate-limited, cookies are HttpOnly/SameSite (and Secure over TLS), logout really ends it."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

from fastapi.routing import APIRoute
from sqlmodel import select
from starlette.routing import Mount, Route
from support.mails import consultation

from consult.web.sessions import SESSION_COOKIE
from db.engine import session
from db.models import AuditEvent, Case, User, WebSession
from web.conftest import PASSWORD, WebApp, csrf_of, post_login

PUBLIC = {("GET", "/login"), ("POST", "/login"), ("GET", "/healthz"), ("GET", "/readyz"),
          ("GET", "/metrics")}


def _flatten(routes: list[Any]) -> Iterator[Any]:
    """app.routes, with included routers opened (newer FastAPI includes them lazily)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _flatten(inner.routes)
        else:
            yield route


def _routes(web: WebApp) -> list[tuple[str, str]]:
    found = []
    for route in _flatten(web.app.routes):
        if isinstance(route, Mount):
            assert route.path == "/static", f"unexpected mount {route.path}"
            continue
        assert isinstance(route, APIRoute | Route)
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                found.append((method, route.path))
    return found


def _url(path: str, case_id: int) -> str:
    return re.sub(r"\{case_id\}", str(case_id), path)


def test_every_route_but_login_and_health_needs_a_session(web: WebApp) -> None:
    case_id = web.ingest(consultation())
    client = web.client()
    routes = _routes(web)
    assert len(routes) > 20 and {m for m, _ in routes} == {"GET", "POST"}
    for method, path in routes:
        resp = client.request(method, _url(path, case_id), data={"body": "x"})
        if (method, path) in PUBLIC:  # answers itself (POST /login: 403, no form token)
            assert resp.status_code in (200, 403), (method, path, resp.status_code)
        elif path.startswith("/api/") and path != "/api/docs":  # JSON: 401, pages: redirect
            assert resp.status_code == 401, (method, path, resp.status_code)
            assert resp.headers["www-authenticate"] == "Bearer"
        else:
            assert resp.status_code == 303, (method, path, resp.status_code)
            assert resp.headers["location"].startswith("/login"), (method, path)
    # the walk changed nothing
    with session(web.engine) as s:
        assert s.get(Case, case_id).status == "awaiting_review"  # type: ignore[union-attr]
    # static files are public, and the walk covered the docs and the schema
    assert client.get("/static/app.js").status_code == 200
    assert ("GET", "/api/openapi.json") in routes and ("GET", "/api/docs") in routes
    assert client.get("/docs").status_code == 404


def test_every_post_needs_the_csrf_token(web: WebApp) -> None:
    case_id = web.ingest(consultation())
    client = web.client()
    token = web.login(client, "adam@consult.test")
    posts = [p for m, p in _routes(web) if m == "POST" and p != "/login"]
    assert len(posts) >= 15
    assert "/logout" in posts and "/cases/{case_id}/approve" in posts
    for path in posts:
        url = _url(path, case_id)
        if path.startswith("/api/"):
            for headers in ({}, {"X-CSRF-Token": "wrong"}):
                resp = client.post(url, json={"body": "x", "reason": "r", "question": "q?"},
                                   headers=headers)
                assert resp.status_code == 403, (path, headers, resp.status_code)
        else:
            for data in ({"body": "x"}, {"body": "x", "csrf_token": "wrong"}):
                resp = client.post(url, data=data)
                assert resp.status_code == 403, (path, data, resp.status_code)
    with session(web.engine) as s:
        case = s.get(Case, case_id)
        assert case is not None and case.status == "awaiting_review"
        actions = [e.action for e in s.exec(select(AuditEvent))]
        assert actions == ["received", "drafted"]
    # still logged in (logout without a token did nothing), and the right token works
    assert client.get("/").status_code == 200
    resp = client.post(f"/cases/{case_id}/assign", data={"assignee": "me", "csrf_token": token})
    assert resp.status_code == 303


def test_login_form_needs_its_own_csrf_token(web: WebApp) -> None:
    client = web.client()
    resp = client.post("/login", data={"email": "rita@consult.test", "password": PASSWORD,
                                       "login_csrf": "forged", "next": "/"})
    assert resp.status_code == 403 and SESSION_COOKIE not in resp.cookies
    resp = post_login(client, "rita@consult.test", PASSWORD, login_csrf="also-forged")
    assert resp.status_code == 403


def test_login_logout_and_cookie_flags(web: WebApp) -> None:
    client = web.client()
    assert client.get("/cases/1").headers["location"] == "/login?next=/cases/1"
    resp = post_login(client, "rita@consult.test", PASSWORD, next="/?status=open")
    assert resp.status_code == 303 and resp.headers["location"] == "/?status=open"
    cookie = resp.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    page = client.get("/")
    assert page.status_code == 200 and "rita@consult.test" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    stolen = client.cookies.get(SESSION_COOKIE)

    assert client.post("/logout", data={"csrf_token": csrf_of(page.text)}).status_code == 303
    assert client.get("/").status_code == 303
    with session(web.engine) as s:
        assert s.exec(select(WebSession)).all() == []
    # the old cookie value is worthless after logout
    other = web.client()
    other.cookies.set(SESSION_COOKIE, stolen)  # type: ignore[arg-type]
    assert other.get("/api/me").status_code == 401


def test_secure_cookie_over_tls_and_no_open_redirect(web: WebApp) -> None:
    client = web.client(https=True)
    resp = post_login(client, "rita@consult.test", PASSWORD, next="//evil.example/x")
    assert resp.status_code == 303 and resp.headers["location"] == "/"
    assert "Secure" in resp.headers["set-cookie"]
    assert "consult_session" in resp.headers["set-cookie"]


def test_wrong_password_unknown_user_and_rate_limit(web: WebApp) -> None:
    client = web.client()
    assert post_login(client, "nobody@consult.test", PASSWORD).status_code == 401
    for _ in range(web.settings.login_max_failures - 1):
        resp = post_login(client, "rita@consult.test", "wrong-password!")
        assert resp.status_code == 401 and "Wrong email or password" in resp.text
    # five failures for this address: even the right password is refused for a while
    resp = post_login(client, "rita@consult.test", "wrong-password!")
    assert resp.status_code == 401
    resp = post_login(client, "rita@consult.test", PASSWORD)
    assert resp.status_code == 429 and "Too many failed logins" in resp.text
    # another account from the same client is not locked out by rita's typos
    assert post_login(client, "adam@consult.test", PASSWORD).status_code == 303
    web.clock.advance(minutes=web.settings.login_window_minutes + 1)
    assert post_login(web.client(), "rita@consult.test", PASSWORD).status_code == 303


def test_session_expires_and_disabled_user_is_out(web: WebApp) -> None:
    client = web.client()
    web.login(client, "rita@consult.test")
    web.clock.advance(hours=web.settings.session_hours + 0.1)
    assert client.get("/").status_code == 303
    web.login(client, "rita@consult.test")
    with session(web.engine) as s:
        user = s.exec(select(User).where(User.email == "rita@consult.test")).one()
        user.active = False
        s.add(user)
        s.commit()
    assert client.get("/").status_code == 303


def test_api_token_auth_needs_no_csrf(web: WebApp) -> None:
    case_id = web.ingest(consultation())
    with session(web.engine) as s:
        from consult.accounts import new_api_token

        token = new_api_token(s, "rita@consult.test")
        s.commit()
    api = web.client()
    assert api.get("/api/cases", headers={"Authorization": "Bearer nope"}).status_code == 401
    auth = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/me", headers=auth).json()["email"] == "rita@consult.test"
    resp = api.post(f"/api/cases/{case_id}/assign", json={"assignee": "rita@consult.test"},
                    headers=auth)
    assert resp.status_code == 200 and resp.json()["status"] == "awaiting_review"
    schema = api.get("/api/openapi.json", headers=auth).json()
    assert "/api/cases/{case_id}/approve" in schema["paths"]
    assert not any(p.startswith("/cases") for p in schema["paths"])  # pages stay out of it


def test_cli_user_add_reads_the_password_from_stdin(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {"CONSULT_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    run = [sys.executable, "-m", "consult", "user", "add", "Cora@Clinic.Test", "--role", "admin"]
    done = subprocess.run(run, input="a-long-enough-pass\n", capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "cora@clinic.test (admin)" in done.stdout
    again = subprocess.run(run, input="a-long-enough-pass\n", capture_output=True, text=True,
                           env=env, timeout=60)
    assert again.returncode == 1 and "already has an account" in again.stderr
    from db.engine import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'consult.db'}")
    with session(engine) as s:
        user = s.exec(select(User)).one()
        assert user.password_hash.startswith("$argon2")
        assert "a-long-enough" not in user.password_hash
    engine.dispose()
