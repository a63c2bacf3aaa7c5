"""``parse_tree`` reads clean mail without the stdlib's feed parser: it must build exactly the
tree the stdlib builds (headers, envelope line, payloads, preamble, epilogue, defects), on the
real-world corpus and on header blocks made to sit on each edge of its fast path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from consult.mail.mime_tree import _PARSER as STDLIB  # the stdlib parser it falls back to
from consult.mail.mime_tree import parse_tree

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mail-corpus"


def shape(msg: Any) -> object:
    payload = msg.get_payload()
    # (an empty preamble or epilogue is None one way and "" the other: the same text)
    return (msg.get_unixfrom(), msg.items(), sorted(type(d).__name__ for d in msg.defects),
            msg.preamble or "", msg.epilogue or "",
            [shape(p) for p in payload] if msg.is_multipart() else payload)


def same_as_stdlib(raw: bytes) -> None:
    text = raw.decode("ascii", "surrogateescape")
    assert shape(parse_tree(raw)) == shape(STDLIB.parsestr(text))


#: Mails the fast path has read differently from the stdlib since it was written (a boundary
#: the stdlib misses, base64 message/rfc822 parts): malformed or unusual MIME whose reading the
#: intake tests pin down. Any other mail must come out exactly as the stdlib reads it.
KNOWN_DIFFERENT = {
    "james-mime4j/mimetools-testmsgs/badbound.msg",
    "james-mime4j/mimetools-testmsgs/multi-2gifs-base64.msg",
    "james-mime4j/testmsgs/base64encoded-rfc822message-nested.msg",
    "thunderbird/mailnews/mime/jsmime/test/unit/data/multipart-base64-1",
    "thunderbird/mail/test/browser/attachment/data/rfc822_base64_attachment.eml",
    "stalwart-mail-parser/rfc/008.eml",
    "spamscope-mail-parser/mail_test_6",
}


def test_the_corpus_parses_as_the_stdlib_parses() -> None:
    files = [p for p in CORPUS.rglob("*") if p.is_file() and p.suffix not in (".md", ".tsv")]
    assert len(files) > 1_000, "the mail corpus is missing"
    different = set()
    for path in files:
        raw = path.read_bytes()
        text = raw.decode("ascii", "surrogateescape")
        if shape(parse_tree(raw)) != shape(STDLIB.parsestr(text)):
            different.add(str(path.relative_to(CORPUS)))
    assert different == KNOWN_DIFFERENT


BODY = "Body line one.\r\nFrom the desk: a body line that starts with From.\r\n"
EDGES = [
    "From sender@example.org Mon Dec  7 10:00:00 2026\r\nSubject: envelope first\r\n",
    "Subject: envelope last\r\nFrom sender@example.org Mon Dec  7 10:00:00 2026\r\n",
    "Subject: envelope between\r\nFrom x\r\nTo: a@example.org\r\n",
    " continuation first\r\nSubject: x\r\n",
    "Subject: folded\r\n\tsecond line\r\n  third\r\n",
    ": no name\r\nSubject: x\r\n",
    "Subject x without colon\r\nTo: a@example.org\r\n",
    "Subject: bare LF\nTo: a@example.org\n",
    "Subject: mixed\r\nTo: a@example.org\n",
    "Subject: bare CR\rTo: a@example.org\r",
    "X-Weird-\u00e9: 8-bit name\r\nSubject: x\r\n",
    "Subject: \u00e9t\u00e9 raw 8-bit value\r\n",
    "Subject: spaces before colon   : x\r\nTo : a@example.org\r\n",
]


@pytest.mark.parametrize("head", EDGES, ids=range(len(EDGES)))
def test_each_edge_of_the_header_block_as_the_stdlib(head: str) -> None:
    nl = "\n" if "\r" not in head else ("\r" if "\r\n" not in head else "\r\n")
    same_as_stdlib((head + nl + BODY).encode("utf-8", "surrogateescape"))
    multipart = (head + f"Content-Type: multipart/mixed; boundary=b{nl}{nl}pre{nl}--b{nl}"
                 f"{head}{nl}{BODY}--b--{nl}epilogue{nl}")
    same_as_stdlib(multipart.encode("utf-8", "surrogateescape"))
