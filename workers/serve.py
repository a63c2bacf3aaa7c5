"""`consult serve`: the whole service in one process on the embedded default, or one role of it.

The SMTP listener runs in its own thread (aiosmtpd), the workers on the scheduler's threads, and
the review web app in uvicorn on the main thread; the app's lifespan starts and stops the rest.

``--role`` splits it for several instances on one PostgreSQL (``ROLES``): ``web`` serves the
review app and API only (stateless: sessions are rows, so any replica answers any request);
``worker`` runs the SMTP listener, the IMAP watchers, the processor and the sender, and serves
only /healthz, /readyz and /metrics; ``all`` (the default) is both. Workers share the work:
mailboxes by lease (``workers.leases``), stored mail and the outbox by claims.
"""

from __future__ import annotations

import logging
import smtplib
import threading
import time
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

import uvicorn
from sqlalchemy.engine import Engine

from consult.clock import utcnow
from consult.config import Settings
from consult.errors import ConfigError
from consult.kb.store import KnowledgeBase
from consult.metrics import MailboxWatch
from consult.web.app import create_app
from workers.analysis_pool import AnalysisPool, Budget
from workers.scheduler import build_scheduler
from workers.smtp_inbound import start_listener

if TYPE_CHECKING:
    from aiosmtpd.controller import Controller

    from workers.imap_idle import WatcherGroup

log = logging.getLogger(__name__)


def demo_mails() -> list[bytes]:
    """The demo consultations shipped with the project (written by the project)."""
    folder = resources.files("consult").joinpath("demo")
    return [p.read_bytes() for p in sorted(folder.iterdir(), key=lambda p: p.name)
            if p.name.endswith(".eml")]


def deliver_demo(settings: Settings) -> int:
    """Send the demo mails through our own SMTP listener, as a coder's mail client would."""
    host, port = settings.smtp_listen
    mails = demo_mails()
    with smtplib.SMTP(host, port, timeout=30) as smtp:
        for raw in mails:
            smtp.sendmail("demo@example.org", [settings.from_address], raw)
    return len(mails)


DEMO_USER = "reviewer@localhost"


def ensure_demo_user(engine: Engine) -> str | None:
    """With no accounts yet, create a demo admin and return its one-time password."""
    import secrets

    from sqlmodel import func, select

    from consult.accounts import add_user
    from db.engine import session as new_session
    from db.models import User

    with new_session(engine) as s:
        if s.exec(select(func.count()).select_from(User)).one():
            return None
        password = secrets.token_urlsafe(12)
        add_user(s, DEMO_USER, password, role="admin", now=utcnow())
        s.commit()
    return password


def _next_steps(settings: Settings, count: int, password: str | None) -> str:
    host, port = settings.http_listen
    shost, sport = settings.smtp_listen
    login = (f"log in as {DEMO_USER} / {password}  (made for this demo; "
             "`consult user add EMAIL --role reviewer` adds real accounts)"
             if password else "log in with an account made by `consult user add`")
    return f"""
  Delivered {count} demo consultation mails through the SMTP listener.

  Review queue:   http://{host}:{port}/
                  {login}
  In a terminal:  .venv/bin/consult queue          (list the cases)
                  .venv/bin/consult show 1         (findings and the draft)
                  .venv/bin/consult approve 1      (queue the reply; the sender delivers it)
                  .venv/bin/consult outbox         (replies go to {settings.outbox_maildir}
                                                    until CONSULT_SMTP_HOST is set)
  Send your own:  swaks --server {shost}:{sport} --to {settings.from_address} \\
                        --header 'Subject: 43239 with 43235?' --body 'Modifier 59 ok?'
  Stop with Ctrl-C.
"""


def uvicorn_config(settings: Settings, app: object) -> uvicorn.Config:
    """How serve runs the web app: uvicorn logs through our (redacting) root handler, and
    X-Forwarded-For/-Proto are trusted only from CONSULT_FORWARDED_ALLOW_IPS (default: no one,
    so a client on the same host cannot pick the IP the login limits count)."""
    host, port = settings.http_listen
    trusted = settings.forwarded_allow_ips.strip()
    return uvicorn.Config(app, host=host, port=port, log_config=None,  # type: ignore[arg-type]
                          log_level=settings.log_level.lower(), access_log=True,
                          proxy_headers=bool(trusted), forwarded_allow_ips=trusted or "")


def check_secret(settings: Settings, *, demo: bool) -> None:
    """Outside --demo, CONSULT_SECRET_KEY is required: reply tokens and login forms need a key
    that survives a restart (a random one would orphan every reply address sent)."""
    if not demo and not settings.secret_key.get_secret_value():
        raise ConfigError(
            "CONSULT_SECRET_KEY is not set. It signs the reply addresses and login forms; set "
            "it to a long random value (e.g. `python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))'`), or run `consult serve --demo` to try it out.")


#: What `consult serve --role` accepts: all (the embedded default), web, worker.
ROLES = ("all", "web", "worker")


@dataclass
class Running:
    """What serve started beside the web app, stopped with it."""

    smtp: Controller | None = None
    imap: WatcherGroup | None = None


def serve(settings: Settings, engine: Engine, kb: KnowledgeBase, *, demo: bool = False,
          role: str = "all") -> None:
    from consult.logs import configure
    from consult.private import make_private

    if role not in ROLES:
        raise ConfigError(f"--role {role!r}: choose one of {', '.join(ROLES)}")
    if demo and role != "all":
        raise ConfigError("--demo needs the whole service in one process: leave --role out "
                          "(or use --role all)")
    make_private(settings.home)
    configure(settings.log_level)
    check_secret(settings, demo=demo)
    if role == "web":
        app = create_app(settings, engine, kb=kb)
        uvicorn.Server(uvicorn_config(settings, app)).run()
        return
    pool = (AnalysisPool(kb.path, workers=settings.analysis_workers,
                         budget=Budget.from_settings(settings))
            if settings.analysis_workers > 0 else None)
    scheduler, processor = build_scheduler(settings, engine, kb, clock=utcnow, pool=pool)
    running = Running()

    def start() -> None:
        if pool is not None:
            pool.warm_up()
        running.smtp = start_listener(settings, engine, clock=utcnow, on_stored=processor.wake)
        scheduler.start()
        if settings.imap_all_accounts and settings.imap_idle:
            from workers.imap_idle import start_watchers

            running.imap = start_watchers(settings, engine, kb, clock=utcnow, pool=pool)
        if demo:
            password = ensure_demo_user(engine)

            def run_demo() -> None:
                time.sleep(0.5)
                count = deliver_demo(settings)
                deadline = time.monotonic() + 30
                while processor.run_once() == 0 and time.monotonic() < deadline:
                    from consult.intake import has_pending
                    from db.engine import session as new_session

                    with new_session(engine) as s:
                        if not has_pending(s):
                            break
                    time.sleep(0.2)
                print(_next_steps(settings, count, password), flush=True)

            threading.Thread(target=run_demo, name="demo", daemon=True).start()

    def stop() -> None:
        scheduler.shutdown(wait=False)
        if running.imap is not None:
            running.imap.stop()
        if running.smtp is not None:
            running.smtp.stop()
        if pool is not None:
            pool.close()

    def mailboxes() -> list[MailboxWatch] | None:
        """The IDLE watchers' state (None without them: no IMAP, or IDLE off and the
        scheduler polls)."""
        return running.imap.watches() if running.imap is not None else None

    if role == "worker":
        from consult.web.ops import create_ops_app

        app = create_ops_app(settings, engine, kb=kb, on_startup=start, on_shutdown=stop,
                             mailboxes=mailboxes)
    else:
        app = create_app(settings, engine, kb=kb, on_startup=start, on_shutdown=stop,
                         mailboxes=mailboxes)
    uvicorn.Server(uvicorn_config(settings, app)).run()
