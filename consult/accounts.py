"""Review accounts: create users, check passwords (argon2), issue API tokens.

Shared by `consult user ...` and the web app. Passwords are only ever stored as argon2 hashes;
API tokens only as SHA-256 digests (a token is random, so a fast hash is enough).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete
from sqlmodel import Session, col, select

from consult.errors import InputError
from db.models import LoginAttempt, User, WebSession

ROLES = ("reviewer", "admin")
MIN_PASSWORD_LENGTH = 10
_hasher = PasswordHasher()
#: Verified against when the address is unknown, so a miss costs as much time as a hit.
_DUMMY_HASH = _hasher.hash("not-a-real-password-" + secrets.token_hex(8))


def normalize_email(email: str) -> str:
    return email.strip().lower()


def digest(token: str) -> str:
    """SHA-256 hex of a random token (session ids and API tokens are stored this way)."""
    return hashlib.sha256(token.encode()).hexdigest()


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(f"The password needs at least {MIN_PASSWORD_LENGTH} characters.")


def get_user(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == normalize_email(email))).first()


def add_user(session: Session, email: str, password: str, *, role: str, now: datetime) -> User:
    """Create an account; refuses a second account for the same address."""
    email = normalize_email(email)
    if role not in ROLES:
        raise InputError(f"Role must be one of {', '.join(ROLES)}, not {role!r}.")
    if "@" not in email:
        raise InputError(f"{email!r} is not an email address.")
    check_password_rules(password)
    if get_user(session, email) is not None:
        raise InputError(f"{email} already has an account; `consult user passwd` changes it.")
    user = User(email=email, role=role, password_hash=_hasher.hash(password), created_at=now)
    session.add(user)
    session.flush()
    return user


def _end_sessions(session: Session, user: User) -> None:
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))  # type: ignore[arg-type]


def _clear_failures(session: Session, user: User) -> None:
    session.execute(delete(LoginAttempt).where(LoginAttempt.email == user.email))  # type: ignore[arg-type]


def set_password(session: Session, email: str, password: str) -> User:
    """A new password (an admin's reset or the owner's change): every session of the user
    ends, and the failed-login count that slows logins down is cleared."""
    user = _require(session, email)
    check_password_rules(password)
    user.password_hash = _hasher.hash(password)
    session.add(user)
    _end_sessions(session, user)
    _clear_failures(session, user)
    return user


def set_active(session: Session, email: str, active: bool) -> User:
    """Disable (every session ends at once) or enable (failed logins forgiven; sessions from
    before the disable stay ended: the user logs in again)."""
    user = _require(session, email)
    user.active = active
    session.add(user)
    if active:
        _clear_failures(session, user)
    else:
        _end_sessions(session, user)
    return user


def new_api_token(session: Session, email: str) -> str:
    """Issue (or rotate) the user's API token; returns it once, stores only its digest."""
    user = _require(session, email)
    token = "cst_" + secrets.token_urlsafe(32)
    user.api_token_hash = digest(token)
    session.add(user)
    return token


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this address and password, else None (same cost either way)."""
    user = get_user(session, email)
    stored = user.password_hash if user is not None else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
        session.add(user)
    return user


def user_for_token(session: Session, token: str) -> User | None:
    if not token:
        return None
    user = session.exec(select(User).where(User.api_token_hash == digest(token))).first()
    return user if user is not None and user.active else None


def assignable(session: Session, email: str | None) -> str | None:
    """The address of the active account a case may be assigned to (None: unassign)."""
    if email is None:
        return None
    user = get_user(session, email)
    if user is None or not user.active:
        raise InputError(f"No active account {email!r} to assign the case to.")
    return user.email


def list_users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(col(User.email))))


def _require(session: Session, email: str) -> User:
    user = get_user(session, email)
    if user is None:
        raise InputError(f"No account for {email}; `consult user add` creates one.")
    return user
