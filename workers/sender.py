"""The outbox sender: delivers approved replies by SMTP, or into a local Maildir by default.

No row can block the others: every error of a row (a refusal, a dropped connection, a bug on an
odd address) is caught there, counted as an attempt and written to the row and the case's audit
trail; temporary failures (4xx, connection trouble, anything unexpected) are retried with
exponential backoff until the row's deadline, then it fails; permanent refusals (5xx) and
addresses the relay cannot carry fail at once. A non-ASCII address needs SMTPUTF8: used when the
relay offers it, else that row fails with a clear reason. Each delivery has a socket timeout
(CONSULT_SMTP_TIMEOUT_SECONDS), and after a connection-level failure the run stops (the relay is
down or stalled: the other rows wait for the next run instead of each waiting out the timeout).

Several senders share the outbox (``consult send`` or ``consult serve --role worker`` on several
machines) by claims, never by racing: a run claims due rows (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, then one conditional UPDATE each, which also serialises SQLite) into ``sending``
with its holder and a lease, renews the lease right before each delivery (a row whose lease was
taken over is skipped), and writes ``sent`` or the retry in the same place as before. A reply has
one Message-ID from the moment it is queued (it is in the stored bytes), so every attempt sends
the same message. The one window: a sender that dies after the relay's 250 and before its
commit leaves the row ``sending``; when the lease runs out (``claim_seconds``) another run sends
it again, with the same Message-ID, which receiving systems and mail clients treat as one
message. Nothing is sent twice otherwise.
"""

from __future__ import annotations

import logging
import mailbox
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from consult import cases
from consult.config import Settings
from consult.errors import ConcurrentChange, DeliveryError
from consult.mail.compose import ascii_domain, needs_smtputf8
from consult.mail.fingerprint import fingerprint
from consult.runner import Runner
from db.engine import session as new_session
from db.models import Case, Message, Outbox
from workers.leases import worker_id

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
SmtpFactory = Callable[[Settings], smtplib.SMTP]
#: Seconds between runs (`consult serve`'s scheduler, `consult send` without --once).
SEND_INTERVAL = 5
#: Backoff after the n-th failed attempt: 30 s doubling, at most an hour.
BACKOFF_START, BACKOFF_MAX = 30, 3600


def default_smtp_factory(settings: Settings) -> smtplib.SMTP:
    """Connect to the relay; STARTTLS failing is an error, never a fall back to plaintext."""
    timeout = settings.smtp_timeout_seconds
    if settings.smtp_ssl:
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=timeout,
            context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
        if settings.smtp_starttls:
            client.ehlo()
            if not client.has_extn("starttls"):
                client.close()
                raise DeliveryError(
                    f"{settings.smtp_host} does not offer STARTTLS; refusing to send in "
                    "plaintext. Set CONSULT_SMTP_STARTTLS=false only for a loopback relay."
                )
            client.starttls(context=ssl.create_default_context())
    if settings.smtp_user:
        client.login(settings.smtp_user, settings.smtp_password.get_secret_value())
    return client


class _RelayTrouble(DeliveryError):
    """A temporary failure of the relay itself (unreachable, stalled, dropped, 421): the run
    stops after it, since every other row would meet it too."""


@dataclass
class SendReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    deferred: int = 0  # due rows left for the next run after the relay failed


def envelope_address(addr: str) -> str:
    """The address for RCPT TO: an internationalised domain in its IDNA form."""
    local, sep, domain = addr.rpartition("@")
    return f"{local}{sep}{ascii_domain(domain)}" if sep else addr


def claim_seconds(settings: Settings) -> float:
    """How long a claimed row stays this sender's after its last renewal (renewed right before
    its delivery): longer than one delivery can take, each step bounded by the socket timeout."""
    return 60.0 + 3 * settings.smtp_timeout_seconds


def due(now: datetime) -> ColumnElement[bool]:
    """Rows to send now: pending and due, or claimed by a sender whose lease ran out."""
    return or_(and_(col(Outbox.status) == "pending", col(Outbox.next_attempt_at) <= now),
               and_(col(Outbox.status) == "sending", col(Outbox.lease_until) < now))


def backoff(attempts: int) -> int:
    """Seconds to wait after the ``attempts``-th failed attempt."""
    return min(BACKOFF_MAX, BACKOFF_START * 2 ** min(max(attempts - 1, 0), 12))


class Sender:
    """Delivers due outbox rows. ``run_once`` is what the scheduler and tests call."""

    def __init__(self, settings: Settings, engine: Engine, *, clock: Clock,
                 smtp_factory: SmtpFactory = default_smtp_factory) -> None:
        self.settings = settings
        self.engine = engine
        self.clock = clock
        self.smtp_factory = smtp_factory
        self.holder = worker_id()
        self.lease = timedelta(seconds=claim_seconds(settings))

    # -- one delivery ------------------------------------------------------------------------
    def _deliver(self, row: Outbox) -> None:
        if not self.settings.smtp_host:
            self.settings.outbox_maildir.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            box = mailbox.Maildir(self.settings.outbox_maildir, create=True)
            box.add(row.raw)
            return
        host = self.settings.smtp_host
        try:
            client = self.smtp_factory(self.settings)
        except DeliveryError:
            raise
        except (OSError, smtplib.SMTPException) as exc:
            raise _RelayTrouble(f"cannot reach {host}: {exc}") from exc
        try:
            self._send(client, row)
        finally:
            try:
                client.quit()
            except Exception:
                client.close()

    def _send(self, client: smtplib.SMTP, row: Outbox) -> None:
        host = self.settings.smtp_host
        sender = self.settings.from_address
        options: list[str] = []
        try:
            if needs_smtputf8(row.to_addr) or needs_smtputf8(sender):
                client.ehlo_or_helo_if_needed()
                if not client.has_extn("smtputf8"):
                    raise DeliveryError(
                        f"{row.to_addr} has non-ASCII characters before the @, and the relay "
                        f"{host} does not offer SMTPUTF8, so it cannot carry this address. Ask "
                        "the sender for another address (or use a relay with SMTPUTF8).",
                        permanent=True)
                options.append("SMTPUTF8")
            client.sendmail(envelope_address(sender), [envelope_address(row.to_addr)],
                            row.raw, mail_options=options)
        except DeliveryError:
            raise
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [c for c, _m in exc.recipients.values()]
            raise DeliveryError(f"recipient refused: {exc.recipients}",
                                permanent=all(c >= 500 for c in codes)) from exc
        except smtplib.SMTPResponseException as exc:
            text = f"relay said {exc.smtp_code} {exc.smtp_error!r}"
            if exc.smtp_code == 421:  # the relay is closing: it refuses everyone for now
                raise _RelayTrouble(text) from exc
            raise DeliveryError(text, permanent=exc.smtp_code >= 500) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise _RelayTrouble(f"delivery interrupted: {type(exc).__name__}: {exc}") from exc
        except UnicodeError as exc:
            raise DeliveryError(f"{row.to_addr} cannot be written for this relay: {exc}",
                                permanent=True) from exc

    # -- claims ------------------------------------------------------------------------------
    def claim(self, limit: int) -> list[int]:
        """Claim up to ``limit`` due rows (oldest first) for this sender; their ids."""
        now = self.clock()
        claimed: list[int] = []
        with new_session(self.engine) as s:
            ids = list(s.exec(
                select(Outbox.id).where(due(now))
                .order_by(col(Outbox.next_attempt_at), col(Outbox.id)).limit(limit)
                .with_for_update(skip_locked=True)))
            for row_id in ids:
                won = s.connection().execute(
                    update(Outbox).where(col(Outbox.id) == row_id, due(now))
                    .values(status="sending", claimed_by=self.holder,
                            lease_until=now + self.lease)).rowcount
                if won:
                    claimed.append(row_id)  # type: ignore[arg-type]
            s.commit()
        return claimed

    def _still_ours(self, s: Session, row: Outbox) -> bool:
        """Renew the row's lease right before its delivery; False if another sender took it
        over (its lease ran out while earlier rows of this run were being delivered)."""
        renewed = s.connection().execute(
            update(Outbox).where(col(Outbox.id) == row.id, col(Outbox.status) == "sending",
                                 col(Outbox.claimed_by) == self.holder)
            .values(lease_until=self.clock() + self.lease)).rowcount
        s.commit()
        return bool(renewed)

    def _deliver_claimed(self, s: Session, row: Outbox, skipped: set[int]) -> None:
        if not self._still_ours(s, row):
            log.info("outbox #%s: taken over by another sender; skipped", row.id)
            skipped.add(row.id or 0)
            return
        self._deliver(row)

    # -- the run -----------------------------------------------------------------------------
    def run_once(self, limit: int = 50) -> SendReport:
        """Claim the due rows, then deliver each once (oldest first) in the per-message runner;
        never raises for a row. After a failure of the relay itself the rest are handed back
        for the next run."""
        report = SendReport()
        claimed = self.claim(limit)
        if not claimed:
            return report
        now = self.clock()
        with new_session(self.engine) as s:
            rows = list(s.exec(
                select(Outbox).where(col(Outbox.id).in_(claimed))
                .order_by(col(Outbox.next_attempt_at), col(Outbox.id))))
            skipped: set[int] = set()
            runner: Runner[Outbox, None] = Runner(
                "outbox", handle=lambda row: self._deliver_claimed(s, row, skipped),
                on_success=lambda row, _none: (None if row.id in skipped
                                               else self._sent(s, row, now, report)),
                on_failure=lambda row, exc: self._failed(s, row, exc, now, report),
                label=lambda row: f"outbox #{row.id}",
                stops_run=lambda exc: isinstance(exc, _RelayTrouble),
                expected=(DeliveryError,))
            left = runner.run(rows).left
            if left:
                self._hand_back(s, left)
                report.deferred += len(left)
                log.warning("outbox: the relay failed; %s more due rows wait for the next run",
                            report.deferred)
        return report

    def _hand_back(self, s: Session, rows: list[Outbox]) -> None:
        """Rows this run claimed but did not try (the relay failed): pending again, as due."""
        for row in rows:
            s.connection().execute(
                update(Outbox)
                .where(col(Outbox.id) == row.id, col(Outbox.claimed_by) == self.holder,
                       col(Outbox.status) == "sending")
                .values(status="pending", claimed_by=None, lease_until=None))
        s.commit()

    def _failed(self, s: Session, row: Outbox, exc: Exception, now: datetime,
                report: SendReport) -> None:
        """Count the attempt; retry a temporary failure (anything unexpected counts as one)
        until the row's deadline, fail a permanent one now."""
        permanent = isinstance(exc, DeliveryError) and exc.permanent
        text = str(exc) if isinstance(exc, DeliveryError) else (
            f"unexpected {type(exc).__name__}: {exc}")
        row.attempts += 1
        row.last_error = text[:2000]
        row.claimed_by, row.lease_until = None, None
        give_up = permanent or now >= _aware(row.deadline, now)
        case = s.get(Case, row.case_id)
        if give_up:
            row.status = "failed"
            report.failed += 1
            if case is not None:
                cases.note(s, case, actor="sender", action="send_failed", now=now, reason=text)
                if case.status == "approved":
                    self._move(s, case, "awaiting_review", "send_failed", now,
                               "delivery failed permanently; check the address")
        else:
            delay = backoff(row.attempts)
            row.status = "pending"
            row.next_attempt_at = now + timedelta(seconds=delay)
            report.retried += 1
            log.warning("outbox #%s: temporary failure, retry in %ss: %s", row.id, delay, text)
        s.add(row)
        s.commit()

    def _sent(self, s: Session, row: Outbox, now: datetime, report: SendReport) -> None:
        row.status = "sent"
        row.sent_at = now
        row.attempts += 1
        row.claimed_by, row.lease_until = None, None
        s.add(row)
        case = s.get(Case, row.case_id)
        try:  # a resend after a crash before this commit finds no row; anything else: keep one
            with s.begin_nested():
                s.add(Message(
                    case_id=row.case_id, direction="out", fingerprint=fingerprint(row.raw),
                    message_id=row.message_id, subject=case.subject if case else "",
                    from_addr=self.settings.from_address, source="outbox", size=len(row.raw),
                    kind="reply", processed=True, received_at=now, raw=row.raw,
                ))
        except IntegrityError:
            log.warning("outbox #%s: the sent mail was recorded already", row.id)
        if case is not None and case.status == "approved":
            self._move(s, case, "sent", "sent", now, f"to {row.to_addr} as <{row.message_id}>")
        s.commit()
        report.sent += 1

    def _move(self, s: Session, case: Case, to: str, action: str, now: datetime,
              reason: str) -> None:
        """Move the case; a reviewer who moved it at the same moment wins (the row stands)."""
        try:
            with s.begin_nested():
                cases.move(s, case, to, actor="sender", action=action, now=now, reason=reason)
        except ConcurrentChange:
            s.refresh(case)
            cases.note(s, case, actor="sender", action=action, now=now, reason=reason)


def _aware(value: datetime, like: datetime) -> datetime:
    """SQLite returns naive datetimes; compare them as UTC."""
    if value.tzinfo is None and like.tzinfo is not None:
        return value.replace(tzinfo=like.tzinfo)
    return value
