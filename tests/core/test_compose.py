"""Replies are threaded, tagged once, and immune to header injection."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy

from consult.mail.compose import (
    LOOP_HEADER,
    ReplyEnvelope,
    build_reply,
    reply_subject,
    sanitize_header_value,
)


def test_reply_subject_adds_one_prefix_and_one_tag() -> None:
    assert reply_subject("43214 with 43200?", 7) == "Re: 43214 with 43200? [Case #7]"
    assert reply_subject("RE: Fwd: re: 43214 [Case #7]", 7) == "Re: 43214 [Case #7]"
    assert reply_subject("", 3) == "Re: Your coding question [Case #3]"


def test_header_injection_is_neutralised() -> None:
    evil = "Hello\r\nBcc: victim@example.com\r\nX-Evil: 1"
    assert "\n" not in sanitize_header_value(evil) and "\r" not in sanitize_header_value(evil)
    env = ReplyEnvelope(
        from_address="consult@consult.test", to_address="dana@clinic.example",
        to_name="Dana\r\nBcc: victim@example.com", subject=reply_subject(evil, 1),
        in_reply_to="q1@clinic.example", references=("a@b",), message_id="r1@consult.test",
        date=datetime(2026, 11, 20, tzinfo=UTC), loop_domain="consult.test")
    raw = build_reply(env, "text body", "<p>html</p>")
    msg = message_from_bytes(raw, policy=policy.default)
    assert msg["Bcc"] is None and msg["X-Evil"] is None
    assert msg["In-Reply-To"] == "<q1@clinic.example>"
    assert msg["References"] == "<a@b> <q1@clinic.example>"
    assert msg["Message-ID"] == "<r1@consult.test>"
    assert msg[LOOP_HEADER] == "consult.test"
    assert msg.get_body(("plain",)).get_content().strip() == "text body"
    assert msg.get_body(("html",)).get_content().strip() == "<p>html</p>"
