"""What every route needs: the app's context, the logged-in user, and CSRF checks.

Pages answer a missing session with a redirect to /login; the API answers 401. Every state
changing request carries a CSRF token: a form field for pages, the ``X-CSRF-Token`` header for
API calls made with the session cookie. API calls with a bearer token need none (a browser never
sends that token on its own).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from fastapi import HTTPException, Request
from itsdangerous import URLSafeTimedSerializer
from jinja2 import Environment
from sqlalchemy.engine import Engine

from consult import accounts
from consult.config import Settings
from consult.kb.store import KnowledgeBase
from consult.web.sessions import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    Login,
    load_session,
    tokens_match,
)
from db.engine import session as new_session


@dataclass
class WebContext:
    """Built once by create_app and kept on ``app.state.ctx``."""

    settings: Settings
    engine: Engine
    env: Environment
    clock: Callable[[], datetime]
    signer: URLSafeTimedSerializer
    kb: KnowledgeBase | None = None


class LoginRequired(Exception):
    """Raised by page dependencies; the app turns it into a redirect to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def ctx_of(request: Request) -> WebContext:
    return request.app.state.ctx  # type: ignore[no-any-return]


def _session_login(request: Request) -> Login | None:
    ctx = ctx_of(request)
    with new_session(ctx.engine) as s:
        return load_session(s, request.cookies.get(SESSION_COOKIE), now=ctx.clock())


def page_login(request: Request) -> Login:
    """The logged-in reviewer, or a redirect to /login that comes back here afterwards."""
    login = _session_login(request)
    if login is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target if request.method == "GET" else "/")
    return login


async def form_login(request: Request) -> Login:
    """page_login plus the CSRF token from the submitted form."""
    login = page_login(request)
    form = await request.form()
    if not tokens_match(login.csrf_token, str(form.get(CSRF_FIELD) or "")):
        raise HTTPException(403, "The form's security token is missing or stale. Go back, "
                                 "reload the page and submit again.")
    return login


def api_login(request: Request) -> Login:
    """An API caller: ``Authorization: Bearer <token>`` or the browser session cookie."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        ctx = ctx_of(request)
        with new_session(ctx.engine) as s:
            user = accounts.user_for_token(s, auth[7:].strip())
        if user is None:
            raise HTTPException(401, "Unknown or disabled API token.",
                                headers={"WWW-Authenticate": "Bearer"})
        return Login(user.id, user.email, user.role, None)  # type: ignore[arg-type]
    login = _session_login(request)
    if login is None:
        raise HTTPException(401, "Log in, or send an API token (`consult user token EMAIL`).",
                            headers={"WWW-Authenticate": "Bearer"})
    return login


def api_write(request: Request) -> Login:
    """api_login for a change: a cookie-authenticated call must send the CSRF header."""
    login = api_login(request)
    if login.csrf_token is not None and not tokens_match(
            login.csrf_token, request.headers.get(CSRF_HEADER)):
        raise HTTPException(403, "Missing or wrong X-CSRF-Token header (GET /api/me gives it).")
    return login


def require_admin(login: Login) -> None:
    if not login.is_admin:
        raise HTTPException(403, "Only an admin can do this.")
