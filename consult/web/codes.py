"""Code lookup: the Codes page (search by code or words), a page per code, and their JSON twins.

Every route needs a login like the rest of the app (pages redirect to /login, the API answers
401). The views come from ``consult.web.code_views``, so the page and the API show the same.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from consult.errors import KnowledgeBaseError
from consult.kb.store import KnowledgeBase
from consult.web.code_views import code_search, code_view
from consult.web.deps import PageLogin, Reader, ctx_of
from consult.web.render import page

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["codes"])


def _kb(request: Request) -> KnowledgeBase:
    kb = ctx_of(request).kb
    if kb is None:  # a 503, as every KnowledgeBaseError (consult.web.errors)
        raise KnowledgeBaseError("No knowledge base is loaded; run `consult kb build` and "
                                 "restart the web app.")
    return kb


def _search(kb: KnowledgeBase, q: str) -> dict[str, Any]:
    return code_search(kb, q[:500])


@pages.get("/codes")
def codes_page(request: Request, login: PageLogin, q: str = "") -> Response:
    found = _search(_kb(request), q)
    return page(request, "pages/codes.html", login=login, title="Codes", q=q, found=found)


@pages.get("/codes/{code}")
def code_page(request: Request, code: str, login: PageLogin, ptp: str = "",
              setting: str = "practitioner") -> Response:
    view = code_view(_kb(request), code, ptp_q=ptp[:10], setting=setting)
    if view is None:
        raise HTTPException(404, f"The knowledge base does not know the code {code!r}.")
    return page(request, "pages/code.html", login=login, title=f"Code {view['code']}", v=view)


@api.get("/codes", summary="Search codes by code or by a coder's words (Case2Code)")
def api_codes(request: Request, login: Reader,
              q: Annotated[str, Query(description="A code, or words such as 'EGD with PEG'")]
              = "") -> dict[str, Any]:
    """``results`` (system, code, description, score), best first; ``abstained`` says why
    nothing was suggested."""
    return _search(_kb(request), q)


@api.get("/codes/{code}", summary="All the KB knows about one code")
def api_code(request: Request, code: str, login: Reader, ptp: str = "",
             setting: str = "practitioner") -> dict[str, Any]:
    view = code_view(_kb(request), code, ptp_q=ptp[:10], setting=setting)
    if view is None:
        raise HTTPException(404, f"The knowledge base does not know the code {code!r}.")
    return view
