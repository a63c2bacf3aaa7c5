"""The dashboard in Debian's chromium: the charts render under the app's CSP (no violation, the
colours from app.css reach the SVG), every chart has a size, the tooltips carry the numbers,
and the page reads on a wide screen and a phone. Screenshots go to screenshots/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from web.conftest import PASSWORD, Served, WebApp
from web.desk_scenario import ADAM, make_desk

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).resolve().parents[2] / "screenshots"


def test_dashboard_in_the_browser(web: WebApp, browser: Any) -> None:
    make_desk(web)
    SHOTS.mkdir(exist_ok=True)
    with Served(web) as served:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        console: list[str] = []
        missing: list[str] = []
        page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
        page.on("response", lambda r: missing.append(r.url) if r.status >= 400 else None)
        page.goto(f"{served.url}/login?next=/dashboard%3Fdays%3D14")
        page.fill("input[name=email]", ADAM)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{served.url}/dashboard?days=14")

        charts = page.locator("svg.chart")
        assert charts.count() == 9
        for i in range(charts.count()):
            box = charts.nth(i).bounding_box()
            assert box is not None and box["width"] >= 300 and box["height"] >= 30, i
        # the colours come from app.css under the CSP: a sent bar is green, a late one red
        fill = page.eval_on_selector("#per-day rect.c-sent",
                                     "el => getComputedStyle(el).fill")
        assert fill == "rgb(26, 127, 55)"
        assert page.eval_on_selector("#sla rect.c-late",
                                     "el => getComputedStyle(el).fill") == "rgb(180, 35, 24)"
        assert page.eval_on_selector("#answer-times polyline",
                                     "el => getComputedStyle(el).fill") == "none"
        swatch = page.eval_on_selector("#per-day .swatch.c-sent",
                                       "el => getComputedStyle(el).backgroundColor")
        assert swatch == "rgb(26, 127, 55)"
        tips = page.locator("#answer-times circle title").all_text_contents()
        assert "10-26: p90 30 h" in tips and "11-02: p50 1.5 h" in tips
        assert page.locator("#kpi-p90").inner_text() == "30.0 h"
        assert page.locator("#reviewers tbody tr").count() == 2
        assert not [c for c in console if "Content Security Policy" in c]
        assert [u for u in missing if not u.endswith("/favicon.ico")] == []
        assert not [c for c in console if "error" in c and "404" not in c]
        page.screenshot(path=str(SHOTS / "dashboard.png"), full_page=True)

        page.set_viewport_size({"width": 420, "height": 900})  # a phone: one column
        page.reload()
        widths = page.eval_on_selector_all(
            "svg.chart", "els => els.map(e => e.getBoundingClientRect().right)")
        assert max(widths) <= 420
        page.screenshot(path=str(SHOTS / "dashboard-narrow.png"), full_page=True)
        context.close()
