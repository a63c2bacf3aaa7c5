"""The outbox sender: delivers approved replies by SMTP, or into a local Maildir by default.

Temporary failures (4xx, connection trouble) are retried with backoff until the row's deadline;
permanent refusals (5xx) fail at once. Both are written to the case's audit trail.
"""

from __future__ import annotations

import logging
import mailbox
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from consult import cases
from consult.config import Settings
from consult.errors import DeliveryError
from consult.mail.fingerprint import fingerprint
from db.engine import session as new_session
from db.models import Case, Message, Outbox

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
SmtpFactory = Callable[[Settings], smtplib.SMTP]


def default_smtp_factory(settings: Settings) -> smtplib.SMTP:
    """Connect to the relay; STARTTLS failing is an error, never a fall back to plaintext."""
    if settings.smtp_ssl:
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=30,
            context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30)
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


@dataclass
class SendReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0


class Sender:
    """Delivers due outbox rows. ``run_once`` is what the scheduler and tests call."""

    def __init__(self, settings: Settings, engine: Engine, *, clock: Clock,
                 smtp_factory: SmtpFactory = default_smtp_factory) -> None:
        self.settings = settings
        self.engine = engine
        self.clock = clock
        self.smtp_factory = smtp_factory

    def _deliver(self, row: Outbox) -> None:
        if not self.settings.smtp_host:
            self.settings.outbox_maildir.parent.mkdir(parents=True, exist_ok=True)
            box = mailbox.Maildir(self.settings.outbox_maildir, create=True)
            box.add(row.raw)
            return
        try:
            client = self.smtp_factory(self.settings)
        except DeliveryError:
            raise
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"cannot reach {self.settings.smtp_host}: {exc}") from exc
        try:
            client.sendmail(self.settings.from_address, [row.to_addr], row.raw)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [c for c, _m in exc.recipients.values()]
            raise DeliveryError(f"recipient refused: {exc.recipients}",
                                permanent=all(c >= 500 for c in codes)) from exc
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"relay said {exc.smtp_code} {exc.smtp_error!r}",
                                permanent=exc.smtp_code >= 500) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"delivery interrupted: {exc}") from exc
        finally:
            try:
                client.quit()
            except Exception:
                client.close()

    def run_once(self, limit: int = 50) -> SendReport:
        report = SendReport()
        now = self.clock()
        with new_session(self.engine) as s:
            due = list(s.exec(
                select(Outbox).where(Outbox.status == "pending",
                                     col(Outbox.next_attempt_at) <= now)
                .order_by(col(Outbox.id)).limit(limit)
            ))
            for row in due:
                case = s.get(Case, row.case_id)
                assert case is not None
                try:
                    self._deliver(row)
                except DeliveryError as exc:
                    row.attempts += 1
                    row.last_error = str(exc)
                    give_up = exc.permanent or now >= _aware(row.deadline, now)
                    if give_up:
                        row.status = "failed"
                        report.failed += 1
                        cases.note(s, case, actor="sender", action="send_failed", now=now,
                                   reason=str(exc))
                        if case.status == "approved":
                            cases.move(s, case, "awaiting_review", actor="sender",
                                       action="send_failed", now=now,
                                       reason="delivery failed permanently; check the address")
                    else:
                        delay = min(3600, 30 * 2 ** min(row.attempts, 7))
                        row.next_attempt_at = now + timedelta(seconds=delay)
                        report.retried += 1
                        log.warning("outbox #%s: temporary failure, retry in %ss: %s",
                                    row.id, delay, exc)
                    s.add(row)
                    s.commit()
                    continue
                row.status = "sent"
                row.sent_at = now
                row.attempts += 1
                s.add(row)
                s.add(Message(
                    case_id=row.case_id, direction="out", fingerprint=fingerprint(row.raw),
                    message_id=row.message_id, subject=case.subject, from_addr=self.settings
                    .from_address, source="outbox", size=len(row.raw), kind="reply",
                    processed=True, received_at=now, raw=row.raw,
                ))
                if case.status == "approved":
                    cases.move(s, case, "sent", actor="sender", action="sent", now=now,
                               reason=f"to {row.to_addr} as <{row.message_id}>")
                s.commit()
                report.sent += 1
        return report


def _aware(value: datetime, like: datetime) -> datetime:
    """SQLite returns naive datetimes; compare them as UTC."""
    if value.tzinfo is None and like.tzinfo is not None:
        return value.replace(tzinfo=like.tzinfo)
    return value
