"""Render a page template into a response, with what the base layout needs."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from consult.web.deps import ctx_of
from consult.web.sessions import CSRF_FIELD, Login


def page(request: Request, template: str, *, login: Login | None, title: str,
         status_code: int = 200, **context: Any) -> HTMLResponse:
    """The template rendered by the autoescaping environment (inbound text stays text)."""
    env = ctx_of(request).env
    html = env.get_template(template).render(
        login=login, title=title, csrf_field=CSRF_FIELD,
        csrf_token=login.csrf_token if login else "", path=request.url.path, **context)
    return HTMLResponse(html, status_code=status_code)
