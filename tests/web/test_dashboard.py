"""Item 7 of issue 14: the admins' dashboard. The figures of a fortnight made with the real
intake, review and sender (tests/web/desk_scenario.py) against what happened; the SVG charts
(escaped, to scale); the page and the JSON API for admins only; a case out of the window is
left out."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from support.mails import consultation

from consult.desk_stats import (
    CaseRow,
    DeskData,
    ReplyRow,
    diff_size,
    percentile,
    question_types,
    summarize,
    week_of,
)
from consult.web.charts import Segment, Series, axis, hbars, line_chart, stacked_bars
from web.conftest import WebApp
from web.desk_scenario import ADAM, RITA, make_desk


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 0.5) is None
    assert percentile([4.0, 30.0], 0.5) == 4.0 and percentile([4.0, 30.0], 0.9) == 30.0
    values = [float(v) for v in range(1, 11)]
    assert percentile(values, 0.5) == 5.0 and percentile(values, 0.9) == 9.0
    assert percentile(values, 1.0) == 10.0 and percentile([7.0], 0.9) == 7.0


def test_small_pure_helpers() -> None:
    assert week_of(datetime(2026, 11, 8, 23, 0, tzinfo=UTC)).isoformat() == "2026-11-02"
    assert week_of(datetime(2026, 11, 9, 0, 0, tzinfo=UTC)).isoformat() == "2026-11-09"
    assert diff_size("--- a\n+++ b\n@@ -1,3 +1,3 @@\n same\n-old\n+new\n+more\n") == 3
    assert diff_size("") == 0
    assert question_types('{"questions": [{"type": "units"}, {"type": "units"}, '
                          '{"type": "payment"}]}') == ("units", "payment")
    assert question_types("not json") == question_types('{"questions": 3}') == ()
    # axis tops and steps: 1, 2 or 5 times a power of ten, at most five ticks, whole for counts
    assert [axis(v) for v in (0, 2, 4.5, 7, 11, 26, 240)] == [
        (1, 1), (2, 1), (5, 1), (8, 2), (15, 5), (30, 10), (250, 50)]
    assert axis(1, whole=False) == (1.0, 0.2) and axis(30, whole=False) == (30, 10)
    assert axis(0.3, whole=False)[0] == pytest.approx(0.3)


def test_summarize_counts_a_window_and_leaves_the_rest_out() -> None:
    now = datetime(2026, 11, 8, 12, tzinfo=UTC)
    old = now - timedelta(days=40)
    data = DeskData(
        cases=[CaseRow(1, now - timedelta(days=1), "sent", False, ("99213",))],
        replies=[ReplyRow(1, now - timedelta(days=1), now - timedelta(hours=20),
                          now - timedelta(hours=20), "sent", ""),
                 ReplyRow(2, old, old + timedelta(hours=1), old + timedelta(hours=1), "sent",
                          "-a\n+b\n")],  # answered long before the window
        actions=[], question_types={1: ("units",)}, overdue_now=0)
    stats = summarize(data, now=now, days=7, sla_hours=24)
    assert stats.answered == 1 and stats.p50_hours == 4.0 and stats.replies == 1
    assert stats.unedited == 1 and stats.top_codes == [("99213", 1)]
    assert len(stats.day_labels) == 7 and stats.day_labels[-1] == now.date()
    assert sum(stats.per_day["sent"]) == 1


def test_dashboard_figures_of_a_fortnight(make_web: Any, db_url: str) -> None:
    web: WebApp = make_web(db_url)
    web.add_user(RITA, "reviewer")
    web.add_user(ADAM, "admin")
    desk = make_desk(web)
    assert desk.edit_lines >= 2
    client = web.client()
    web.login(client, ADAM)
    data = client.get("/api/dashboard", params={"days": 14}).json()

    days = {d["day"]: d for d in data["cases_per_day"]}
    assert len(days) == 14 and min(days) == "2026-10-26" and max(days) == "2026-11-08"
    assert days["2026-10-26"]["sent"] == 1 and days["2026-10-27"]["sent"] == 1
    assert days["2026-11-03"]["awaiting_info"] == 1
    assert days["2026-11-04"]["quarantined"] == 1
    assert days["2026-11-05"]["awaiting_review"] == 1 and days["2026-11-05"]["closed"] == 1
    assert sum(sum(v for k, v in d.items() if k != "day") for d in days.values()) == 7

    answers = data["time_to_answer"]
    assert answers["answered"] == 3
    assert answers["p50_hours"] == 4.0 and answers["p90_hours"] == 30.0
    assert answers["weeks"] == [
        {"week": "2026-10-26", "answered": 2, "p50_hours": 4.0, "p90_hours": 30.0,
         "breached": 1},
        {"week": "2026-11-02", "answered": 1, "p50_hours": 1.5, "p90_hours": 1.5,
         "breached": 0}]
    assert data["sla"] == {"breached": 1, "overdue_now": 1}  # knee late; units waits

    edits = data["edits"]
    assert (edits["replies"], edits["unedited"], edits["edited"]) == (3, 2, 1)
    by_type = {t["type"]: t for t in edits["by_question_type"]}
    assert by_type["units"] == {"type": "units", "replies": 1, "unedited": 0, "edited": 1,
                                "median_lines": desk.edit_lines,
                                "mean_lines": float(desk.edit_lines)}
    assert by_type["bill_together"]["replies"] == by_type["which_modifier"]["replies"] == 2
    assert by_type["bill_together"]["edited"] == 0

    expert = data["needs_expert"]
    assert (expert["cases"], expert["needs_expert"]) == (7, 3)  # knee, aetna, units
    assert [(w["week"], w["cases"], w["needs_expert"]) for w in expert["weeks"]] == [
        ("2026-10-26", 2, 1), ("2026-11-02", 5, 2)]

    codes = {c["code"]: c["cases"] for c in data["top_codes"]}
    assert codes["43214"] == 2 and codes["43200"] == 2 and codes["20610"] == 1
    assert data["top_codes"][0]["cases"] == 2
    types = {t["type"]: t["cases"] for t in data["top_question_types"]}
    assert types["bill_together"] == 3 and types["units"] == 2 and types["payer_policy"] == 3

    assert data["reviewers"] == [
        {"reviewer": RITA, "approved": 2, "asked": 0, "closed": 1, "edited": 0},
        {"reviewer": ADAM, "approved": 1, "asked": 1, "closed": 0, "edited": 1}]

    # a shorter window leaves the first week out
    week = client.get("/api/dashboard", params={"days": 7}).json()
    assert week["time_to_answer"]["answered"] == 1 and week["sla"]["breached"] == 0
    assert client.get("/api/dashboard", params={"days": 3}).status_code == 422


def test_dashboard_page_is_for_admins_and_draws_the_charts(web: WebApp) -> None:
    make_desk(web)
    reviewer = web.client()
    web.login(reviewer, RITA)
    assert reviewer.get("/dashboard").status_code == 403
    assert reviewer.get("/api/dashboard").status_code == 403
    assert 'href="/dashboard"' not in reviewer.get("/").text
    admin = web.client()
    web.login(admin, ADAM)
    assert 'href="/dashboard"' in admin.get("/").text
    page = admin.get("/dashboard", params={"days": 14})
    assert page.status_code == 200
    html = page.text
    assert html.count("<svg") == 9
    assert 'id="kpi-answered">3<' in html and 'id="kpi-p50">4.0 h<' in html
    assert 'id="kpi-breached">1<' in html and 'id="kpi-overdue">1<' in html
    assert 'id="kpi-unedited">67%<' in html and 'id="kpi-expert">43%<' in html
    assert "style=" not in html and "<script>" not in html  # the CSP allows neither
    # the stacked bars: one rect per non-empty (day, status); Oct 26 is one sent case
    assert re.search(r'<rect class="c-sent" [^>]*><title>10-26: sent 1</title>', html)
    assert admin.get("/dashboard", params={"days": 2}).status_code == 200  # clamped to 7


def test_charts_escape_labels_and_draw_to_scale() -> None:
    evil = '<script>alert(1)</script>"&'
    svg = str(hbars([(evil, [Segment("cases", 3, "c-bar")]),
                     ("b", [Segment("cases", 6, "c-bar")])], title=evil))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&#34;&amp;" in svg
    widths = [float(w) for w in re.findall(r'<rect class="c-bar" x="[\d.]+" y="\d+" '
                                           r'width="([\d.]+)"', svg)]
    assert widths[1] == pytest.approx(2 * widths[0])  # 6 is twice 3
    bars = str(stacked_bars(["a", "b"], [Series("x", [1, 2], "c-sent"),
                                        Series("y", [1, 0], "c-late")], title="t"))
    heights = [float(h) for h in re.findall(r'height="([\d.]+)"><title>', bars)]
    assert heights == pytest.approx([heights[0], heights[0], 2 * heights[0]])  # a: 1+1, b: 2
    assert bars.count("<rect") == 3  # no rect for a zero
    lines = str(line_chart(["w1", "w2", "w3"], [Series("p50", [1.0, None, 2.0], "c-p50")],
                           title="t"))
    assert lines.count("<circle") == 2 and "<polyline" not in lines  # None breaks the line
    shares = str(hbars([("t", [Segment("unedited", 1, "c-unedited"),
                               Segment("edited", 3, "c-edited")])], title="t", normalize=True))
    assert "25% unedited" in shares and "(75%)" in shares


def test_an_empty_desk_draws_without_errors(web: WebApp) -> None:
    admin = web.client()
    web.login(admin, ADAM)
    page = admin.get("/dashboard")
    assert page.status_code == 200 and "No reply was approved in this window." in page.text
    assert admin.get("/api/dashboard").json()["time_to_answer"]["p50_hours"] is None
    web.ingest(consultation())
    assert admin.get("/dashboard").status_code == 200
