"""Dates as coders write them (``3/4/25``, ``2025-03-04``, ``March 4, 2025``, ``4 Mar 2025``).

Pure parsing, no clock: a date without a year is not guessed (that would need "today").
"""

from __future__ import annotations

import re
from datetime import date

_MONTHS = {
    m: i
    for i, names in enumerate(
        (
            ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
            ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
            ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for m in names
}
_MONTH_ALT = "|".join(sorted(_MONTHS, key=len, reverse=True))

DATE_PATTERN = (
    r"(?:\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b|\d{4}-\d{1,2}-\d{1,2}\b"
    rf"|(?i:(?:{_MONTH_ALT})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}})\b"
    rf"|(?i:\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{_MONTH_ALT})\.?,?\s+\d{{4}})\b)"
)
_NUMERIC = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{2,4})")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_MDY = re.compile(rf"(?i)({_MONTH_ALT})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})")
_DMY = re.compile(rf"(?i)(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_ALT})\.?,?\s+(\d{{4}})")


def _make(y: int, m: int, d: int) -> date | None:
    if y < 100:
        y += 2000
    try:
        return date(y, m, d)
    except ValueError:
        return None


def parse_date(text: str) -> date | None:
    """The date ``text`` spells (US month-first for numeric forms), or None."""
    s = text.strip()
    if m := _ISO.fullmatch(s):
        return _make(int(m[1]), int(m[2]), int(m[3]))
    if m := _NUMERIC.fullmatch(s):
        return _make(int(m[3]), int(m[1]), int(m[2]))
    if m := _MDY.fullmatch(s):
        return _make(int(m[3]), _MONTHS[m[1].lower()], int(m[2]))
    if m := _DMY.fullmatch(s):
        return _make(int(m[3]), _MONTHS[m[2].lower()], int(m[1]))
    return None
