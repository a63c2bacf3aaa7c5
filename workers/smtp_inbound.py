"""The embedded SMTP listener (aiosmtpd): store the raw bytes durably, then answer 250.

``handle_DATA`` does only the durable write; parsing and drafting happen afterwards in the intake
processor, so a slow or failing parse never makes a client wait or lose mail. The write runs in
a thread (``run_in_executor``): the event loop that greets every other client never waits on the
database, so a heavy mail or a busy database delays no one's ``220``. A failed write answers 451
(the client retries); an unknown recipient gets 550; a sender over its storage quota gets 452
(the client's server keeps the mail and retries later).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.engine import Engine

from consult import metrics
from consult.config import Settings
from consult.errors import QuotaExceeded
from consult.intake import check_quota, store_raw
from consult.mail.parse import parse_headers
from db.engine import session as new_session

log = logging.getLogger(__name__)
#: Threads writing inbound mail (SQLite serialises them anyway; PostgreSQL does not).
STORE_THREADS = 4


class InboundHandler:
    """aiosmtpd handler: ``handle_RCPT`` checks the recipient, ``handle_DATA`` stores."""

    def __init__(self, settings: Settings, engine: Engine, *, clock: Callable[[], datetime],
                 on_stored: Callable[[], None] | None = None) -> None:
        self.settings = settings
        self.engine = engine
        self.clock = clock
        self.on_stored = on_stored
        self.executor = ThreadPoolExecutor(STORE_THREADS, thread_name_prefix="smtp-store")

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        accepted = self.settings.accepted_recipients
        if accepted and address.lower() not in accepted:
            return "550 5.1.1 No such consultation mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    def store(self, raw: bytes, envelope_sender: str) -> None:
        """The durable write (in a worker thread): quota check, then the raw bytes."""
        sender = (parse_headers(raw).from_addr or envelope_sender or "").lower()[:320]
        now = self.clock()
        with new_session(self.engine) as s:
            check_quota(s, sender, len(raw), self.settings, now=now)
            _, created = store_raw(s, raw, source="smtp", now=now, sender=sender)
            s.commit()
        if created:
            metrics.mail_stored("smtp")

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        if raw is None:
            return "554 5.6.0 No message content"
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        if len(raw) > self.settings.max_message_bytes * 2:
            return "552 5.3.4 Message too big for this service"
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self.executor, self.store, raw, envelope.mail_from or "")
        except QuotaExceeded as exc:
            log.warning("inbound mail refused: %s", exc)
            return "452 4.2.2 Too much mail from this sender today; try again later"
        except Exception:
            log.exception("could not store inbound mail; asking the client to retry")
            return "451 4.3.0 Could not store the message; try again later"
        if self.on_stored:
            self.on_stored()
        return "250 2.0.0 Message accepted for consultation"

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=False)


class InboundController(Controller):
    """aiosmtpd's controller that also stops the handler's store threads."""

    def stop(self, *args: Any, **kwargs: Any) -> None:
        super().stop(*args, **kwargs)
        if isinstance(self.handler, InboundHandler):
            self.handler.close()


def start_listener(settings: Settings, engine: Engine, *, clock: Callable[[], datetime],
                   on_stored: Callable[[], None] | None = None) -> Controller:
    """Start the listener on CONSULT_LISTEN_SMTP in its own thread; ``.stop()`` ends it."""
    host, port = settings.smtp_listen
    handler = InboundHandler(settings, engine, clock=clock, on_stored=on_stored)
    controller = InboundController(handler, hostname=host, port=port,
                                   data_size_limit=settings.max_message_bytes * 2)
    controller.start()
    log.info("SMTP listener on %s:%s", host, port)
    return controller
