"""Tables of the case database.

A message's raw bytes are stored before anything parses them; ``fingerprint`` (a hash of the
message's own content, see ``consult.mail.fingerprint``) is the dedupe key. ``message_id`` is
indexed for threading but never unique: senders reuse or omit it.

Text that comes from mail goes through ``CleanText`` / ``CleanString``: NUL characters are
dropped on the way in (PostgreSQL refuses them in text, and a NUL in a header used to turn a
whole mail into a quarantined case without subject or sender). The raw bytes keep them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Index,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel


def _ts(*, nullable: bool) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable)


def strip_nul(value: Any) -> Any:
    return value.replace("\x00", "") if isinstance(value, str) and "\x00" in value else value


class CleanText(TypeDecorator[str]):
    """TEXT without NUL characters."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return strip_nul(value)


class CleanString(TypeDecorator[str]):
    """VARCHAR(n) without NUL characters."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return strip_nul(value)


def _text(*, nullable: bool = False, default: str | None = "") -> Column[str]:
    return Column(CleanText(), nullable=nullable, default=default)


class Case(SQLModel, table=True):
    """One consultation: a thread of mails, its drafts, its reply and its audit trail."""

    __tablename__ = "cases"

    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(index=True, max_length=20)
    subject: str = Field(default="", sa_column=_text())
    sender: str = Field(default="", index=True, sa_type=CleanString(320))
    sender_name: str = Field(default="", sa_type=CleanString(320))
    created_at: datetime = Field(sa_column=_ts(nullable=False))
    updated_at: datetime = Field(sa_column=_ts(nullable=False))
    assignee: str | None = Field(default=None, max_length=320)
    quarantine_reason: str | None = Field(default=None,
                                          sa_column=_text(nullable=True, default=None))
    reopen_count: int = 0
    codes: str = Field(default="", sa_column=_text())
    row_version: int = Field(default=1)
    #: A question part no source of the KB answers: the case goes to an expert reviewer.
    needs_expert: bool = Field(default=False, index=True)
    expert_reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    #: The trusted Authentication-Results verdict on the From of its mail: "pass", "fail"
    #: (DMARC failed: shown in the queue) or "" (none).
    sender_auth: str = Field(default="", max_length=10)
    #: A mail that named "[Case #N]" without the right to join case N started this case.
    claims_case_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


class Message(SQLModel, table=True):
    """One mail in or out, with its raw bytes exactly as received or sent."""

    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("fingerprint", name="uq_messages_fingerprint"),
                      Index("ix_messages_from_received", "from_addr", "received_at"))

    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = Field(default=None, foreign_key="cases.id", index=True)
    direction: str = Field(default="in", max_length=3)
    fingerprint: str = Field(max_length=64)
    message_id: str | None = Field(default=None, index=True, sa_type=CleanString(998))
    in_reply_to: str | None = Field(default=None, sa_type=CleanString(998))
    subject: str = Field(default="", sa_column=_text())
    from_addr: str = Field(default="", sa_type=CleanString(320))
    source: str = Field(default="cli", max_length=20)  # smtp | imap | cli | outbox
    mailbox: str | None = Field(default=None, max_length=500)
    uidvalidity: int | None = Field(default=None, sa_column=Column(BigInteger))
    uid: int | None = Field(default=None, sa_column=Column(BigInteger))
    size: int = 0
    kind: str | None = Field(default=None, max_length=20)
    processed: bool = Field(default=False, index=True)
    error: str | None = Field(default=None, sa_column=_text(nullable=True, default=None))
    received_at: datetime = Field(sa_column=_ts(nullable=False))
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Draft(SQLModel, table=True):
    """A version of the reply. Version 1 is the machine draft; edits add versions."""

    __tablename__ = "drafts"
    __table_args__ = (UniqueConstraint("case_id", "version", name="uq_drafts_case_version"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    version: int = 1
    author: str = Field(default="system", max_length=320)
    body_text: str = Field(sa_column=_text(default=None))
    body_html: str = Field(default="", sa_column=_text())
    kb_version: str = Field(default="", max_length=100)
    analysis_json: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    created_at: datetime = Field(sa_column=_ts(nullable=False))


class AuditEvent(SQLModel, table=True):
    """Who moved a case from which status to which, when and why."""

    __tablename__ = "audit_events"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    at: datetime = Field(sa_column=_ts(nullable=False))
    actor: str = Field(max_length=320)
    action: str = Field(max_length=40)
    from_status: str | None = Field(default=None, max_length=20)
    to_status: str | None = Field(default=None, max_length=20)
    reason: str = Field(default="", sa_column=_text())


class Reopen(SQLModel, table=True):
    """An inbound mail that brought an answered case back to the queue.

    Counted per verified sender (a reply token, or an Authentication-Results pass from the
    case's sender); every unverified mail shares one count, so forged mail cannot use up the
    genuine sender's reopens (CONSULT_MAX_REOPENS applies to each)."""

    __tablename__ = "reopens"
    __table_args__ = (Index("ix_reopens_case_sender", "case_id", "sender"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id")
    #: the verified sender's address; "" for every unverified mail
    sender: str = Field(default="", sa_type=CleanString(320))
    message_id: int | None = Field(default=None, foreign_key="messages.id")
    at: datetime = Field(sa_column=_ts(nullable=False))


class MailboxState(SQLModel, table=True):
    """Where the IMAP poller is in one mailbox: UIDVALIDITY and the last UID committed."""

    __tablename__ = "mailbox_state"

    id: int | None = Field(default=None, primary_key=True)
    mailbox: str = Field(unique=True, max_length=500)
    uidvalidity: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_uid: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    updated_at: datetime = Field(sa_column=_ts(nullable=False))


class Lease(SQLModel, table=True):
    """Who does a piece of shared work (a mailbox, the stored mail on SQLite) until when.

    A holder renews its row well before ``expires_at``; a dead holder's row simply expires, and
    the next worker to try takes it over (``workers.leases``).
    """

    __tablename__ = "leases"

    name: str = Field(primary_key=True, max_length=500)
    holder: str = Field(max_length=200)
    acquired_at: datetime = Field(sa_column=_ts(nullable=False))
    expires_at: datetime = Field(sa_column=_ts(nullable=False))


class Outbox(SQLModel, table=True):
    """A reply waiting for the sender worker (mail is never sent from a web request)."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    draft_id: int = Field(foreign_key="drafts.id")
    message_id: str = Field(max_length=998)
    to_addr: str = Field(sa_type=CleanString(320))
    #: pending | sending (claimed by ``claimed_by`` until ``lease_until``) | sent | failed
    status: str = Field(default="pending", max_length=20)
    claimed_by: str | None = Field(default=None, max_length=200)
    lease_until: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=_text(nullable=True, default=None))
    created_at: datetime = Field(sa_column=_ts(nullable=False))
    next_attempt_at: datetime = Field(sa_column=_ts(nullable=False))
    deadline: datetime = Field(sa_column=_ts(nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    #: None or "reply": the approved answer; "ask_info": a question to the sender.
    purpose: str | None = Field(default=None, max_length=20)
    #: For a reply: unified diff of the sent text against the case's first (machine) draft.
    diff_text: str | None = Field(default=None, sa_column=_text(nullable=True, default=None))


class User(SQLModel, table=True):
    """A person who may use the review UI and API: a reviewer or an admin.

    Only an argon2 hash of the password is kept; ``api_token_hash`` is the SHA-256 of the user's
    API token (the token itself is shown once, by `consult user token`).
    """

    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True, max_length=320)
    role: str = Field(default="reviewer", max_length=20)  # reviewer | admin
    password_hash: str = Field(sa_column=_text(default=None))
    api_token_hash: str | None = Field(default=None, unique=True, max_length=64)
    active: bool = True
    created_at: datetime = Field(sa_column=_ts(nullable=False))


class WebSession(SQLModel, table=True):
    """A logged-in browser. The cookie holds a random token; only its SHA-256 is stored here, so
    logging out (deleting the row) ends the session everywhere and a DB leak gives no cookies."""

    __tablename__ = "web_sessions"

    id: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="users.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=_ts(nullable=False))
    expires_at: datetime = Field(sa_column=_ts(nullable=False))


class LoginAttempt(SQLModel, table=True):
    """One failed login, counted per address and per client IP to rate-limit guessing."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_email_at", "email", "at"),
                      Index("ix_login_attempts_ip_at", "ip", "at"))

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320)
    ip: str = Field(max_length=64)
    at: datetime = Field(sa_column=_ts(nullable=False))
