"""The review pages: the queue, the case page and the case actions (HTML forms).

Each action is a POST with the session's CSRF token, calls consult.review, commits, and
redirects back to the case page (post/redirect/get), where the audit trail shows what happened.
A draft conflict re-renders the page with the reviewer's text kept next to the current draft.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from consult import accounts, cases, review
from consult.errors import CaseNotFound, ConfigError, DraftConflict, InvalidTransition
from consult.web.deps import ctx_of, form_login, page_login
from consult.web.highlight import diff_lines
from consult.web.render import page
from consult.web.sessions import Login
from consult.web.views import case_view, queue_items
from db.engine import session as new_session
from db.models import Case

router = APIRouter(include_in_schema=False)
PageLogin = Annotated[Login, Depends(page_login)]
FormLogin = Annotated[Login, Depends(form_login)]

DONE = {
    "saved": "Draft saved.",
    "approved": "Approved: the reply is in the outbox and goes out with the sender's next run.",
    "asked": "Question queued for the sender; the case waits in awaiting_info.",
    "assigned": "Assignment changed.",
    "closed": "Case closed.",
    "quarantined": "Case quarantined.",
    "released": "Case released into the review queue.",
}
#: Status filters of the queue page; quarantined is for admins only.
FILTERS = ("open", "awaiting_review", "awaiting_info", "approved", "received", "sent", "closed",
           "quarantined", "all")


def _statuses(status: str, login: Login) -> tuple[str, ...]:
    if status == "quarantined" and not login.is_admin:
        raise HTTPException(403, "The quarantine is for admins.")
    if status == "open":
        return review.OPEN_STATUSES
    if status == "all":
        return tuple(s for s in cases.STATUSES if login.is_admin or s != "quarantined")
    if status in cases.STATUSES:
        return (status,)
    raise HTTPException(400, f"Unknown status filter {status!r}.")


@router.get("/")
def queue_page(request: Request, login: PageLogin, status: str = "open", q: str = "",
               sort: str = "received", dir: str = "asc", mine: bool = False,
               expert: bool = False) -> Response:
    ctx = ctx_of(request)
    wanted = _statuses(status, login)
    sort = sort if sort in review.SORTS else "received"
    with new_session(ctx.engine) as s:
        rows = review.find_cases(s, statuses=wanted, q=q, sort=sort, descending=dir == "desc",
                                 assignee=login.email if mine else None,
                                 needs_expert=True if expert else None)
        counts = review.status_counts(s)
    counts["open"] = sum(counts[x] for x in review.OPEN_STATUSES)
    counts["all"] = sum(n for k, n in counts.items()
                        if k in cases.STATUSES and (login.is_admin or k != "quarantined"))
    items = queue_items(rows, now=ctx.clock(), sla_hours=ctx.settings.sla_hours)
    filters = [f for f in FILTERS if f != "quarantined" or login.is_admin]
    return page(request, "pages/queue.html", login=login,
                title="Quarantine" if status == "quarantined" else "Review queue",
                items=items, counts=counts, filters=filters, status=status, q=q, sort=sort,
                dir=dir, mine=mine, expert=expert, sorts=list(review.SORTS),
                sla_hours=ctx.settings.sla_hours)


def _load_visible(s: Session, case_id: int, login: Login) -> Case:
    try:
        case = review.get_case(s, case_id)
    except CaseNotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    if case.status == "quarantined" and not login.is_admin:
        raise HTTPException(403, f"Case #{case_id} is quarantined; only an admin can open it.")
    return case


def _case_page(request: Request, login: Login, case_id: int, *, status_code: int = 200,
               error: str = "", conflict_text: str | None = None, notice: str = "") -> Response:
    ctx = ctx_of(request)
    with new_session(ctx.engine) as s:
        _load_visible(s, case_id, login)
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
def case_page(request: Request, case_id: int, login: PageLogin, done: str = "") -> Response:
    return _case_page(request, login, case_id, notice=DONE.get(done, ""))


@router.get("/cases/{case_id}/next")
def next_case(request: Request, case_id: int, login: PageLogin) -> Response:
    """The next case waiting for review after this one (the queue's 'n' key)."""
    ctx = ctx_of(request)
    with new_session(ctx.engine) as s:
        ids = [c.id for c in review.find_cases(s, statuses=("awaiting_review",))
               if c.id is not None]
    if case_id in ids:  # the one after it in queue order, wrapping around
        at = ids.index(case_id)
        ids = ids[at + 1:] + ids[:at]
    else:  # it left the queue (approved, closed): the first one after it by id
        ids = [i for i in ids if i > case_id] + [i for i in ids if i < case_id]
    return RedirectResponse(f"/cases/{ids[0]}" if ids else "/", status_code=303)


def _act(request: Request, login: Login, case_id: int, done: str,
         action: Callable[[Session, datetime], Any], *, draft_text: str | None = None,
         admin_only: bool = False) -> Response:
    """Run one review action in its own transaction and answer like the case page would."""
    if admin_only and not login.is_admin:
        raise HTTPException(403, "Only an admin can do this.")
    ctx = ctx_of(request)
    with new_session(ctx.engine) as s:
        _load_visible(s, case_id, login)
        try:
            action(s, ctx.clock())
            s.commit()
        except (DraftConflict, IntegrityError) as exc:
            s.rollback()
            msg = str(exc) if isinstance(exc, DraftConflict) else (
                f"Case #{case_id}: someone saved the draft at the same moment; nothing was "
                "overwritten. Compare your text with the current draft and apply it again.")
            return _case_page(request, login, case_id, status_code=409, error=msg,
                              conflict_text=draft_text)
        except (InvalidTransition, ConfigError) as exc:
            s.rollback()
            return _case_page(request, login, case_id, status_code=409, error=str(exc),
                              conflict_text=draft_text)
    return RedirectResponse(f"/cases/{case_id}?done={done}", status_code=303)


@router.post("/cases/{case_id}/draft")
def save_draft(request: Request, case_id: int, login: FormLogin, body: str = Form(...),
               version: int | None = Form(None)) -> Response:
    def run(s: Session, now: datetime) -> None:
        review.save_draft(s, case_id, _clean(body), actor=login.email, now=now,
                          expected_version=version)
        s.flush()
    return _act(request, login, case_id, "saved", run, draft_text=body)


@router.post("/cases/{case_id}/approve")
def approve(request: Request, case_id: int, login: FormLogin, body: str | None = Form(None),
            version: int | None = Form(None), recipient: str | None = Form(None)) -> Response:
    ctx = ctx_of(request)

    def run(s: Session, now: datetime) -> None:
        review.approve(s, case_id, ctx.settings, actor=login.email, now=now,
                       body_text=_clean(body) if body is not None else None,
                       expected_version=version, recipient=recipient)
        s.flush()
    return _act(request, login, case_id, "approved", run, draft_text=body)


@router.post("/cases/{case_id}/ask-info")
def ask_info(request: Request, case_id: int, login: FormLogin,
             question: str = Form("")) -> Response:
    ctx = ctx_of(request)

    def run(s: Session, now: datetime) -> None:
        review.ask_for_info(s, case_id, ctx.settings, _clean(question), actor=login.email,
                            now=now)
    return _act(request, login, case_id, "asked", run)


@router.post("/cases/{case_id}/assign")
def assign(request: Request, case_id: int, login: FormLogin,
           assignee: str = Form("")) -> Response:
    def run(s: Session, now: datetime) -> None:
        who: str | None = assignee.strip() or None
        if who == "me":
            who = login.email
        if who is not None:
            user = accounts.get_user(s, who)
            if user is None or not user.active:
                raise ConfigError(f"No active account {who!r} to assign the case to.")
            who = user.email
        review.assign(s, case_id, who, actor=login.email, now=now)
    return _act(request, login, case_id, "assigned", run)


@router.post("/cases/{case_id}/close")
def close(request: Request, case_id: int, login: FormLogin, reason: str = Form("")) -> Response:
    def run(s: Session, now: datetime) -> None:
        review.close(s, case_id, actor=login.email, now=now, reason=reason.strip())
    return _act(request, login, case_id, "closed", run)


@router.post("/cases/{case_id}/quarantine")
def quarantine(request: Request, case_id: int, login: FormLogin,
               reason: str = Form("")) -> Response:
    def run(s: Session, now: datetime) -> None:
        review.quarantine(s, case_id, actor=login.email, now=now, reason=reason)
    return _act(request, login, case_id, "quarantined", run)


@router.post("/cases/{case_id}/release")
def release(request: Request, case_id: int, login: FormLogin, reason: str = Form("")) -> Response:
    def run(s: Session, now: datetime) -> None:
        review.release(s, case_id, actor=login.email, now=now, reason=reason.strip())
    return _act(request, login, case_id, "released", run, admin_only=True)


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
