"""Issue 13 in Debian's chromium: the reviewer sees Reply-To/Sender and chooses where the answer
goes (13), DMARC failures are marked in the queue (13), quarantined cases stay out of a
reviewer's "Earlier answers" (16), and bidirectional or control characters in names and
subjects show as markers (17)."""

from __future__ import annotations

from typing import Any

from support.mails import consultation
from support.servers import SmtpSink

from consult import review
from consult.clock import utcnow
from db.engine import session
from web.conftest import PASSWORD, Served, WebApp
from workers.sender import Sender

MX = "mx.consult.test"
EVIL_SUBJECT = "Re: 43214 \x1b]8;;http://evil.example\x07click\x1b]8;;\x07 \u202egnp.exe"


def _login(page: Any, url: str, email: str) -> None:
    page.goto(f"{url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/")


def test_reply_to_and_sender_are_shown_and_the_reviewer_chooses(
        make_web: Any, smtp_sink: SmtpSink, browser: Any) -> None:
    web: WebApp = make_web(smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                           smtp_starttls=False, trusted_authserv_ids=MX)
    web.add_user("rita@consult.test")
    case_id = web.ingest(consultation(extra_headers={
        "Reply-To": "Billing <billing@other.example>", "Sender": "assistant@clinic.example",
        "Authentication-Results": f"{MX}; dmarc=fail (p=none) header.from=clinic.example"}))
    with Served(web) as served:
        context = browser.new_context()
        page = context.new_page()
        page.on("dialog", lambda d: d.accept())
        _login(page, served.url, "rita@consult.test")
        row = page.locator(f"tr.row[data-id='{case_id}']")
        assert "DMARC fail" in row.inner_text()
        page.goto(f"{served.url}/cases/{case_id}")
        assert page.locator("#dmarc-fail").count() == 1
        options = page.locator("#recipients label").all_inner_texts()
        assert [o.split(":")[0].strip() for o in options] == ["From", "Reply-To", "Sender"]
        assert page.locator("#recipients input[value='dana@clinic.example']").is_checked()
        page.check("#recipients input[value='billing@other.example']")
        page.click("#approve")
        page.wait_for_url(f"{served.url}/cases/{case_id}?done=approved")
        context.close()
    assert Sender(web.settings, web.engine, clock=utcnow).run_once().sent == 1
    [mail] = smtp_sink.wait(1)
    assert mail["To"].addresses[0].addr_spec == "billing@other.example"
    assert smtp_sink.received[0][1] == ["billing@other.example"]


def test_quarantined_cases_are_not_a_reviewers_earlier_answer(
        make_web: Any, browser: Any) -> None:
    web: WebApp = make_web()
    web.add_user("rita@consult.test")
    web.add_user("adam@consult.test", "admin")
    old = web.ingest(consultation(message_id="old@clinic.example",
                                  subject="Old question on 43214 SECRET-TOPIC"))
    with session(web.engine) as s:  # answered and sent ...
        review.approve(s, old, web.settings, actor="adam@consult.test", now=web.clock())
        s.commit()
    assert Sender(web.settings, web.engine, clock=utcnow).run_once().sent == 1
    web.clock.advance(hours=1)
    web.ingest(consultation(message_id="f@clinic.example", subject="Re: old",
                            extra_headers={"In-Reply-To": "<old@clinic.example>"}))
    with session(web.engine) as s:  # ... reopened by a follow-up, then put in quarantine
        review.quarantine(s, old, actor="adam@consult.test", now=web.clock(), reason="abuse")
        s.commit()
    web.clock.advance(hours=1)
    new = web.ingest(consultation(message_id="new@clinic.example", subject="43214 again"))
    with Served(web) as served:
        for who, sees in (("rita@consult.test", False), ("adam@consult.test", True)):
            context = browser.new_context()
            page = context.new_page()
            _login(page, served.url, who)
            page.goto(f"{served.url}/cases/{new}")
            assert ("SECRET-TOPIC" in page.content()) is sees, who
            context.close()


def test_bidi_and_control_characters_show_as_markers(make_web: Any, browser: Any) -> None:
    web: WebApp = make_web()
    web.add_user("rita@consult.test")
    case_id = web.ingest(consultation(subject=EVIL_SUBJECT, name="Dana \u202eWhitfield"))
    with Served(web) as served:
        context = browser.new_context()
        page = context.new_page()
        _login(page, served.url, "rita@consult.test")
        for path in ("/", f"/cases/{case_id}"):
            page.goto(f"{served.url}{path}")
            shown = page.locator("main").inner_text()
            assert "\u202e" not in shown and "\x1b" not in shown and "\x07" not in shown, path
            assert "[U+202E]gnp.exe" in shown and "\u241b]8;;http://evil.example\u2407" in shown
        context.close()
