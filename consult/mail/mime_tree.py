"""Raw bytes -> a compat32 ``Message`` tree, fast for well-formed mail, exact for the rest.

The stdlib feed parser walks every body line in Python, which is most of the cost of parsing a
10 KB mail. Well-formed mail does not need that: the header block ends at the first blank line
and multipart bodies split on their boundary lines, both found with one regex search each.
This module does that and hands only the small header blocks to the stdlib parser. Whenever the
structure is not clean (header defects, a missing boundary or closing delimiter, bare-CR line
ends, nesting deeper than ``MAX_DEPTH``) it falls back to the stdlib parser for the whole
message, so odd mail gets the stdlib's tolerant handling and its defect list.
"""

from __future__ import annotations

import re
from email.message import Message
from email.parser import Parser
from email.policy import compat32
from functools import lru_cache
from typing import Any

_MISSING = object()


class Part(Message):
    """A compat32 ``Message`` whose header-parameter lookups are memoized by header text.

    Parsing a mail asks each part for its boundary, charset, filename, name, format and delsp,
    and ``Message.get_param`` re-parses the whole header for every one of them. The answer
    depends only on the header's text, so it is worked out once per distinct value. Values
    with 8-bit bytes (which ``get`` returns as ``Header`` objects) take the stdlib path.
    """

    def get_param(self, param: str, failobj: Any = None, header: str = "content-type",
                  unquote: bool = True) -> Any:
        value = self.get(header, _MISSING)
        if not isinstance(value, str):
            return super().get_param(param, failobj, header, unquote)
        found = _param_in(value, param, unquote)
        return failobj if found is _MISSING else found


@lru_cache(maxsize=1024)
def _param_in(value: str, param: str, unquote: bool) -> Any:
    """``Message.get_param`` for a header whose (first) value is ``value``; _MISSING if absent."""
    probe = Message(policy=compat32)
    probe.set_raw("content-type", value)
    return Message.get_param(probe, param, _MISSING, "content-type", unquote)


_PARSER = Parser(Part, policy=compat32)
#: The feed parser's test for a header or continuation line (``email.feedparser.headerRE``).
_FEED_HEADER_LINE = re.compile(r"^(From |[\041-\071\073-\176]*:|[\t ])")
_HEADER_END = re.compile(r"\r?\n\r?\n")
_HEADER_LINE = re.compile(r"[!-9;-~]+[ \t]*:|[ \t]")
MAX_DEPTH = 8


class _NotClean(Exception):
    """The fast path cannot reproduce the stdlib's reading; parse the slow, tolerant way."""


def parse_tree(raw: bytes) -> Message:
    """The message tree for ``raw`` (never None; defects are on the returned parts)."""
    text = raw.decode("ascii", "surrogateescape")
    if "\r" in text and "\r\n" not in text:
        return _PARSER.parsestr(text)  # bare-CR line ends: only the stdlib handles those
    try:
        return _fast(text, 0)
    except _NotClean:
        return _PARSER.parsestr(text)


def _fast(text: str, depth: int) -> Message:
    if depth > MAX_DEPTH:
        raise _NotClean
    if text.startswith(("\r\n", "\n")):
        head, body = "", text[2 if text.startswith("\r\n") else 1:]
    else:
        match = _HEADER_END.search(text)
        if match is None:
            raise _NotClean
        head, body = text[: match.start()], text[match.end():]
        for line in head.splitlines():
            if not _HEADER_LINE.match(line) and not (depth == 0 and line.startswith("From ")):
                raise _NotClean
    msg = _header_block(head) if head else Part()
    if msg.defects:
        raise _NotClean
    ctype = msg.get_content_type()  # read once; the maintype and subtype are its halves
    maintype = ctype.split("/")[0]
    if maintype == "multipart":
        if ctype.split("/")[1] == "digest":
            raise _NotClean  # parts default to message/rfc822 there; the stdlib knows that
        msg.set_payload(None)  # type: ignore[call-overload]
        for part_text in _split_parts(msg, body):
            msg.attach(_fast(part_text, depth + 1))
    elif ctype in ("message/rfc822", "message/global"):
        cte = (msg.get("content-transfer-encoding") or "7bit").strip().lower()
        if cte in ("7bit", "8bit", "binary"):
            msg.set_payload(None)  # type: ignore[call-overload]
            msg.attach(_fast(body, depth + 1))
        else:
            msg.set_payload(body)
    elif maintype == "message":
        raise _NotClean  # delivery-status and friends: let the stdlib build its sub-blocks
    else:
        msg.set_payload(body)
    return msg


def _header_block(head: str) -> Message:
    """What ``_PARSER.parsestr(head + "\\n\\n", headersonly=True)`` returns, read directly.

    The feed parser pushes every header line through a buffered line reader and a generator;
    for a block of plain field lines its result is just the fields (and a leading "From "
    envelope line), which this builds the same way (``compat32.header_source_parse``). Where
    the feed parser would note a defect, ``_NotClean`` sends the whole mail to the stdlib, as
    ``_fast`` does for any defect; bare-CR line ends, which split differently, go to the stdlib
    header parser.
    """
    if head.count("\r") != head.count("\r\n"):
        return _PARSER.parsestr(head + "\n\n", headersonly=True)
    msg = Part()
    lines = head.split("\n")
    value: list[str] = []
    for lineno, text in enumerate(lines):
        line = text + "\n"
        if not _FEED_HEADER_LINE.match(line):
            raise _NotClean  # MissingHeaderBodySeparatorDefect
        if line[0] in " \t":
            if not value:
                raise _NotClean  # FirstHeaderLineIsContinuationDefect
            value.append(line)
            continue
        if value:
            msg.set_raw(*compat32.header_source_parse(value))
            value = []
        if line.startswith("From "):
            if lineno == 0:
                msg.set_unixfrom(text[:-1] if text.endswith("\r") else text)
                continue
            # the feed parser takes a last one for the first body line (which this reading
            # would lose), any other for a MisplacedEnvelopeHeaderDefect: the stdlib's way
            raise _NotClean
        if line.startswith(":"):
            raise _NotClean  # InvalidHeaderDefect: a field with no name
        value = [line]
    if value:
        msg.set_raw(*compat32.header_source_parse(value))
    return msg


def _split_parts(msg: Message, body: str) -> list[str]:
    """The bodies between boundary lines; preamble and epilogue kept on ``msg``.

    A delimiter is "--boundary" at the start of a line, optionally "--" (the close), then only
    blanks to the end of the line; the line break before it belongs to the delimiter.
    """
    boundary = msg.get_boundary()
    if not boundary:
        raise _NotClean
    marker = "--" + boundary
    pieces: list[str] = []
    position: int | None = None
    search_from = 0
    while True:
        at = body.find(marker, search_from)
        if at < 0:
            raise _NotClean  # no closing delimiter: the stdlib reports the defect
        search_from = at + 1
        if at and body[at - 1] != "\n":
            continue
        end = at + len(marker)
        eol = body.find("\n", end)
        rest = body[end: len(body) if eol < 0 else eol].rstrip("\r")
        closing = rest.startswith("--")
        if (rest[2:] if closing else rest).strip(" \t"):
            continue  # "--boundaryX": a longer boundary, not ours
        start = at
        if at:
            start -= 2 if at >= 2 and body[at - 2] == "\r" else 1
        if position is None:
            msg.preamble = body[:start] or None
        else:
            pieces.append(body[position:start])
        if closing:
            msg.epilogue = (body[eol + 1:] if eol >= 0 else "") or None
            break
        position = len(body) if eol < 0 else eol + 1
    if not pieces:
        raise _NotClean
    return pieces
