"""The IMAP poller: take in every mail above the last UID committed, exactly once.

It never relies on UNSEEN (another client may have read the mail) or on "the last N". Per mailbox
it keeps UIDVALIDITY and the last UID in the database, in the same transaction as the cases those
mails became; only after that commit are the mails moved to the processed folder (or flagged).
A UIDVALIDITY change restarts from UID 1, and the content fingerprint keeps it from duplicating.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from imapclient import IMAPClient
from imapclient.exceptions import LoginError
from sqlalchemy.engine import Engine
from sqlmodel import select

from consult.config import Settings
from consult.errors import AuthenticationError, MailboxError
from consult.intake import IntakeResult, ingest
from consult.kb.store import KnowledgeBase
from db.engine import session as new_session
from db.models import MailboxState

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
ClientFactory = Callable[[Settings], IMAPClient]
PROCESSED_FLAG = b"$ConsultProcessed"
FETCH_CHUNK = 200


def default_client_factory(settings: Settings) -> IMAPClient:
    """Connect and log in. TLS or STARTTLS fail closed: no silent fall back to plaintext."""
    mode = settings.imap_ssl
    context = ssl.create_default_context()
    try:
        client = IMAPClient(settings.imap_host, port=settings.imap_port, ssl=mode == "tls",
                            ssl_context=context if mode == "tls" else None, timeout=60)
        if mode == "starttls":
            client.starttls(context)
    except (OSError, ssl.SSLError) as exc:
        raise MailboxError(
            f"Cannot open a {'TLS' if mode != 'none' else 'plain'} IMAP connection to "
            f"{settings.imap_host}:{settings.imap_port}: {exc}"
        ) from exc
    except IMAPClient.Error as exc:
        raise MailboxError(f"{settings.imap_host} refused STARTTLS ({exc}); not falling back "
                           "to plaintext. Check CONSULT_IMAP_SSL.") from exc
    try:
        client.login(settings.imap_user, settings.imap_password.get_secret_value())
    except LoginError as exc:
        raise AuthenticationError(
            f"IMAP login as {settings.imap_user} at {settings.imap_host} was refused; fix "
            "CONSULT_IMAP_USER / CONSULT_IMAP_PASSWORD (retrying will not help)."
        ) from exc
    return client


@dataclass
class PollReport:
    """How many mails became cases, follow-ups, quarantined or were already known."""

    cases: int = 0
    followups: int = 0
    quarantined: int = 0
    duplicates: int = 0
    results: list[IntakeResult] = field(default_factory=list)

    def add(self, result: IntakeResult) -> None:
        self.results.append(result)
        if result.outcome == "case":
            self.cases += 1
        elif result.outcome == "followup":
            self.followups += 1
        elif result.outcome == "quarantined":
            self.quarantined += 1
        else:
            self.duplicates += 1

    def summary(self) -> str:
        return (f"{self.cases} new cases, {self.followups} follow-ups, "
                f"{self.quarantined} quarantined, {self.duplicates} duplicates")


class ImapPoller:
    """Polls one folder of one IMAP account; ``run_once`` takes in everything new."""

    def __init__(self, settings: Settings, engine: Engine, kb: KnowledgeBase, *, clock: Clock,
                 client_factory: ClientFactory = default_client_factory) -> None:
        self.settings = settings
        self.engine = engine
        self.kb = kb
        self.clock = clock
        self.client_factory = client_factory

    @property
    def mailbox_key(self) -> str:
        s = self.settings
        return f"{s.imap_user}@{s.imap_host}:{s.imap_port}/{s.imap_folder}"

    def run_once(self) -> PollReport:
        report = PollReport()
        client = self.client_factory(self.settings)
        try:
            self._poll(client, report)
        finally:
            try:
                client.logout()
            except Exception:  # the connection may already be gone
                pass
        return report

    def _poll(self, client: IMAPClient, report: PollReport) -> None:
        folder = self.settings.imap_folder
        info = client.select_folder(folder)
        uidvalidity = int(info[b"UIDVALIDITY"])
        with new_session(self.engine) as s:
            state = s.exec(select(MailboxState).where(MailboxState.mailbox == self.mailbox_key)
                           ).first()
            if state is None:
                state = MailboxState(mailbox=self.mailbox_key, uidvalidity=uidvalidity,
                                     last_uid=0, updated_at=self.clock())
            elif state.uidvalidity != uidvalidity:
                log.warning("%s: UIDVALIDITY changed %s -> %s; resyncing from UID 1 "
                            "(fingerprints prevent duplicates)", self.mailbox_key,
                            state.uidvalidity, uidvalidity)
                state.uidvalidity = uidvalidity
                state.last_uid = 0
            last_uid = state.last_uid
        uids = sorted(u for u in client.search(["UID", f"{last_uid + 1}:*"]) if u > last_uid)
        for start in range(0, len(uids), FETCH_CHUNK):
            chunk = uids[start:start + FETCH_CHUNK]
            fetched = client.fetch(chunk, [b"BODY.PEEK[]"])
            with new_session(self.engine) as s:
                for uid in chunk:
                    data = fetched.get(uid)
                    if not data or b"BODY[]" not in data:
                        continue  # expunged meanwhile by another client
                    raw = bytes(data[b"BODY[]"])
                    report.add(ingest(s, raw, self.kb, self.settings, source="imap",
                                      now=self.clock(), mailbox=self.mailbox_key,
                                      uidvalidity=uidvalidity, uid=uid))
                state = s.exec(select(MailboxState).where(
                    MailboxState.mailbox == self.mailbox_key)).first() or state
                state.uidvalidity = uidvalidity
                state.last_uid = max(chunk)
                state.updated_at = self.clock()
                s.add(state)
                s.commit()
            self._mark_processed(client, chunk)

    def _mark_processed(self, client: IMAPClient, uids: list[int]) -> None:
        """After the commit: move to the processed folder, or flag when none is configured."""
        target = self.settings.imap_processed_folder
        try:
            if not target:
                client.add_flags(uids, [PROCESSED_FLAG])
                return
            if not client.folder_exists(target):
                client.create_folder(target)
            if client.has_capability("MOVE"):
                client.move(uids, target)
            else:
                client.copy(uids, target)
                client.delete_messages(uids)
                if client.has_capability("UIDPLUS"):
                    client.uid_expunge(uids)
                else:
                    client.expunge()
        except IMAPClient.Error as exc:
            # the DB already has them; they stay in the folder but are above last_uid no more
            log.warning("could not move processed mail out of %s: %s", self.settings.imap_folder,
                        exc)
