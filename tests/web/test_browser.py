"""A reviewer in Debian's chromium: log in, open a case from the queue with the keyboard, edit
the draft, approve and send -> the reply arrives at a real aiosmtpd sink. Hostile mail stays
inert in the real browser. Screenshots of the queue and the case page go to screenshots/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support.mails import consultation
from support.servers import SmtpSink

from consult.clock import utcnow
from web.conftest import PASSWORD, Served, WebApp
from web.test_escaping import hostile_mail
from workers.sender import Sender

SHOTS = Path(__file__).resolve().parents[2] / "screenshots"


def test_review_in_the_browser_reply_reaches_the_sink(
        make_web: Any, smtp_sink: SmtpSink, browser: Any) -> None:
    web: WebApp = make_web(smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                           smtp_starttls=False)
    web.add_user("rita@consult.test")
    case_id = web.ingest(consultation())
    web.clock.advance(hours=1)
    web.ingest(consultation(message_id="k@x", subject="Knee injection units",
                            body="Can we bill 20610 with J1030 x 2?\n\nLee",
                            sender="lee@ortho.example", name="Lee Park"))
    web.clock.advance(hours=1)
    evil = web.ingest(hostile_mail("b1"))
    web.clock.advance(hours=23)  # the first case is now overdue (SLA 24h)
    SHOTS.mkdir(exist_ok=True)

    dialogs: list[str] = []
    with Served(web) as served:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()

        def on_dialog(dialog: Any) -> None:
            dialogs.append(dialog.message)
            dialog.accept()

        page.on("dialog", on_dialog)
        page.goto(f"{served.url}/cases/{case_id}")
        assert page.url.startswith(f"{served.url}/login")
        page.fill("input[name=email]", "rita@consult.test")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{served.url}/cases/{case_id}")

        page.goto(f"{served.url}/")
        assert page.locator("tr.row").count() == 3
        assert page.locator(".badge.due-overdue").count() >= 1
        page.screenshot(path=str(SHOTS / "queue.png"), full_page=True)

        # the hostile mail opens without running anything
        page.goto(f"{served.url}/cases/{evil}")
        assert "<svg/onload=alert(2)>" in page.locator("pre.signature").first.inner_text()
        assert page.locator("main img, main svg, main iframe").count() == 0
        assert dialogs == []

        # keyboard: j selects the first row, o opens it
        page.goto(f"{served.url}/")
        page.keyboard.press("j")
        page.keyboard.press("o")
        page.wait_for_url(f"{served.url}/cases/{case_id}")
        assert page.locator("#case").get_attribute("data-case-id") == str(case_id)

        page.keyboard.press("e")  # focus the draft
        assert page.evaluate("document.activeElement.id") == "draft-body"
        draft = page.locator("#draft-body")
        edited = draft.input_value() + "\nReviewed by Rita: 59 applies only with a separate site.\n"
        draft.fill(edited)
        page.locator("#draft-body").press("Escape")
        page.screenshot(path=str(SHOTS / "case.png"), full_page=True)
        page.keyboard.press("a")  # approve and send, with a confirmation
        page.wait_for_url(f"{served.url}/cases/{case_id}?done=approved")
        assert dialogs == ["Send this reply to dana@clinic.example?"]
        assert "Approved" in page.locator(".notice").inner_text()

        assert Sender(web.settings, web.engine, clock=utcnow).run_once().sent == 1
        [mail] = smtp_sink.wait(1)
        text = mail.get_body(("plain",)).get_content()
        assert "Reviewed by Rita: 59 applies only with a separate site." in text
        assert mail["To"].addresses[0].addr_spec == "dana@clinic.example"

        page.reload()
        assert page.locator(".status").first.inner_text() == "sent"
        assert "+Reviewed by Rita" in page.locator("pre.diff").inner_text()
        page.screenshot(path=str(SHOTS / "case-sent.png"), full_page=True)
        context.close()
