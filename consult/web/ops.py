"""Operations endpoints: ``/healthz`` (liveness), ``/readyz`` (readiness) and ``/metrics``
(Prometheus). None needs a session: probes and scrapers have none. Keep them off the public
proxy (deploy/Caddyfile answers 404 for them); ``CONSULT_METRICS_TOKEN`` makes ``/metrics``
ask for ``Authorization: Bearer <token>`` as well.

- ``/healthz``: the process answers. Nothing else is checked, so a database outage never makes
  an orchestrator restart every replica at once.
- ``/readyz``: 200 when this instance can do its work, else 503, with one entry per check:
  the database answers and its schema is the one this code was built for (a database behind
  the code's migrations is not ready; one ahead of it, during a rolling upgrade, is), the KB
  opens and answers, and no mailbox watcher has stopped for good (a refused login needs a
  person). A watcher standing by (another worker holds the mailbox's lease) is ready; its
  entry names the holder.
- ``/metrics``: ``consult.metrics.build_registry``.

``install`` adds them to the review app; ``create_ops_app`` is the same three endpoints alone,
for a process that serves no pages (a ``consult serve --role worker``, issue 14 item 1).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from consult.clock import utcnow
from consult.config import Settings
from consult.kb.store import KnowledgeBase
from consult.metrics import MailboxSource, build_registry, no_mailboxes

router = APIRouter(include_in_schema=False)


@dataclass
class Check:
    """One readiness check: ``ok`` False makes the instance not ready; ``skipped`` checks
    (nothing of the kind runs in this process) do not."""

    ok: bool
    detail: str = ""
    skipped: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": self.ok, "detail": self.detail}
        if self.skipped:
            out["skipped"] = True
        out.update(self.extra)
        return out


@dataclass
class OpsState:
    """What the ops endpoints read, built once per app (``app.state.ops``)."""

    engine: Engine
    kb: KnowledgeBase | None
    mailboxes: MailboxSource
    registry: CollectorRegistry
    metrics_token: str = ""
    #: Seconds /readyz waits for the database.
    ready_timeout: float = 3.0


@cache
def code_migrations() -> tuple[frozenset[str], frozenset[str]]:
    """The migration heads this code was built for, and every revision it knows (read once)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from db.engine import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    scripts = ScriptDirectory.from_config(cfg)
    return (frozenset(scripts.get_heads()),
            frozenset(r.revision for r in scripts.walk_revisions()))


def schema_check(revisions: set[str], heads: frozenset[str], known: frozenset[str]) -> Check:
    """The database's migration revisions against the code's (pure)."""
    if revisions == set(heads):
        return Check(True, f"schema at {', '.join(sorted(revisions))}")
    unknown = revisions - known
    if unknown:  # a newer release migrated it: this (older) code keeps working until replaced
        return Check(True, f"schema at {', '.join(sorted(unknown))}, newer than this code "
                           f"({', '.join(sorted(heads))}): a rolling upgrade is under way")
    return Check(False, f"schema at {', '.join(sorted(revisions)) or 'nothing'}, this code "
                        f"needs {', '.join(sorted(heads))}: run the migrations (`consult serve` "
                        "or any `consult` command that opens the database does)")


def _revisions(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return {r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))}


def check_database(engine: Engine, *, timeout: float = 3.0) -> Check:
    """The schema revision, within ``timeout`` seconds: a database host that swallows packets
    would otherwise hold the probe (and a server thread) until TCP gives up, minutes later."""
    started = time.monotonic()
    pool = ThreadPoolExecutor(1, thread_name_prefix="readyz-db")
    try:
        revisions = pool.submit(_revisions, engine).result(timeout=timeout)
    except FutureTimeout:
        return Check(False, f"the database did not answer within {timeout:g} s")
    except Exception as exc:  # the class only: a driver's message can carry the URL
        return Check(False, f"the database did not answer ({type(exc).__name__})")
    finally:
        pool.shutdown(wait=False)
    check = schema_check(revisions, *code_migrations())
    check.extra["ms"] = round((time.monotonic() - started) * 1000, 1)
    return check


def check_kb(kb: KnowledgeBase | None) -> Check:
    if kb is None:
        return Check(True, "no knowledge base in this process", skipped=True)
    try:
        sources = len(kb.sources())
        kb.ping()  # a real query on this thread's read-only connection (lookups are memoized)
    except Exception as exc:
        return Check(False, f"the knowledge base at {kb.path} did not answer "
                            f"({type(exc).__name__})")
    return Check(True, f"KB {kb.version}, {sources} sources", extra={"version": kb.version})


def check_mailboxes(source: MailboxSource) -> Check:
    watches = source()
    if watches is None:
        return Check(True, "no mailbox watchers in this process", skipped=True)
    stopped = [w.mailbox for w in watches if not w.ok]
    detail = (f"{len(watches)} mailboxes watched" if not stopped
              else f"stopped, needs a person: {', '.join(stopped)}")
    return Check(not stopped, detail, extra={"mailboxes": [w.to_json() for w in watches]})


def readiness(state: OpsState) -> tuple[bool, dict[str, Any]]:
    checks = {"database": check_database(state.engine, timeout=state.ready_timeout),
              "kb": check_kb(state.kb),
              "mailboxes": check_mailboxes(state.mailboxes)}
    ready = all(c.ok for c in checks.values())
    return ready, {"status": "ready" if ready else "not ready",
                   "checks": {name: c.to_json() for name, c in checks.items()}}


def _ops(request: Request) -> OpsState:
    return request.app.state.ops  # type: ignore[no-any-return]


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    ready, body = readiness(_ops(request))
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    state = _ops(request)
    if state.metrics_token:
        auth = request.headers.get("authorization", "")
        given = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        if not hmac.compare_digest(given.encode(), state.metrics_token.encode()):
            return JSONResponse({"detail": "Send Authorization: Bearer <CONSULT_METRICS_TOKEN>."},
                                status_code=401, headers={"WWW-Authenticate": "Bearer"})
    return Response(generate_latest(state.registry), media_type=CONTENT_TYPE_LATEST)


def install(app: FastAPI, settings: Settings, engine: Engine, *, kb: KnowledgeBase | None,
            mailboxes: MailboxSource | None = None,
            clock: Callable[[], datetime] = utcnow) -> None:
    """Add the ops endpoints to ``app``, with a metrics registry of its own."""
    source = mailboxes or no_mailboxes
    app.state.ops = OpsState(
        engine=engine, kb=kb, mailboxes=source,
        registry=build_registry(engine, clock=clock, mailboxes=source),
        metrics_token=settings.metrics_token.get_secret_value())
    app.include_router(router)


def create_ops_app(settings: Settings, engine: Engine, *, kb: KnowledgeBase | None,
                   mailboxes: MailboxSource | None = None,
                   clock: Callable[[], datetime] = utcnow,
                   on_startup: Callable[[], None] | None = None,
                   on_shutdown: Callable[[], None] | None = None) -> FastAPI:
    """The ops endpoints alone, for a process that serves no pages (a worker: its workers start
    and stop with the app's lifespan, as in ``consult.web.app.create_app``)."""
    from consult.web.guards import SecurityHeaders
    from consult.web.lifespan import hooked

    lifespan = hooked(on_startup, on_shutdown)

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    install(app, settings, engine, kb=kb, mailboxes=mailboxes, clock=clock)
    app.add_middleware(SecurityHeaders)  # type: ignore[arg-type]
    return app
