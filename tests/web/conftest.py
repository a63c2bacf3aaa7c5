"""Fixtures for the review web app: a real app on a real (migrated) database, real users with
argon2 hashes, cases made by the real intake, a clock the test can move, the app in a real
uvicorn (``Served``) and one headless chromium per test worker (``browser``)."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from support.servers import free_port, require

from consult import accounts
from consult.config import Settings
from consult.intake import ingest
from consult.kb.store import KnowledgeBase
from consult.web.app import create_app
from db.engine import session

PASSWORD = "correct-horse-battery"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage"]
START = datetime(2026, 11, 16, 15, 0, tzinfo=UTC)


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@dataclass
class WebApp:
    settings: Settings
    engine: Engine
    kb: KnowledgeBase
    clock: Clock
    app: FastAPI
    clients: list[TestClient] = field(default_factory=list)

    def client(self, *, https: bool = False) -> TestClient:
        c = TestClient(self.app, base_url="https://testserver" if https else "http://testserver",
                       follow_redirects=False)
        self.clients.append(c)
        return c

    def add_user(self, email: str, role: str = "reviewer", password: str = PASSWORD) -> None:
        with session(self.engine) as s:
            accounts.add_user(s, email, password, role=role, now=self.clock())
            s.commit()

    def login(self, client: TestClient, email: str, password: str = PASSWORD) -> str:
        """Log in through the form; returns the session's CSRF token."""
        resp = post_login(client, email, password)
        assert resp.status_code == 303, resp.text
        me = client.get("/api/me")
        assert me.status_code == 200
        return str(me.json()["csrf_token"])

    def ingest(self, raw: bytes, *, at: datetime | None = None) -> int:
        """A mail through the real intake (parse, extract, findings, draft); the case id."""
        with session(self.engine) as s:
            result = ingest(s, raw, self.kb, self.settings, source="cli", now=at or self.clock())
            s.commit()
        assert result.case_id is not None
        return result.case_id


def login_form_token(client: TestClient) -> str:
    page = client.get("/login")
    assert page.status_code == 200
    match = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
    assert match, "login form has no CSRF field"
    return match.group(1)


def post_login(client: TestClient, email: str, password: str, **extra: Any) -> Any:
    data = {"email": email, "password": password, "login_csrf": login_form_token(client),
            "next": "/"}
    data.update(extra)
    return client.post("/login", data=data)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF field"
    return match.group(1)


@pytest.fixture
def make_web(make_settings: Callable[..., Settings], engine_for: Callable[[str], Any],
             starter_kb: KnowledgeBase, tmp_path: Path) -> Iterator[Callable[..., WebApp]]:
    made: list[WebApp] = []

    def make(db_url: str | None = None, **overrides: Any) -> WebApp:
        url = db_url or f"sqlite:///{tmp_path / 'web.db'}"
        settings = make_settings(database_url=url, secret_key="test-secret-key-0123456789",
                                 **overrides)
        engine = engine_for(url)
        clock = Clock()
        app = create_app(settings, engine, kb=starter_kb, clock=clock)
        web = WebApp(settings, engine, starter_kb, clock, app)  # type: ignore[arg-type]
        made.append(web)
        return web

    yield make
    for web in made:
        for c in web.clients:
            c.close()


@pytest.fixture
def web(make_web: Callable[..., WebApp]) -> WebApp:
    """The app on SQLite with a reviewer and an admin."""
    app = make_web()
    app.add_user("rita@consult.test", "reviewer")
    app.add_user("adam@consult.test", "admin")
    return app


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless chromium per test worker."""
    require(os.access(CHROMIUM, os.X_OK), "Debian's chromium (/usr/bin/chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield b
        finally:
            b.close()


class Served:
    """The app in a real uvicorn on a free loopback port, in a thread."""

    def __init__(self, web: WebApp) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(
            web.app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
