"""The dedupe key follows the message's own content, not its transport."""

from __future__ import annotations

from support.mails import consultation

from consult.mail.fingerprint import fingerprint, split_head


def test_transport_headers_and_line_endings_do_not_change_it() -> None:
    raw = consultation()
    relayed = b"Received: from a by b\r\nReturn-Path: <x@y>\r\nX-Spam: 0\r\n" + raw
    lf = raw.replace(b"\r\n", b"\n")
    assert fingerprint(raw) == fingerprint(relayed) == fingerprint(lf)


def test_content_changes_it() -> None:
    base = consultation()
    assert fingerprint(base) != fingerprint(consultation(subject="other"))
    assert fingerprint(base) != fingerprint(consultation(body="another question about 43239"))
    assert fingerprint(base) != fingerprint(consultation(sender="other@clinic.example"))
    assert fingerprint(consultation(message_id=None)) != fingerprint(
        consultation(message_id=None, body="different"))


def test_split_head_handles_missing_body_and_mixed_endings() -> None:
    assert split_head(b"Subject: x") == (b"Subject: x", b"")
    assert split_head(b"A: 1\n\nbody\r\n\r\nmore") == (b"A: 1", b"body\r\n\r\nmore")
