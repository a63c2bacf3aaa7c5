"""The embedded SMTP listener (aiosmtpd): store the raw bytes durably, then answer 250.

``handle_DATA`` does only the durable write; parsing and drafting happen afterwards in the intake
processor, so a slow or failing parse never makes a client wait or lose mail. A failed write
answers 451 (the client retries); an unknown recipient gets 550.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.engine import Engine

from consult.config import Settings
from consult.intake import store_raw
from db.engine import session as new_session

log = logging.getLogger(__name__)


class InboundHandler:
    """aiosmtpd handler: ``handle_RCPT`` checks the recipient, ``handle_DATA`` stores."""

    def __init__(self, settings: Settings, engine: Engine, *, clock: Callable[[], datetime],
                 on_stored: Callable[[], None] | None = None) -> None:
        self.settings = settings
        self.engine = engine
        self.clock = clock
        self.on_stored = on_stored
        self._lock = threading.Lock()

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        accepted = self.settings.accepted_recipients
        if accepted and address.lower() not in accepted:
            return "550 5.1.1 No such consultation mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        if raw is None:
            return "554 5.6.0 No message content"
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        if len(raw) > self.settings.max_message_bytes * 2:
            return "552 5.3.4 Message too big for this service"
        try:
            with self._lock, new_session(self.engine) as s:
                store_raw(s, raw, source="smtp", now=self.clock())
                s.commit()
        except Exception:
            log.exception("could not store inbound mail; asking the client to retry")
            return "451 4.3.0 Could not store the message; try again later"
        if self.on_stored:
            self.on_stored()
        return "250 2.0.0 Message accepted for consultation"


def start_listener(settings: Settings, engine: Engine, *, clock: Callable[[], datetime],
                   on_stored: Callable[[], None] | None = None) -> Controller:
    """Start the listener on CONSULT_LISTEN_SMTP in its own thread; ``.stop()`` ends it."""
    host, port = settings.smtp_listen
    handler = InboundHandler(settings, engine, clock=clock, on_stored=on_stored)
    controller = Controller(handler, hostname=host, port=port,
                            data_size_limit=settings.max_message_bytes * 2)
    controller.start()
    log.info("SMTP listener on %s:%s", host, port)
    return controller
