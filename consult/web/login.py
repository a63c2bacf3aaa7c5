"""Log in and out. The login form has its own CSRF token (a signed cookie plus a form field),
since there is no session yet; failed logins slow further attempts down (per address and per
client), exponentially, instead of locking the owner out."""

from __future__ import annotations

import math
import secrets
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from itsdangerous import BadSignature
from sqlmodel import Session

from consult import accounts
from consult.web.deps import DbSession, FormLogin, ctx_of
from consult.web.render import page
from consult.web.sessions import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    clear_failures,
    end_session,
    load_session,
    login_wait,
    record_failure,
    start_session,
    tokens_match,
)

router = APIRouter(include_in_schema=False)
LOGIN_FORM_SECONDS = 3600


def safe_next(target: str | None) -> str:
    """Only a path on this site (never //host or a scheme): no open redirect after login."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _login_form(request: Request, s: Session, *, error: str = "", email: str = "",
                next_path: str = "/", status_code: int = 200) -> Response:
    ctx = ctx_of(request)
    nonce = secrets.token_urlsafe(24)
    no_accounts = not accounts.list_users(s)
    resp = page(request, "pages/login.html", login=None, title="Log in", error=error,
                email=email, next_path=safe_next(next_path), login_csrf=nonce,
                no_accounts=no_accounts, status_code=status_code)
    resp.set_cookie(LOGIN_CSRF_COOKIE, ctx.signer.dumps(nonce, salt="login"),
                    max_age=LOGIN_FORM_SECONDS, httponly=True, samesite="strict",
                    secure=_secure(request), path="/login")
    return resp


@router.get("/login")
def login_page(request: Request, s: DbSession, next: str = "/") -> Response:
    if load_session(s, request.cookies.get(SESSION_COOKIE), now=ctx_of(request).clock()):
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_form(request, s, next_path=next)


@router.post("/login")
def login_submit(request: Request, s: DbSession, email: str = Form(""),
                 password: str = Form(""), login_csrf: str = Form(""),
                 next: str = Form("/")) -> Response:
    ctx = ctx_of(request)
    settings = ctx.settings
    try:
        expected = ctx.signer.loads(request.cookies.get(LOGIN_CSRF_COOKIE, ""), salt="login",
                                    max_age=LOGIN_FORM_SECONDS)
    except BadSignature:
        expected = None
    if not tokens_match(expected, login_csrf):
        return _login_form(request, s, error="The login form expired. Please try again.",
                           email=email, next_path=next, status_code=403)
    email = accounts.normalize_email(email)
    ip = request.client.host if request.client else "unknown"
    now = ctx.clock()
    wait = login_wait(s, email, ip, now=now, max_failures=settings.login_max_failures,
                      window_minutes=settings.login_window_minutes,
                      max_delay=settings.login_max_delay_seconds)
    if wait > 0:
        seconds = math.ceil(wait)
        resp = _login_form(
            request, s, email=email, next_path=next, status_code=429,
            error=f"Too many failed logins for this account. Wait {seconds} seconds and "
                  "try again (or ask an admin to reset your password).")
        resp.headers["Retry-After"] = str(seconds)
        return resp
    user = accounts.authenticate(s, email, password)
    if user is None:
        record_failure(s, email, ip, now=now)
        s.commit()
        return _login_form(request, s, error="Wrong email or password.", email=email,
                           next_path=next, status_code=401)
    clear_failures(s, email)
    token = start_session(s, user, now=now, hours=settings.session_hours)
    s.commit()
    resp = RedirectResponse(safe_next(next), status_code=303)
    resp.set_cookie(SESSION_COOKIE, token, max_age=int(settings.session_hours * 3600),
                    httponly=True, samesite="lax", secure=_secure(request), path="/")
    resp.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return resp


@router.post("/logout")
def logout(request: Request, login: FormLogin, s: DbSession) -> Response:
    end_session(s, request.cookies.get(SESSION_COOKIE))
    s.commit()
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/", secure=_secure(request), httponly=True,
                       samesite="lax")
    return resp


def login_redirect(next_path: str) -> RedirectResponse:
    return RedirectResponse(f"/login?next={quote(safe_next(next_path), safe='/')}",
                            status_code=303)
