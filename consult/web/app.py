"""The review web UI: the queue and the case page (read-only in this first version).

Inbound mail is never rendered as HTML: every value goes through the autoescaping environment.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException
from fastapi.responses import HTMLResponse
from sqlalchemy.engine import Engine

from consult import review
from consult.config import Settings
from consult.errors import CaseNotFound
from consult.templating import environment
from db.engine import session as new_session


def create_app(settings: Settings, engine: Engine, *,
               on_startup: Callable[[], None] | None = None,
               on_shutdown: Callable[[], None] | None = None) -> FastAPI:
    """Build the app; background workers start and stop with its lifespan."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if on_startup:
            on_startup()
        try:
            yield
        finally:
            if on_shutdown:
                on_shutdown()

    app = FastAPI(title="consult review", lifespan=lifespan)
    env = environment()

    @app.get("/", response_class=HTMLResponse)
    def queue_page() -> str:
        with new_session(engine) as s:
            rows = review.queue(s)
        return env.get_template("pages/queue.html").render(rows=rows, title="Review queue")

    @app.get("/cases/{case_id}", response_class=HTMLResponse)
    def case_page(case_id: int) -> str:
        with new_session(engine) as s:
            try:
                case = review.get_case(s, case_id)
            except CaseNotFound as exc:
                raise HTTPException(404, str(exc)) from exc
            draft = review.latest_draft(s, case_id)
            findings = json.loads(draft.analysis_json).get("findings", []) if draft else []
            return env.get_template("pages/case.html").render(
                case=case, draft=draft, findings=findings, thread=review.thread(s, case_id),
                audit=review.audit(s, case_id), title=f"Case #{case_id}")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
