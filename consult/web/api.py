"""The JSON API: the review actions for a practice-management system, same auth as the pages.

Authenticate with ``Authorization: Bearer <token>`` (`consult user token EMAIL`), or with the
browser session cookie plus an ``X-CSRF-Token`` header on POSTs (GET /api/me returns it).
Errors: 401 no or bad credentials, 403 CSRF or role, 404 no such case, 409 the case's status
does not allow the action or the draft changed since ``expected_version``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from consult import accounts, cases, review
from consult.listing import fetch_size, page_of
from consult.web.deps import (
    AdminWriter,
    DbSession,
    Reader,
    Writer,
    ctx_of,
    visible_case,
    visible_statuses,
)
from consult.web.errors import run_action
from consult.web.sessions import Login
from consult.web.views import case_view, queue_items

router = APIRouter(prefix="/api", tags=["cases"])


class DraftIn(BaseModel):
    body: str = Field(description="The full reply text (plain text).")
    expected_version: int | None = Field(
        None, description="The draft version you edited; a newer save answers 409.")


class ApproveIn(BaseModel):
    body: str | None = Field(None, description="Send this text instead of the current draft.")
    expected_version: int | None = Field(
        None, description="The draft version you reviewed; a newer save answers 409.")
    recipient: str | None = Field(
        None, description="One of the case's reply_options (default: its From address).")


class AskInfoIn(BaseModel):
    question: str = Field(min_length=1, description="What to ask the sender (plain text).")


class AssignIn(BaseModel):
    assignee: str | None = Field(None, description="A user's email; null to unassign.")


class ReasonIn(BaseModel):
    reason: str = Field("", description="Why, for the audit trail.")


class Me(BaseModel):
    email: str
    role: str
    csrf_token: str | None = Field(None, description="Send as X-CSRF-Token with the cookie.")


class Done(BaseModel):
    case_id: int
    status: str
    detail: str = ""


@router.get("/me", response_model=Me, summary="Who am I (and my CSRF token)")
def me(login: Reader) -> Me:
    return Me(email=login.email, role=login.role, csrf_token=login.csrf_token)


@router.get("/cases", summary="List cases (the queue)")
def list_cases(
    request: Request, response: Response, login: Reader, s: DbSession,
    status: Annotated[list[cases.Status] | None,
                      Query(description="Statuses; default: open ones")] = None,
    q: Annotated[str, Query(description="A code, or part of the sender or subject")] = "",
    assigned_to_me: Annotated[bool, Query(alias="mine",
                                          description="Only cases assigned to me")] = False,
    sort: str = "received", descending: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000, description="Cases per page")] = 200,
    offset: Annotated[int, Query(ge=0, description="Skip this many cases first")] = 0,
    needs_expert: Annotated[bool | None, Query(
        description="Only cases with (true) or without (false) a part our sources do not "
                    "cover")] = None,
) -> list[dict[str, Any]]:
    """A page of cases. When more cases follow, the response has a ``Link: <...>; rel="next"``
    header with the URL of the next page (and ``X-Next-Offset``); without it, this is the last
    page."""
    ctx = ctx_of(request)
    wanted = tuple(status) if status else review.OPEN_STATUSES
    rows = review.find_cases(s, statuses=visible_statuses(wanted, login), q=q, sort=sort,
                             descending=descending, limit=fetch_size(limit), offset=offset,
                             needs_expert=needs_expert,
                             assignee=login.email if assigned_to_me else None)
    page = page_of(rows, limit=limit, offset=offset)
    if page.next_offset is not None:
        following = request.url.include_query_params(offset=page.next_offset, limit=limit)
        response.headers["Link"] = f'<{following.path}?{following.query}>; rel="next"'
        response.headers["X-Next-Offset"] = str(page.next_offset)
    return [i.to_json() for i in queue_items(page.items, now=ctx.clock(),
                                             sla_hours=ctx.settings.sla_hours)]


@router.get("/cases/{case_id}", summary="One case: codes, findings, draft, thread, audit")
def get_case(request: Request, case_id: int, login: Reader, s: DbSession) -> dict[str, Any]:
    ctx = ctx_of(request)
    visible_case(s, case_id, login)
    view = case_view(s, case_id, now=ctx.clock(), sla_hours=ctx.settings.sla_hours,
                     kb=ctx.kb, admin=login.is_admin)
    return view.to_json()


def _act(request: Request, s: Session, login: Login, case_id: int,
         action: Callable[[datetime], str]) -> Done:
    """Run one review action (``consult.web.errors.run_action``): the case's new status."""
    detail = run_action(request, s, login, case_id, action)
    return Done(case_id=case_id, status=review.get_case(s, case_id).status, detail=detail)


@router.post("/cases/{case_id}/draft", response_model=Done, summary="Save an edited draft")
def save_draft(request: Request, case_id: int, data: DraftIn, login: Writer,
               s: DbSession) -> Done:
    def run(now: datetime) -> str:
        d = review.save_draft(s, case_id, data.body, actor=login.email, now=now,
                              expected_version=data.expected_version)
        s.flush()
        return f"draft version {d.version}"
    return _act(request, s, login, case_id, run)


@router.post("/cases/{case_id}/approve", response_model=Done,
             summary="Approve and send (the reply goes through the outbox)")
def approve(request: Request, case_id: int, data: ApproveIn, login: Writer,
            s: DbSession) -> Done:
    settings = ctx_of(request).settings

    def run(now: datetime) -> str:
        row = review.approve(s, case_id, settings, actor=login.email, now=now,
                             body_text=data.body, expected_version=data.expected_version,
                             recipient=data.recipient)
        return f"reply <{row.message_id}> queued for {row.to_addr}"
    return _act(request, s, login, case_id, run)


@router.post("/cases/{case_id}/ask-info", response_model=Done,
             summary="Ask the sender for more information (case -> awaiting_info)")
def ask_info(request: Request, case_id: int, data: AskInfoIn, login: Writer,
             s: DbSession) -> Done:
    settings = ctx_of(request).settings

    def run(now: datetime) -> str:
        row = review.ask_for_info(s, case_id, settings, data.question, actor=login.email,
                                  now=now)
        return f"question <{row.message_id}> queued for {row.to_addr}"
    return _act(request, s, login, case_id, run)


@router.post("/cases/{case_id}/assign", response_model=Done, summary="Assign or unassign")
def assign(request: Request, case_id: int, data: AssignIn, login: Writer,
           s: DbSession) -> Done:
    def run(now: datetime) -> str:
        who = accounts.assignable(s, data.assignee or None)
        review.assign(s, case_id, who, actor=login.email, now=now)
        return f"assigned to {who or 'nobody'}"
    return _act(request, s, login, case_id, run)


@router.post("/cases/{case_id}/close", response_model=Done, summary="Close the case")
def close(request: Request, case_id: int, data: ReasonIn, login: Writer,
          s: DbSession) -> Done:
    def run(now: datetime) -> str:
        review.close(s, case_id, actor=login.email, now=now, reason=data.reason)
        return "closed"
    return _act(request, s, login, case_id, run)


@router.post("/cases/{case_id}/quarantine", response_model=Done, summary="Quarantine the case")
def quarantine(request: Request, case_id: int, data: ReasonIn, login: Writer,
               s: DbSession) -> Done:
    def run(now: datetime) -> str:
        review.quarantine(s, case_id, actor=login.email, now=now, reason=data.reason)
        return "quarantined"
    return _act(request, s, login, case_id, run)


@router.post("/cases/{case_id}/release", response_model=Done,
             summary="Release from quarantine into the queue (admins)")
def release(request: Request, case_id: int, data: ReasonIn, login: AdminWriter,
            s: DbSession) -> Done:
    def run(now: datetime) -> str:
        review.release(s, case_id, actor=login.email, now=now, reason=data.reason)
        return "released"
    return _act(request, s, login, case_id, run)


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request, login: Reader) -> dict[str, Any]:
    return request.app.openapi()  # type: ignore[no-any-return]
