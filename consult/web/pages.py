"""The review pages: the queue, the case page and the case actions (HTML forms).

Each action is a POST with the session's CSRF token, calls consult.review through the one action
runner (``consult.web.errors.run_action``), commits, and redirects back to the case page
(post/redirect/get), where the audit trail shows what happened. A refused action (a draft
conflict, a status that does not allow it) shows the page again with the reviewer's text kept
next to the current draft.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from consult import accounts, cases, review
from consult.errors import InputError
from consult.listing import fetch_size, page_of
from consult.web.deps import (
    AdminForm,
    DbSession,
    FormLogin,
    PageLogin,
    ctx_of,
    statuses_for,
    visible_case,
    visible_statuses,
)
from consult.web.errors import run_action
from consult.web.highlight import diff_lines
from consult.web.render import page
from consult.web.sessions import Login
from consult.web.views import case_view, queue_items
from db.engine import session as new_session

router = APIRouter(include_in_schema=False)

DONE = {
    "saved": "Draft saved.",
    "approved": "Approved: the reply is in the outbox and goes out with the sender's next run.",
    "asked": "Question queued for the sender; the case waits in awaiting_info.",
    "assigned": "Assignment changed.",
    "closed": "Case closed.",
    "quarantined": "Case quarantined.",
    "released": "Case released into the review queue.",
}
#: Cases on one page of the queue.
QUEUE_PAGE = 500
#: Status filters of the queue page; quarantined is for admins only.
FILTERS = ("open", "awaiting_review", "awaiting_info", "approved", "received", "sent", "closed",
           "quarantined", "all")


def _statuses(status: str, login: Login) -> tuple[str, ...]:
    if status == "open":
        return review.OPEN_STATUSES
    if status == "all":
        return statuses_for(login)
    if status in cases.STATUSES:
        return visible_statuses((status,), login)
    raise InputError(f"Unknown status filter {status!r}.")


@router.get("/")
def queue_page(request: Request, login: PageLogin, s: DbSession, status: str = "open",
               q: str = "", sort: str = "received", dir: str = "asc",
               assigned_to_me: Annotated[bool, Query(alias="mine")] = False,
               expert: bool = False, offset: int = 0) -> Response:
    ctx = ctx_of(request)
    wanted = _statuses(status, login)
    sort = sort if sort in review.SORTS else "received"
    offset = max(0, offset)
    rows = review.find_cases(s, statuses=wanted, q=q, sort=sort, descending=dir == "desc",
                             assignee=login.email if assigned_to_me else None,
                             needs_expert=True if expert else None,
                             limit=fetch_size(QUEUE_PAGE), offset=offset)
    listing = page_of(rows, limit=QUEUE_PAGE, offset=offset)
    counts = review.status_counts(s)
    counts["open"] = sum(counts[x] for x in review.OPEN_STATUSES)
    counts["all"] = sum(counts[x] for x in statuses_for(login))
    items = queue_items(listing.items, now=ctx.clock(), sla_hours=ctx.settings.sla_hours)
    filters = [f for f in FILTERS if f != "quarantined" or login.is_admin]
    return page(request, "pages/queue.html", login=login,
                title="Quarantine" if status == "quarantined" else "Review queue",
                items=items, counts=counts, filters=filters, status=status, q=q, sort=sort,
                dir=dir, mine=assigned_to_me, expert=expert, sorts=list(review.SORTS),
                sla_hours=ctx.settings.sla_hours, listing=listing)


def _case_page(request: Request, s: Session, login: Login, case_id: int, *,
               status_code: int = 200, error: str = "", conflict_text: str | None = None,
               notice: str = "") -> Response:
    ctx = ctx_of(request)
    visible_case(s, case_id, login)
    view = case_view(s, case_id, now=ctx.clock(), sla_hours=ctx.settings.sla_hours,
                     kb=ctx.kb, admin=login.is_admin)
    users = [u.email for u in accounts.list_users(s) if u.active]
    return page(request, "pages/case.html", login=login, title=f"Case #{case_id}", v=view,
                status_code=status_code, error=error, conflict_text=conflict_text,
                notice=notice, users=users, diff_lines=diff_lines,
                can_approve=cases.can_move(view.case.status, "approved"),
                can_ask=cases.can_move(view.case.status, "awaiting_info"),
                can_close=cases.can_move(view.case.status, "closed"),
                can_quarantine=cases.can_move(view.case.status, "quarantined"))


@router.get("/cases/{case_id}")
def case_page(request: Request, case_id: int, login: PageLogin, s: DbSession,
              done: str = "") -> Response:
    return _case_page(request, s, login, case_id, notice=DONE.get(done, ""))


@router.get("/cases/{case_id}/next")
def next_case(case_id: int, login: PageLogin, s: DbSession) -> Response:
    """The next case waiting for review after this one (the queue's 'n' key)."""
    ids = [c.id for c in review.find_cases(s, statuses=("awaiting_review",))
           if c.id is not None]
    if case_id in ids:  # the one after it in queue order, wrapping around
        at = ids.index(case_id)
        ids = ids[at + 1:] + ids[:at]
    else:  # it left the queue (approved, closed): the first one after it by id
        ids = [i for i in ids if i > case_id] + [i for i in ids if i < case_id]
    return RedirectResponse(f"/cases/{ids[0]}" if ids else "/", status_code=303)


def _act(request: Request, s: Session, login: Login, case_id: int, done: str,
         action: Callable[[datetime], Any], *, draft_text: str | None = None) -> Response:
    """Run one review action (``consult.web.errors.run_action``) and redirect to the case page
    (post/redirect/get); a refusal shows the case page again with the reviewer's text."""

    def show_again(error: str, status: int) -> Response:
        with new_session(ctx_of(request).engine) as fresh:  # the request's was rolled back
            return _case_page(request, fresh, login, case_id, status_code=status, error=error,
                              conflict_text=draft_text)

    run_action(request, s, login, case_id, action, show_again=show_again)
    return RedirectResponse(f"/cases/{case_id}?done={done}", status_code=303)


@router.post("/cases/{case_id}/draft")
def save_draft(request: Request, case_id: int, login: FormLogin, s: DbSession,
               body: str = Form(...), version: int | None = Form(None)) -> Response:
    return _act(request, s, login, case_id, "saved", lambda now: review.save_draft(
        s, case_id, _clean(body), actor=login.email, now=now, expected_version=version),
        draft_text=body)


@router.post("/cases/{case_id}/approve")
def approve(request: Request, case_id: int, login: FormLogin, s: DbSession,
            body: str | None = Form(None), version: int | None = Form(None),
            recipient: str | None = Form(None)) -> Response:
    settings = ctx_of(request).settings
    return _act(request, s, login, case_id, "approved", lambda now: review.approve(
        s, case_id, settings, actor=login.email, now=now,
        body_text=_clean(body) if body is not None else None, expected_version=version,
        recipient=recipient), draft_text=body)


@router.post("/cases/{case_id}/ask-info")
def ask_info(request: Request, case_id: int, login: FormLogin, s: DbSession,
             question: str = Form("")) -> Response:
    settings = ctx_of(request).settings
    return _act(request, s, login, case_id, "asked", lambda now: review.ask_for_info(
        s, case_id, settings, _clean(question), actor=login.email, now=now))


@router.post("/cases/{case_id}/assign")
def assign(request: Request, case_id: int, login: FormLogin, s: DbSession,
           assignee: str = Form("")) -> Response:
    who = assignee.strip() or None
    return _act(request, s, login, case_id, "assigned", lambda now: review.assign(
        s, case_id, accounts.assignable(s, login.email if who == "me" else who),
        actor=login.email, now=now))


@router.post("/cases/{case_id}/close")
def close(request: Request, case_id: int, login: FormLogin, s: DbSession,
          reason: str = Form("")) -> Response:
    return _act(request, s, login, case_id, "closed", lambda now: review.close(
        s, case_id, actor=login.email, now=now, reason=reason.strip()))


@router.post("/cases/{case_id}/quarantine")
def quarantine(request: Request, case_id: int, login: FormLogin, s: DbSession,
               reason: str = Form("")) -> Response:
    return _act(request, s, login, case_id, "quarantined", lambda now: review.quarantine(
        s, case_id, actor=login.email, now=now, reason=reason))


@router.post("/cases/{case_id}/release")
def release(request: Request, case_id: int, login: AdminForm, s: DbSession,
            reason: str = Form("")) -> Response:
    return _act(request, s, login, case_id, "released", lambda now: review.release(
        s, case_id, actor=login.email, now=now, reason=reason.strip()))


@router.get("/api/docs")
def api_docs(request: Request, login: PageLogin) -> Response:
    """The API reference, rendered from the OpenAPI schema (no CDN: it works offline)."""
    schema = request.app.openapi()
    endpoints = [
        {"method": method.upper(), "path": path, "summary": op.get("summary", ""),
         "description": op.get("description", "")}
        for path, ops in schema.get("paths", {}).items() for method, op in ops.items()
    ]
    return page(request, "pages/api.html", login=login, title="API", endpoints=endpoints)


def _clean(text: str) -> str:
    """Browsers send CRLF from textareas; drafts are stored with LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")
