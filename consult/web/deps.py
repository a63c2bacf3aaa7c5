"""What every route needs: the app's context, one database session per request, the logged-in
user (an admin where the route says so), CSRF checks, and the case it may see.

Pages answer a missing session with a redirect to /login; the API answers 401. Every state
changing request carries a CSRF token: a form field for pages, the ``X-CSRF-Token`` header for
API calls made with the session cookie. API calls with a bearer token need none (a browser never
sends that token on its own). A domain error raised anywhere below a route becomes its HTTP
answer in one place (``consult.web.errors``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from itsdangerous import URLSafeTimedSerializer
from jinja2 import Environment
from sqlalchemy.engine import Engine
from sqlmodel import Session

from consult import accounts, cases, review
from consult.config import Settings
from consult.errors import Forbidden
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
from db.models import Case


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


def db_session(request: Request) -> Iterator[Session]:
    """The request's database session: the login check and the route share it; closed (and
    rolled back unless the route committed) when the request ends."""
    with new_session(ctx_of(request).engine) as s:
        yield s


DbSession = Annotated[Session, Depends(db_session)]


def page_login(request: Request, s: DbSession) -> Login:
    """The logged-in reviewer, or a redirect to /login that comes back here afterwards."""
    login = load_session(s, request.cookies.get(SESSION_COOKIE), now=ctx_of(request).clock())
    if login is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target if request.method == "GET" else "/")
    return login


async def form_login(request: Request, login: Annotated[Login, Depends(page_login)]) -> Login:
    """page_login plus the CSRF token from the submitted form."""
    form = await request.form()
    if not tokens_match(login.csrf_token, str(form.get(CSRF_FIELD) or "")):
        raise HTTPException(403, "The form's security token is missing or stale. Go back, "
                                 "reload the page and submit again.")
    return login


def api_login(request: Request, s: DbSession) -> Login:
    """An API caller: ``Authorization: Bearer <token>`` or the browser session cookie."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        user = accounts.user_for_token(s, auth[7:].strip())
        if user is None:
            raise HTTPException(401, "Unknown or disabled API token.",
                                headers={"WWW-Authenticate": "Bearer"})
        return Login(user.id, user.email, user.role, None)  # type: ignore[arg-type]
    login = load_session(s, request.cookies.get(SESSION_COOKIE), now=ctx_of(request).clock())
    if login is None:
        raise HTTPException(401, "Log in, or send an API token (`consult user token EMAIL`).",
                            headers={"WWW-Authenticate": "Bearer"})
    return login


def api_write(request: Request, login: Annotated[Login, Depends(api_login)]) -> Login:
    """api_login for a change: a cookie-authenticated call must send the CSRF header."""
    if login.csrf_token is not None and not tokens_match(
            login.csrf_token, request.headers.get(CSRF_HEADER)):
        raise HTTPException(403, "Missing or wrong X-CSRF-Token header (GET /api/me gives it).")
    return login


def _admin(login: Login) -> Login:
    if not login.is_admin:
        raise Forbidden("Only an admin can do this.")
    return login


def admin_form(login: Annotated[Login, Depends(form_login)]) -> Login:
    return _admin(login)


def admin_write(login: Annotated[Login, Depends(api_write)]) -> Login:
    return _admin(login)


PageLogin = Annotated[Login, Depends(page_login)]
FormLogin = Annotated[Login, Depends(form_login)]
Reader = Annotated[Login, Depends(api_login)]
Writer = Annotated[Login, Depends(api_write)]
#: An admin's form post (pages) and an admin's API change: the role is checked after the login
#: and its CSRF token, so a stranger still gets the login answer, never a hint.
AdminForm = Annotated[Login, Depends(admin_form)]
AdminWriter = Annotated[Login, Depends(admin_write)]


def visible_case(s: Session, case_id: int, login: Login) -> Case:
    """The case, if ``login`` may see it: CaseNotFound (404), or Forbidden (403) for a
    quarantined case and anyone but an admin."""
    case = review.get_case(s, case_id)
    if case.status == "quarantined" and not login.is_admin:
        raise Forbidden(f"Case #{case_id} is quarantined; only an admin can open it.")
    return case


def visible_statuses(wanted: tuple[str, ...], login: Login) -> tuple[str, ...]:
    """The statuses a listing asked for, if ``login`` may list them (quarantine: admins)."""
    if "quarantined" in wanted and not login.is_admin:
        raise Forbidden("The quarantine is for admins.")
    return wanted


def statuses_for(login: Login) -> tuple[str, ...]:
    """Every status ``login`` may list."""
    return tuple(s for s in cases.STATUSES if login.is_admin or s != "quarantined")
