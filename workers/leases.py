"""Leases: one worker at a time does a piece of shared work (a mailbox), others stand by.

A lease is a row of ``leases`` (name, holder, expiry), taken with one conditional UPDATE (or an
INSERT the primary key lets only one worker win), renewed by a keeper thread every third of its
length, and released on a clean stop. A worker that dies (SIGKILL, a lost machine) stops
renewing: its row expires and the next worker to try takes the work over, so a mailbox is
without an owner for at most ``lease_seconds`` plus one retry. Rows, not PostgreSQL advisory
locks: they work the same on SQLite (one machine) and let any replica show who holds what.

A worker on the same machine as a killed holder (same host and PID namespace) sees that the
holder's process is gone and takes over at once; elsewhere the expiry decides.

Holders compare expiry times on their own clocks: keep the workers' clocks in sync (NTP). A
holder that stalls longer than its lease (a frozen VM) may overlap with its successor for a
moment; the intake's content fingerprint and (UIDVALIDITY, UID) keys keep that from losing or
doubling mail, at the price of a warning.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from consult.clock import utcnow
from db.models import Lease

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
_TABLE = Lease.__table__  # type: ignore[attr-defined]


def this_machine() -> str:
    """The host and its PID namespace: where a holder's pid means this machine's process."""
    try:
        namespace = str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        namespace = "?"
    return f"{socket.gethostname()[:100]}/{namespace}"


def worker_id() -> str:
    """This process's name as a holder: machine, pid and a random tag (pids are reused)."""
    return _ID or _make_id()


def _make_id() -> str:
    global _ID
    _ID = f"{this_machine()}:{os.getpid()}:{secrets.token_hex(3)}"
    return _ID


def dead_here(holder: str) -> bool:
    """Whether ``holder`` was a process of this machine that no longer exists (killed): its
    lease can be taken at once instead of after the expiry. A pid reused since counts as alive
    (the safe side); a holder elsewhere is never judged."""
    machine, _, rest = holder.rpartition(":")[0].rpartition(":")
    if machine != this_machine() or not rest.isdigit():
        return False
    try:
        os.kill(int(rest), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


_ID = ""
os.register_at_fork(after_in_child=lambda: globals().update(_ID=""))


def try_take(engine: Engine, name: str, holder: str, *, now: datetime,
             seconds: float) -> bool:
    """Take (or extend) the lease ``name`` for ``holder`` unless someone else holds it."""
    until = now + timedelta(seconds=seconds)
    with engine.begin() as conn:
        got = conn.execute(
            update(_TABLE).where(_TABLE.c.name == name,
                                 or_(_TABLE.c.expires_at < now, _TABLE.c.holder == holder))
            .values(holder=holder, acquired_at=now, expires_at=until)).rowcount
        if got:
            return True
        current = conn.execute(select(_TABLE.c.holder).where(_TABLE.c.name == name)).scalar()
        if current is not None and dead_here(current):
            log.info("lease %s: its holder's process is gone; taking it over", name)
            return bool(conn.execute(
                update(_TABLE).where(_TABLE.c.name == name, _TABLE.c.holder == current)
                .values(holder=holder, acquired_at=now, expires_at=until)).rowcount)
        if current is not None:
            return False
        try:
            with conn.begin_nested():
                conn.execute(insert(_TABLE).values(name=name, holder=holder, acquired_at=now,
                                                   expires_at=until))
        except IntegrityError:
            return False  # a live holder's row, or a rival inserted it first
    return True


def renew(engine: Engine, name: str, holder: str, *, now: datetime, seconds: float) -> bool:
    """Push the expiry on; False when the lease is no longer ours (it expired and was taken)."""
    with engine.begin() as conn:
        return bool(conn.execute(
            update(_TABLE).where(_TABLE.c.name == name, _TABLE.c.holder == holder)
            .values(expires_at=now + timedelta(seconds=seconds))).rowcount)


def release(engine: Engine, name: str, holder: str) -> None:
    """Give the lease up now, so a standby takes over without waiting for the expiry."""
    with engine.begin() as conn:
        conn.execute(delete(_TABLE).where(_TABLE.c.name == name, _TABLE.c.holder == holder))


def holders(engine: Engine) -> dict[str, tuple[str, datetime]]:
    """Every lease row: name -> (holder, expiry)."""
    with engine.connect() as conn:
        return {name: (holder, expires) for name, holder, expires in conn.execute(
            select(_TABLE.c.name, _TABLE.c.holder, _TABLE.c.expires_at))}


@dataclass
class HeldLease:
    """A lease this process holds, renewed by a thread until ``release``. ``lost`` is set when
    a renewal finds the row taken by another worker (or the lease ran out while the database
    was unreachable): stop the work at the next safe point."""

    engine: Engine
    name: str
    holder: str
    seconds: float
    clock: Clock
    lost: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> HeldLease:
        self._thread = threading.Thread(target=self._keep, name=f"lease {self.name}",
                                        daemon=True)
        self._thread.start()
        return self

    def _keep(self) -> None:
        expires = self.clock() + timedelta(seconds=self.seconds)
        while not self._stop.wait(self.seconds / 3):
            now = self.clock()
            try:
                if not renew(self.engine, self.name, self.holder, now=now, seconds=self.seconds):
                    log.warning("lease %s was taken over by another worker", self.name)
                    self.lost.set()
                    return
                expires = now + timedelta(seconds=self.seconds)
            except SQLAlchemyError as exc:
                log.warning("lease %s: renewal failed (%s)", self.name, type(exc).__name__)
                if now >= expires:
                    self.lost.set()
                    return

    def release(self) -> None:
        """Stop renewing and give the lease up (a failure here just lets it expire)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)
        if not self.lost.is_set():
            try:
                release(self.engine, self.name, self.holder)
            except SQLAlchemyError as exc:
                log.warning("lease %s: release failed (%s); it expires by itself",
                            self.name, type(exc).__name__)

    def __enter__(self) -> HeldLease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def hold(engine: Engine, name: str, *, seconds: float, clock: Clock = utcnow,
         holder: str | None = None) -> HeldLease | None:
    """The lease ``name``, held and renewed until released; None while another worker has it.
    ``clock``: the wall clock (not a test's frozen one: a lease is about real time)."""
    who = holder or worker_id()
    if not try_take(engine, name, who, now=clock(), seconds=seconds):
        return None
    return HeldLease(engine, name, who, seconds, clock).start()


def mailbox_lease(key: str) -> str:
    """The lease name of a mailbox (``ImapAccount.mailbox_key``: account and folder)."""
    return f"mailbox {key}"[:500]


class LeaseLost(Exception):
    """Another worker took over the lease: stop this work (what was committed stands)."""
