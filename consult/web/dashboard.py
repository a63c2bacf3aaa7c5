"""The desk lead's dashboard (admins): ``/dashboard`` draws ``consult.desk_stats`` as SVG charts
with the numbers in tables beside them; ``GET /api/dashboard`` gives the same figures as JSON.

The figures are computed per request from a window of days (7 to 366): a few queries over
indexed columns and the window's rows, never a mail's bytes (``bench/dashboard.py`` times it on
a large desk).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from markupsafe import Markup

from consult.cases import STATUSES
from consult.desk_stats import MAX_DAYS, MIN_DAYS, DeskStats, load_desk, summarize
from consult.web.charts import Segment, Series, hbars, line_chart, stacked_bars
from consult.web.deps import api_login, ctx_of, page_login
from consult.web.render import page
from consult.web.sessions import Login
from db.engine import session as new_session

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["dashboard"])
PageLogin = Annotated[Login, Depends(page_login)]
Reader = Annotated[Login, Depends(api_login)]
#: The windows the page offers.
DAY_CHOICES = (7, 30, 90, 365)
#: Status colours, in stacking order (bottom first): done, then waiting, then set aside.
STATUS_ORDER = ("sent", "closed", "approved", "awaiting_review", "awaiting_info", "received",
                "quarantined")


def _admin(login: Login) -> None:
    if not login.is_admin:
        raise HTTPException(403, "The dashboard is for admins.")


def desk_stats(request: Request, days: int) -> DeskStats:
    ctx = ctx_of(request)
    now = ctx.clock()
    with new_session(ctx.engine) as s:
        data = load_desk(s, now=now, days=days, sla_hours=ctx.settings.sla_hours)
    return summarize(data, now=now, days=days, sla_hours=ctx.settings.sla_hours)


def charts(stats: DeskStats) -> dict[str, Markup]:
    """The page's charts (pure)."""
    days = [d.strftime("%m-%d") for d in stats.day_labels]
    statuses = [s for s in STATUS_ORDER if s in STATUSES and any(stats.per_day[s])]
    weeks = [w.week.strftime("%m-%d") for w in stats.weeks]
    return {
        "per_day": stacked_bars(
            days, [Series(s.replace("_", " "), stats.per_day[s], f"c-{s}") for s in statuses],
            title="Cases per day by status", width=1100, height=260),
        "answer_times": line_chart(
            weeks, [Series("p50", [w.p50_hours for w in stats.weeks], "c-p50"),
                    Series("p90", [w.p90_hours for w in stats.weeks], "c-p90")],
            title="Time to answer per week, hours", unit=" h", width=620),
        "sla": stacked_bars(
            weeks, [Series("on time", [w.answered - w.breached for w in stats.weeks],
                           "c-ontime"),
                    Series("late", [w.breached for w in stats.weeks], "c-late")],
            title="Answers per week: within the SLA and late", width=620),
        "expert": stacked_bars(
            [w.strftime("%m-%d") for w, _n, _e in stats.expert_weeks],
            [Series("needs expert", [e for _w, _n, e in stats.expert_weeks], "c-expert"),
             Series("answered from the KB", [n - e for _w, n, e in stats.expert_weeks],
                    "c-kb")],
            title="Cases per week: needs an expert or not", width=620),
        "edits": hbars(
            [(t.type.replace("_", " "), [Segment("unedited", t.unedited, "c-unedited"),
                                         Segment("edited", t.edited, "c-edited")])
             for t in stats.by_type],
            title="Replies sent unedited or edited, by question type", normalize=True,
            width=560),
        "edit_size": hbars(
            [(t.type.replace("_", " "), [Segment("median lines changed", t.median_lines or 0,
                                                 "c-edited")])
             for t in stats.by_type if t.edited],
            title="Lines changed in edited replies (median), by question type", unit=" lines",
            width=560),
        "codes": hbars([(c, [Segment("cases", n, "c-bar")]) for c, n in stats.top_codes],
                       title="Top codes", label_width=90, width=380),
        "types": hbars([(t.replace("_", " "), [Segment("cases", n, "c-bar")])
                        for t, n in stats.top_types],
                       title="Top question types", width=420),
        "reviewers": hbars(
            [(r.reviewer, [Segment("approved", r.approved, "c-sent"),
                           Segment("asked the sender", r.asked, "c-awaiting_info"),
                           Segment("closed", r.closed, "c-closed")])
             for r in stats.reviewers],
            title="Reviewers: cases approved, asked about and closed", label_width=190,
            width=520),
    }


@pages.get("/dashboard")
def dashboard_page(request: Request, login: PageLogin, days: int = 30) -> Response:
    _admin(login)
    days = min(MAX_DAYS, max(MIN_DAYS, days))
    stats = desk_stats(request, days)
    legend = {s: s.replace("_", " ") for s in STATUS_ORDER if any(stats.per_day[s])}
    return page(request, "pages/dashboard.html", login=login, title="Dashboard", s=stats,
                charts=charts(stats), days=days, choices=DAY_CHOICES, status_legend=legend)


@api.get("/dashboard", summary="The desk's figures for a window of days (admins)")
def dashboard_json(request: Request, login: Reader,
                   days: Annotated[int, Query(ge=MIN_DAYS, le=MAX_DAYS)] = 30) -> dict[str, Any]:
    """Cases per day by status, time to answer (p50/p90 per week, hours), SLA breaches,
    replies sent unedited or edited (lines changed against the first draft, per question
    type), the needs-expert share, top codes and question types, per-reviewer throughput.
    Definitions: ``consult.desk_stats``."""
    _admin(login)
    return desk_stats(request, days).to_json()
