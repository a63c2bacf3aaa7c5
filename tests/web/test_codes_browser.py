"""Code lookup in Debian's chromium: from a case's codes table to the code page, PTP search on
it, then the Codes page answering a coder's words. Screenshots go to screenshots/."""

from __future__ import annotations

from typing import Any

from support.mails import consultation

from web.conftest import PASSWORD, Served, WebApp
from web.test_browser import SHOTS


def test_code_lookup_in_the_browser(web: WebApp, browser: Any) -> None:
    case_id = web.ingest(consultation(
        message_id="d@x", subject="Dilation question",
        body="Can we bill 43214 with 43200 on the same day? Modifier 59?\n\nDana"))
    SHOTS.mkdir(exist_ok=True)
    with Served(web) as served:
        _walk(browser, served, case_id)


def _walk(browser: Any, served: Served, case_id: int) -> None:
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    page.goto(f"{served.url}/cases/{case_id}")
    page.fill("input[name=email]", "rita@consult.test")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{served.url}/cases/{case_id}")

    # the case's codes table links every code to its page
    page.click("section.codes a.code-link:has-text('43214')")
    page.wait_for_url(f"{served.url}/codes/43214")
    assert "30 mm or larger" in page.locator("td.lay").inner_text()
    assert page.locator("table.ptp-as_column1 tbody tr").count() >= 2
    assert page.locator("table.mue tbody tr").count() >= 1
    assert "Global days" in page.locator("table.pfs").inner_text()
    page.screenshot(path=str(SHOTS / "code-43214.png"), full_page=True)

    # searching the PTP edits narrows them to the codes that start that way
    page.fill("input[name=ptp]", "4320")
    page.press("input[name=ptp]", "Enter")
    page.wait_for_url(f"{served.url}/codes/43214?ptp=4320")
    cells = page.locator("table.ptp-as_column1 tbody tr td:nth-child(2)").all_inner_texts()
    assert cells and all(c.strip().startswith("4320") for c in cells)

    # the Codes page answers a coder's words
    page.click("header.top nav a:has-text('Codes')")
    page.wait_for_url(f"{served.url}/codes")
    page.fill("input[name=q]", "EGD with PEG tube placement")
    page.press("input[name=q]", "Enter")
    page.wait_for_load_state()
    first = page.locator("table.codes-found tbody tr").first
    assert "43246" in first.inner_text()
    page.screenshot(path=str(SHOTS / "codes-search.png"), full_page=True)

    # and says nothing for a cover note
    page.fill("input[name=q]", "a second opinion before we resubmit")
    page.press("input[name=q]", "Enter")
    page.wait_for_load_state()
    assert page.locator("p.abstained").count() == 1
    assert page.locator("table.codes-found").count() == 0
    context.close()
