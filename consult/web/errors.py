"""One place that turns errors into HTTP answers, for the pages and the API alike.

A domain error (``consult.errors``) raised anywhere below a route gets its status here; the API
answers JSON ``{"detail": ...}``, a page answers the error page, and a failed case action
(``run_action``) shows the case page again with the error and the reviewer's text kept.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from consult.errors import (
    CaseNotFound,
    ConsultError,
    DraftConflict,
    Forbidden,
    InputError,
    InvalidTransition,
    KnowledgeBaseError,
)
from consult.web.deps import LoginRequired, ctx_of, visible_case
from consult.web.sessions import Login

T = TypeVar("T")
#: The HTTP status of each domain error (the first class that matches); others are 400.
STATUS: tuple[tuple[type[ConsultError], int], ...] = (
    (CaseNotFound, 404),
    (Forbidden, 403),
    (DraftConflict, 409),
    (InvalidTransition, 409),  # ConcurrentChange too: someone moved the case a moment ago
    (InputError, 400),
    (KnowledgeBaseError, 503),
)
#: ``request.state`` attribute: how a page shows a failed action again (error, status).
SHOW_AGAIN = "show_again"


def status_of(exc: ConsultError) -> int:
    return next((code for cls, code in STATUS if isinstance(exc, cls)), 400)


def run_action(request: Request, s: Session, login: Login, case_id: int,
               action: Callable[[datetime], T], *,
               show_again: Callable[[str, int], Response] | None = None) -> T:
    """Run one review action on a case the caller may see, in the request's session, and
    commit. A domain error rolls it back and goes to the app's handler (``show_again``: how a
    page answers it); two saves of one draft at the same moment are a DraftConflict."""
    visible_case(s, case_id, login)
    if show_again is not None:
        setattr(request.state, SHOW_AGAIN, show_again)
    try:
        result = action(ctx_of(request).clock())
        s.flush()
        s.commit()
    except IntegrityError as exc:
        s.rollback()
        raise DraftConflict(
            f"Case #{case_id}: someone saved the draft at the same moment; nothing was "
            "overwritten. Reload the case, compare your text with the current draft and "
            "apply it again.") from exc
    except BaseException:
        s.rollback()
        raise
    return result


def error_response(request: Request, status: int, detail: str, *,
                   headers: Mapping[str, str] | None = None,
                   extra: Mapping[str, Any] | None = None) -> Response:
    """JSON for the API (and any 401; ``extra`` keys beside ``detail``), the error page
    otherwise."""
    if request.url.path.startswith("/api/") or status == 401:
        return JSONResponse({"detail": detail, **(extra or {})}, status_code=status,
                            headers=headers)
    html = ctx_of(request).env.get_template("pages/error.html").render(
        title=f"Error {status}", status_code=status, detail=detail, login=None,
        csrf_field="", csrf_token="", path=request.url.path)
    return Response(html, status_code=status, media_type="text/html", headers=headers)


def install(app: FastAPI) -> None:
    """The app's exception handlers."""
    from consult.web.login import login_redirect

    @app.exception_handler(LoginRequired)
    def to_login(_request: Request, exc: LoginRequired) -> Response:
        return login_redirect(exc.next_path)

    @app.exception_handler(HTTPException)
    def http_error(request: Request, exc: HTTPException) -> Response:
        return error_response(request, exc.status_code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(ConsultError)
    def domain_error(request: Request, exc: ConsultError) -> Response:
        status = status_of(exc)
        show_again = getattr(request.state, SHOW_AGAIN, None)
        if show_again is not None and status in (400, 409):
            return show_again(str(exc), status)  # type: ignore[no-any-return]
        extra = ({"current_version": exc.current_version}
                 if isinstance(exc, DraftConflict) else {})
        return error_response(request, status, str(exc), extra=extra)
