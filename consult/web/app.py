"""The review web app: queue, case page, actions, JSON API; served by `consult serve`.

Inbound mail is never rendered as HTML: every value goes through the autoescaping environment,
and the Content-Security-Policy allows only this app's own script and style files, so even a
templating mistake could not run a mail's script. The headers and the request body caps are
ASGI layers around the whole app (``consult.web.guards``), so error pages carry them too.
Every route but /login, /static and the ops endpoints (/healthz, /readyz, /metrics:
``consult.web.ops``) needs a session (tests/web/test_auth.py walks
``app.routes`` to prove it).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy.engine import Engine

from consult.clock import utcnow
from consult.config import Settings
from consult.kb.store import KnowledgeBase
from consult.metrics import MailboxSource
from consult.templating import page_environment
from consult.web import api, codes, dashboard, errors, login, ops, pages
from consult.web.deps import WebContext
from consult.web.guards import BodyLimit, SecurityHeaders
from consult.web.lifespan import hooked

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "static"


class ConsultApp(FastAPI):
    """FastAPI with ``consult.web.guards`` outside everything, Starlette's error handling
    included: the security headers are on every response and bodies are capped."""

    max_request_bytes: int = 2 * 1024 * 1024

    def build_middleware_stack(self):  # type: ignore[no-untyped-def]
        return SecurityHeaders(BodyLimit(super().build_middleware_stack(),
                                         self.max_request_bytes))


def _secret(settings: Settings) -> str:
    key = settings.secret_key.get_secret_value()
    if key:
        return key
    log.warning("CONSULT_SECRET_KEY is not set: using a random key for this process; open "
                "login forms stop working when it restarts. Set it for production.")
    return secrets.token_urlsafe(32)


def create_app(settings: Settings, engine: Engine, *,
               on_startup: Callable[[], None] | None = None,
               on_shutdown: Callable[[], None] | None = None,
               kb: KnowledgeBase | None = None,
               clock: Callable[[], datetime] = utcnow,
               mailboxes: MailboxSource | None = None) -> FastAPI:
    """Build the app; background workers start and stop with its lifespan. ``mailboxes``: the
    state of the IMAP watchers this process runs, for /readyz and /metrics."""

    lifespan = hooked(on_startup, on_shutdown)

    app = ConsultApp(
        title="consult review API", lifespan=lifespan, docs_url=None, redoc_url=None,
        openapi_url=None, version="1",
        description=(api.__doc__ or "") + "\n\nThe schema is at /api/openapi.json (logged in).",
    )
    app.max_request_bytes = settings.max_request_bytes
    app.state.ctx = WebContext(
        settings=settings, engine=engine, env=page_environment(), clock=clock, kb=kb,
        signer=URLSafeTimedSerializer(_secret(settings), salt="consult-web"),
    )

    errors.install(app)

    app.include_router(login.router)
    app.include_router(pages.router)
    app.include_router(api.router)
    app.include_router(codes.pages)
    app.include_router(codes.api)
    app.include_router(dashboard.pages)
    app.include_router(dashboard.api)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    ops.install(app, settings, engine, kb=kb, mailboxes=mailboxes, clock=clock)
    return app
