"""Browser sessions, CSRF tokens and login rate limiting, all kept in the case database.

A session cookie holds a random token; the database holds its SHA-256 with the user, the CSRF
token for that session and the expiry. Keeping this server-side (not in a signed cookie) is what
makes logout real: the row is deleted and the cookie is worthless from then on.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func
from sqlmodel import Session, select

from consult.accounts import digest
from db.models import LoginAttempt, User, WebSession

SESSION_COOKIE = "consult_session"
LOGIN_CSRF_COOKIE = "consult_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
#: Failed logins from one client address allowed per window, across all account names.
IP_FAILURE_FACTOR = 4


def aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything here is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Login:
    """Who is asking: the user and, for a browser session, its CSRF token."""

    user_id: int
    email: str
    role: str
    csrf_token: str | None  # None for API-token requests (no ambient credentials, no CSRF)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def start_session(session: Session, user: User, *, now: datetime, hours: float) -> str:
    """Store a new session for ``user``; returns the cookie value (shown nowhere else)."""
    token = secrets.token_urlsafe(32)
    session.add(WebSession(id=digest(token), user_id=user.id,  # type: ignore[arg-type]
                           csrf_token=secrets.token_urlsafe(32), created_at=now,
                           expires_at=now + timedelta(hours=hours)))
    session.execute(delete(WebSession).where(WebSession.expires_at < now))  # type: ignore[arg-type]
    return token


def load_session(session: Session, token: str | None, *, now: datetime) -> Login | None:
    """The live session behind a cookie value, or None (unknown, expired, user disabled)."""
    if not token:
        return None
    row = session.get(WebSession, digest(token))
    if row is None or aware(row.expires_at) <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return Login(user.id, user.email, user.role, row.csrf_token)  # type: ignore[arg-type]


def end_session(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(WebSession).where(WebSession.id == digest(token)))  # type: ignore[arg-type]


def tokens_match(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison; a missing token never matches."""
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


# -- login slow-down ------------------------------------------------------------------------------
def login_wait(session: Session, email: str, ip: str, *, now: datetime, max_failures: int,
               window_minutes: float, max_delay: float) -> float:
    """Seconds this login attempt must still wait; 0 to go ahead.

    Not a lockout: after ``max_failures`` failed logins of an address within the window, each
    further attempt waits 1, 2, 4 ... seconds (at most ``max_delay``) after the last failure,
    and an attempt made during the wait is refused without checking the password (and without
    counting). So a guesser gets one try per ``max_delay`` and the owner, with the right
    password, gets in after at most that long. One client address failing 4x as often as
    ``max_failures`` (across accounts) waits out ``max_delay`` the same way.
    """
    since = now - timedelta(minutes=window_minutes)
    count, last = session.exec(select(func.count(), func.max(LoginAttempt.at)).where(
        LoginAttempt.email == email, LoginAttempt.at >= since)).one()
    wait = 0.0
    if count >= max_failures and last is not None:
        delay = min(max_delay, 2.0 ** (count - max_failures))
        wait = (aware(last) + timedelta(seconds=delay) - now).total_seconds()
    ip_count, ip_last = session.exec(select(func.count(), func.max(LoginAttempt.at)).where(
        LoginAttempt.ip == ip, LoginAttempt.at >= since)).one()
    if ip_count >= max_failures * IP_FAILURE_FACTOR and ip_last is not None:
        wait = max(wait, (aware(ip_last) + timedelta(seconds=max_delay) - now).total_seconds())
    return max(0.0, wait)


def record_failure(session: Session, email: str, ip: str, *, now: datetime) -> None:
    session.add(LoginAttempt(email=email[:320], ip=ip[:64], at=now))


def clear_failures(session: Session, email: str) -> None:
    """A successful login forgives that address's earlier typos (the per-IP count stays)."""
    session.execute(delete(LoginAttempt).where(LoginAttempt.email == email))  # type: ignore[arg-type]
