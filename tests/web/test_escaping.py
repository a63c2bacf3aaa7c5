"""Inbound mail is never rendered as HTML: script, event-handler and markup payloads in the
subject, the sender's name, the body, an HTML part and attachment names all show as inert text."""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from html.parser import HTMLParser

from consult import review
from db.engine import session
from web.conftest import WebApp

PAYLOADS = [
    "<script>alert('subject')</script>",
    '<img src=x onerror="alert(1)">',
    "<svg/onload=alert(2)>",
    '<a href="javascript:alert(3)">click me</a>',
    "<iframe src=//evil.example></iframe>",
    "{{ 7*7 }}{% raw %}",
    '"><b onmouseover=alert(4)>bold</b>',
]
OUR_SCRIPT = "/static/app.js"


def hostile_mail(marker: str) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = Address(display_name=f"{PAYLOADS[1]} {PAYLOADS[6]}",
                          addr_spec="mallory@evil.example")
    msg["To"] = "consult@consult.test"
    msg["Subject"] = f"{PAYLOADS[0]} 43214 {marker}"
    msg["Message-ID"] = f"<{marker}@evil.example>"
    msg["Date"] = "Mon, 16 Nov 2026 14:00:00 +0000"
    body = "Can we bill 43214 with 43200?\n" + "\n".join(PAYLOADS) + "\nThanks, Mallory\n"
    msg.set_content(body)
    msg.add_alternative(f"<html><body><p>Question</p>{''.join(PAYLOADS)}"
                        "<script>alert('html part')</script></body></html>", subtype="html")
    msg.add_attachment(b"CPT 43214\n<script>alert('att')</script>\n", maintype="text",
                       subtype="plain", filename=f"{PAYLOADS[1]}notes.txt")
    return msg.as_bytes()


class Elements(HTMLParser):
    """Every element and attribute the browser would build from the page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def assert_inert(html: str) -> None:
    parser = Elements()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert tag not in {"img", "svg", "iframe", "b"}, (tag, attrs)
        if tag == "script":
            assert attrs.get("src") == OUR_SCRIPT, attrs
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name, value)
            assert "javascript:" not in (value or "").lower(), (tag, name, value)
    assert "<script>alert" not in html
    assert "49" not in html.split("{{ 7*7 }}")[0][-5:]  # the template expression is not run


def test_hostile_mail_shows_as_text_everywhere(web: WebApp) -> None:
    case_id = web.ingest(hostile_mail("m1"))
    admin = web.client()
    token = web.login(admin, "adam@consult.test")

    queue = admin.get("/?status=all")
    assert queue.status_code == 200
    assert_inert(queue.text)
    assert "&lt;script&gt;alert(&#39;subject&#39;)&lt;/script&gt;" in queue.text
    assert "&lt;b onmouseover=alert(4)&gt;" in queue.text  # the sender's name

    page = admin.get(f"/cases/{case_id}")
    assert page.status_code == 200
    assert_inert(page.text)
    assert "&lt;svg/onload=alert(2)&gt;" in page.text  # the body, as text
    assert "{{ 7*7 }}" in page.text
    assert "notes.txt" in page.text and "&lt;img src=x onerror=" in page.text  # attachment name

    # quarantine it with a hostile reason: the admin's quarantine view stays inert too
    resp = admin.post(f"/cases/{case_id}/quarantine",
                      data={"csrf_token": token, "reason": PAYLOADS[3]})
    assert resp.status_code == 303
    view = admin.get("/?status=quarantined")
    assert_inert(view.text)
    assert "&lt;a href=&#34;javascript:alert(3)&#34;&gt;" in view.text
    assert_inert(admin.get(f"/cases/{case_id}").text)

    # the draft built from the mail keeps the payload as text when edited and saved
    with session(web.engine) as s:
        draft = review.latest_draft(s, case_id)
        assert draft is not None
    assert_inert(admin.get("/api/docs").text)


def test_hostile_search_and_login_echo_are_inert(web: WebApp) -> None:
    client = web.client()
    login_page = client.get("/login?next=" + PAYLOADS[0])
    assert_inert(login_page.text)
    web.login(client, "rita@consult.test")
    page = client.get("/", params={"q": PAYLOADS[1]})
    assert page.status_code == 200
    assert_inert(page.text)
    assert "&lt;img src=x onerror=" in page.text
