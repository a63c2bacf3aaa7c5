"""The one set of patient-identifier patterns: extraction, the draft and the logs share them.

Three readers, one source of truth:

- ``consult.extract.phi`` finds PHI spans in a mail (``PHI_PATTERNS``, with ``VALUE_GROUP``
  naming the group that holds the identifier itself when the match includes its label);
- ``consult.draft`` masks what extraction missed in the quoted question (``mask`` with
  ``SAFETY_NET_KINDS``);
- ``consult.logs`` masks every log line and traceback (``redact``: every kind, plus bare dates and
  SQL parameter lists).

Every pattern is a verbose (``re.X``) regular expression source; ``compiled`` compiles them once.
Pure: no I/O, no state beyond the compiled-pattern cache.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import cache

_MONTHS = ("january|february|march|april|may|june|july|august|september|sept|october|november|"
           "december|jan|feb|mar|apr|jun|jul|aug|sep|oct|nov|dec")
#: A date as coders write it (``3/4/25``, ``2025-03-04``, ``March 4, 2025``, ``4 Mar 2025``);
#: the same text as ``consult.extract.dates.DATE_PATTERN``.
DATE_PATTERN = (
    r"(?:\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b|\d{4}-\d{1,2}-\d{1,2}\b"
    rf"|(?i:(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}})\b"
    rf"|(?i:\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{_MONTHS})\.?,?\s+\d{{4}})\b)"
)
#: A name: words on one line, separated by spaces (a tab or line break ends it: table headers
#: such as "Name<TAB>Mod<TAB>Units" are not names).
_NAME = (r"[A-Z][a-z'’-]+(?:[ ]+[A-Z]\.?)?(?:[ ]+[A-Z][a-z'’-]+){1,2}"
         r"|[A-Z][a-z'’-]+,[ ]*[A-Z][a-z'’-]+")

#: (kind, verbose regex) in the order one alternation of them tries them (earlier wins a tie).
PHI_PATTERNS: tuple[tuple[str, str], ...] = (
    ("name", rf"""(?:(?i:patient(?:'s)?\s+name|pt\.?\s+name|patient|pt|member|insured|subscriber|
        beneficiary|name)\s*[:\-–]?\s*|(?:Mr|Mrs|Ms|Miss|Mx)\.?\s+)(?P<nv>{_NAME})"""),
    ("dob", rf"""(?i:\b(?:DOB|D\.O\.B\.?|date\s+of\s+birth|birth\s*date|born(?:\s+on)?)\b)
        \s*[:\-]?\s*(?P<dv>{DATE_PATTERN})"""),
    ("mrn", r"""(?i:\b(?:MRN|MR\s*\#|medical\s+record\s*(?:number|no\.?|\#)?|
        chart\s*(?:\#|number|no\.?)|acct\.?\s*\#?|account\s*(?:\#|number|no\.?)|member\s+id|
        subscriber\s+id|MBI|policy\s*(?:\#|number|no\.?)|patient\s+id|pt\s+id|FIN|CSN)\b\.?)
        \s*[:\#]?\s*(?P<mv>[A-Z0-9-]*\d[A-Z0-9-]*)"""),
    ("ssn", r"\b\d{3}-\d{2}-\d{4}\b|(?i:\bSSN\b)\s*[:\#]?\s*\d{9}\b"),
    ("email", r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
    ("phone", r"(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\b\d{3}[\s.-])\d{3}[\s.-]\d{4}\b"),
    ("address", r"""\b\d{1,6}\s+(?:[NSEW]\.?\s+)?(?:[A-Z][A-Za-z]+\.?\s+){1,3}
        (?:St|Street|Ave|Avenue|Rd|Road|Blvd|Boulevard|Dr|Drive|Ln|Lane|Way|Ct|Court|Pkwy|
        Parkway|Hwy|Highway|Pl|Place|Cir|Circle|Ter|Terrace|Trl|Trail|Pike|Loop|Plaza)\b\.?
        (?:,?\s*(?:Apt|Unit|Suite|Ste|\#)\.?\s*\w+)?
        (?:,\s*[A-Z][a-z]+(?:\s[A-Z][a-z]+)?,\s*[A-Z]{2}\s+\d{5}(?:-\d{4})?)?"""),
)
#: The group holding the identifier itself, for kinds whose match includes a label.
VALUE_GROUP: dict[str, str] = {"name": "nv", "dob": "dv", "mrn": "mv"}

#: Broader shapes for masking (never for finding spans): any value after an identifier label,
#: any date, SQLAlchemy's "[parameters: ...]" block (bound values of a failed statement) and a
#: URL-encoded e-mail address.
EXTRA_PATTERNS: tuple[tuple[str, str], ...] = (
    ("labelled_id", r"""(?i:\b(?:MRN|DOB|SSN|acct|account|member\s+id|subscriber\s+id|MBI|
        patient\s+id)\b|\bMR\#|\bD\.O\.B\.?)\s*[:\#]?\s*[\w/.-]+"""),
    ("date", DATE_PATTERN),
    ("sql_parameters", r"\[parameters:[^\]\n]*(?:\]|$)"),
    ("url_email", r"[\w.+-]+%40[\w-]+(?:\.[\w-]+)+"),
)
#: What the draft masks in the quoted question even when extraction found no span there.
SAFETY_NET_KINDS: tuple[str, ...] = ("ssn", "labelled_id", "email", "phone")
#: What the logs mask: everything.
LOG_KINDS: tuple[str, ...] = ("sql_parameters", "name", "dob", "labelled_id", "mrn", "ssn",
                              "email", "url_email", "phone", "address", "date")

_SOURCES = dict(PHI_PATTERNS + EXTRA_PATTERNS)

#: Lower-case strings one of which every match of a kind holds, on ASCII text: ``mask`` skips
#: the pattern of a text that holds none (a draft masks four kinds in every question and
#: answer; most hold no ``@``, no ``-``, no label). Not used on other text, where a
#: case-insensitive pattern can match beyond ASCII (``s`` matches the long s). A test holds
#: the words to the patterns.
NEEDS: dict[str, tuple[str, ...]] = {
    "ssn": ("-", "ssn"),
    "labelled_id": ("mrn", "dob", "ssn", "acct", "account", "member", "subscriber", "mbi",
                    "patient", "mr#", "d.o.b"),
    "email": ("@",),
    "url_email": ("%40",),
    "sql_parameters": ("[parameters:",),
}
#: For a kind made of digits: a simple pattern every match (on ASCII text) holds.
NEEDS_RE: dict[str, re.Pattern[str]] = {
    "phone": re.compile(r"\d[\s.-]\d{4}"),
}


def may_match(kind: str, text: str) -> bool:
    """False only when ``kind``'s pattern cannot match ``text`` (``NEEDS``, ``NEEDS_RE``)."""
    if not text.isascii():
        return True
    words = NEEDS.get(kind)
    if words is not None:
        low = text.lower()
        return any(w in low for w in words)
    rx = NEEDS_RE.get(kind)
    return rx is None or rx.search(text) is not None


@cache
def compiled(kind: str) -> re.Pattern[str]:
    """The compiled pattern of ``kind`` (``re.X``); KeyError for an unknown kind."""
    return re.compile(_SOURCES[kind], re.X)


def mask(text: str, kinds: Iterable[str],
         replacement: str | Callable[[str], str] = lambda kind: f"[{kind}]") -> str:
    """``text`` with each match of ``kinds`` (applied in that order) replaced.

    For a kind with a value group only the value is replaced, so the label stays readable
    ("MRN: [mrn]"). ``replacement`` is a fixed string or a function of the kind.
    """
    for kind in kinds:
        if not may_match(kind, text):
            continue  # no match: the text stays as it is
        repl = replacement if isinstance(replacement, str) else replacement(kind)
        group = VALUE_GROUP.get(kind)
        if group is None:
            text = compiled(kind).sub(repl.replace("\\", "\\\\"), text)
            continue

        def keep_label(m: re.Match[str], group: str = group, repl: str = repl) -> str:
            start, end = m.span(group)
            whole = m.group(0)
            return whole[:start - m.start()] + repl + whole[end - m.start():]

        text = compiled(kind).sub(keep_label, text)
    return text


def redact(text: str) -> str:
    """A log line (or traceback) with every patient identifier shape masked."""
    if not text:
        return text
    return mask(text, LOG_KINDS)
