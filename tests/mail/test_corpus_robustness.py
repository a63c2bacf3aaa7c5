"""Every corpus message parses without an exception; arbitrary bytes never raise."""

from __future__ import annotations

from email.parser import BytesParser
from email.policy import compat32
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consult.mail.message import ParsedMail
from consult.mail.mime_tree import parse_tree
from consult.mail.parse import _from_message, parse_message

from .builders import corpus_messages


def test_every_corpus_message_parses(corpus: Path) -> None:
    paths = corpus_messages(corpus)
    assert len(paths) > 1000
    kinds: dict[str, int] = {}
    unusable = 0
    for path in paths:
        mail = parse_message(path.read_bytes())
        assert isinstance(mail, ParsedMail)
        assert not any(d.startswith("parser error") for d in mail.defects), path
        kinds[mail.kind] = kinds.get(mail.kind, 0) + 1
        unusable += bool(mail.unusable)
    # The sisimai bounce collection alone holds hundreds of DSNs; some mail must be questions.
    assert kinds["bounce"] > 400 and kinds["question"] > 500
    assert kinds["auto_reply"] > 10 and kinds["mailing_list"] > 5
    assert 0 < unusable < len(paths) // 2


def test_fast_mime_tree_matches_stdlib_parse(corpus: Path) -> None:
    """The fast splitter must read mail as the stdlib does (one known better-read exception)."""
    slow = BytesParser(policy=compat32)
    better_than_stdlib = {"badbound.msg"}  # folded boundary parameter the stdlib misses
    differ = []
    for path in corpus_messages(corpus):
        raw = path.read_bytes()
        fast = _from_message(parse_tree(raw), frozenset(), depth=0)
        ref = _from_message(slow.parsebytes(raw), frozenset(), depth=0)
        key_fast = (fast.text, fast.quoted, fast.kind, fast.subject,
                    [(a.filename, a.text) for a in fast.attachments])
        key_ref = (ref.text, ref.quoted, ref.kind, ref.subject,
                   [(a.filename, a.text) for a in ref.attachments])
        if key_fast != key_ref and path.name not in better_than_stdlib:
            differ.append(path.name)
    assert differ == []


def test_known_corpus_cases(corpus: Path) -> None:
    tnef = parse_message((corpus / "mimekit/tnef/ukr.eml").read_bytes())
    assert [a.filename for a in tnef.attachments if "TNEF" in a.note] == ["winmail.dat"]
    replies = sorted((corpus / "sisimai-set-of-emails/bsd").glob("rfc3834-*.eml"))
    assert replies
    for path in replies:
        assert parse_message(path.read_bytes()).kind == "auto_reply", path
    not_bounce = parse_message(
        (corpus / "sisimai-set-of-emails/not/is-not-bounce-01.eml").read_bytes())
    assert not_bounce.kind == "question"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    mail = parse_message(raw)
    assert isinstance(mail, ParsedMail)


MIME_PIECES = st.sampled_from([
    b"From: a@b.example\r\n", b"Subject: =?utf-8?q?x?=\r\n", b"Content-Type: multipart/mixed;"
    b" boundary=b\r\n", b"Content-Type: message/rfc822\r\n", b"\r\n", b"--b\r\n", b"--b--\r\n",
    b"Content-Transfer-Encoding: base64\r\n", b"Content-Type: text/html; charset=bogus\r\n",
    b"<p>x</p>\r\n", b"Content-Disposition: attachment; filename*=utf-8''%C3%A9.pdf\r\n",
    b"\xff\xfe\r\n", b"=?utf-8?b?w6k?=\r\n", b"Date: Tue, 99 Foo 2020\r\n",
])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(MIME_PIECES, max_size=40))
def test_mime_shaped_garbage_never_raises(pieces: list[bytes]) -> None:
    mail = parse_message(b"".join(pieces))
    assert isinstance(mail, ParsedMail)
