"""Every date a mail gives, as coders write them, resolved against the mail's own date.

``dates.parse_date`` reads one written date with a year. A consult mail says more: "9/28",
"Oct 14th", "yesterday", "35 days after", "six weeks post-op", "POD 5", "the next day". Each
becomes a ``DateMention``: an absolute date (the year taken from the mail's date: the latest
such date not after it), or an offset in days from the service before it (``after_days``).
Pure: the reference date comes in as a parameter, never from the clock.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from datetime import date, timedelta

from consult.extract.cues import Caseless
from consult.extract.dates import _MONTH_ALT, _MONTHS, _make, parse_date
from consult.extract.traps import lower_same_length

#: A date without a year may lie this far after the mail's date (a scheduled service).
FUTURE_SLACK = timedelta(days=45)

_NUMBER = (r"\d{1,3}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
           r"fourteen|fifteen|twenty|thirty|forty|fifty|sixty|ninety|a|an|a\s+couple\s+of|"
           r"couple\s+of|several")
_WORD_NUMBERS = {
    "one": 1, "a": 1, "an": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fourteen": 14,
    "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "ninety": 90, "a couple of": 2, "couple of": 2, "several": 3,
}
_UNIT_DAYS = {"day": 1, "week": 7, "wk": 7, "month": 30, "mo": 30}

#: Numeric dates with a year: "3/4/25", "03-04-2025", "2025-03-04".
_NUMERIC_YEAR_AS_WRITTEN = r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b|\d{4}-\d{1,2}-\d{1,2}\b"
#: The same pattern with the digit both alternatives open with written once, first: a pattern
#: that opens with a character class lets ``re`` skip in C to the next digit, where one that
#: opens with alternatives is tried at every position (the same matches: ``\d{1,2}`` is
#: ``\d\d?``, ``\d{4}`` is ``\d\d{3}``, tried in the same order).
_NUMERIC_YEAR = re.compile(r"\d(?:\d?[/.-]\d{1,2}[/.-]\d{2,4}\b|\d{3}-\d{1,2}-\d{1,2}\b)")
#: "oct 14", "october 14th, 2025" (on lower-cased text; the year is optional).
_MONTH_DAY = re.compile(
    rf"\b(?P<mon>{_MONTH_ALT.lower()})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\b"
    r"(?:,?\s+(?P<year>\d{4})\b)?"
)
#: "14 oct", "14th of october 2025".
_DAY_MONTH = re.compile(
    rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon>{_MONTH_ALT.lower()})\b\.?"
    r"(?:,?\s+(?P<year>\d{4})\b)?"
)
#: "9/28" without a year: not inside a longer number/date, not a dose ("5/325").
_NUMERIC_MD = re.compile(
    r"(?<![\w/.$-])(?P<m>1[0-2]|0?[1-9])/(?P<d>3[01]|[12]\d|0?[1-9])(?![\w/%]|[.-]\d)"
    r"(?!\s*(?:hours?|hrs?|inch|in\b|cm|mm|mg|ml|tabs?|of\b|way|lbs?|strength))"
)
_TODAY = re.compile(r"\b(?:today|this\s+morning|this\s+afternoon|earlier\s+today)\b")
#: Words one of which every ``_TODAY`` match holds.
_TODAY_WORDS = ("today", "morning", "afternoon")
_YESTERDAY = re.compile(r"\byesterday\b")
_AGO = re.compile(
    rf"\b(?P<n>{_NUMBER})\s+(?P<unit>day|week|wk|month|mo)s?\s+ago\b"
)
_AFTER = re.compile(
    rf"\b(?P<n>{_NUMBER})[\s-]+(?P<unit>day|week|wk|month|mo)s?\s*"
    r"(?:(?:later|after(?:\s+(?:the\s+|her\s+|his\s+|their\s+)?(?:surgery|procedure|op\b|"
    r"operation))?|out(?:\s+from\s+(?:the\s+)?(?:surgery|procedure))?|"
    r"post[\s-]?op(?:erative(?:ly)?)?|following|s/p|status\s+post)|"
    r"(?:into|in)\s+(?:the|her|his|their)\s+global)\b"
)
#: What every ``_AFTER`` match holds: a unit, then the word that says "after" ("days later",
#: "weeks post-op", "months into the global"). A pattern that opens with literal words lets
#: ``re`` skip in C to the next one; ``_AFTER`` itself, opening with a boundary and a number
#: word, is tried at every position (a test holds this to ``_AFTER``).
_AFTER_UNIT = re.compile(r"(?:day|week|wk|month|mo)s?\s*(?:later|after|out|post|following|s/p|"
                         r"status|in)")
_BEFORE = re.compile(
    rf"\b(?P<n>{_NUMBER})\s+(?P<unit>day|week|wk|month|mo)s?\s+(?:before|prior(?:\s+to)?)\b"
)
_POD = re.compile(r"\b(?:pod|post[\s-]?op(?:erative)?\s+day)\s*#?\s*(?P<n>\d{1,3})\b")
_NEXT_DAY = re.compile(r"\b(?:the\s+)?(?:next|following)\s+day\b|\bday\s+after\b")
_DAY_BEFORE = re.compile(r"\b(?:the\s+)?day\s+before\b|\bprevious\s+day\b")
_SAME_DAY = re.compile(
    r"\bsame\s+(?:day|date|dos|session|encounter|visit)\b|\bsame[-\s]day\b|"
    r"\bon\s+the\s+same\s+(?:day|date)\b"
)
_DIFFERENT_DAYS = re.compile(
    r"(?i)\b(?:different|separate|two\s+different|2\s+different)\s+(?:days|dates|dos|"
    r"dates\s+of\s+service)\b|\bon\s+another\s+day\b|\bnot\s+(?:on\s+)?the\s+same\s+day\b"
)
_DIFFERENT_DAYS_CASELESS = Caseless(_DIFFERENT_DAYS)


@dataclass(frozen=True, slots=True)
class DateMention:
    """One date in a text: ``on`` when it resolves to a day, else ``after_days`` relative to the
    service named before it (``-1`` the day before, ``0`` the same day)."""

    start: int
    end: int
    on: date | None = None
    after_days: int | None = None
    kind: str = "absolute"  # absolute | month_day | relative | after | same_day


def _count(text: str) -> int | None:
    text = " ".join(text.lower().split())
    if text.isdigit():
        return int(text)
    return _WORD_NUMBERS.get(text)


def _days(n_text: str, unit: str) -> int | None:
    n = _count(n_text)
    if n is None:
        return None
    return n * _UNIT_DAYS.get(unit.lower().rstrip("s"), 1)


def infer_year(month: int, day: int, reference: date | None) -> date | None:
    """The date with that month and day nearest before ``reference`` (a little after allowed)."""
    if reference is None:
        return None
    for year in (reference.year, reference.year - 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate <= reference + FUTURE_SLACK:
            return candidate
    return None


_MONTH_CUE = re.compile(rf"\b(?:{_MONTH_ALT})\b")
#: Words one of which every relative date contains (checked before the patterns run).
_AFTER_CUES = ("later", "after", "out", "post", "following", "s/p", "status", "global")
_RELATIVE_CUES = ("today", "morning", "afternoon", "yesterday", "ago", "day", "week", "wk",
                  "month", "mo", "pod", "post", "same")


def find_dates(text: str, reference: date | None) -> list[DateMention]:
    """Every date mention in ``text``, in text order. Relative ones need ``reference``.

    Each family of patterns runs only when its cue (a digit with a separator, a month name, a
    relative word) occurs: most mails have few dates, and this runs for every one."""
    if not text:
        return []
    low = lower_same_length(text)
    numeric = "/" in text or "-" in text or "." in text
    months = bool(_MONTH_CUE.search(low))
    relative = any(c in low for c in _RELATIVE_CUES)
    if not (numeric or months or relative):
        return []
    out: list[DateMention] = []
    # the spans taken, sorted; they never overlap, so their ends are sorted too and only the
    # last one starting before a new mention ends can reach into it (checking every taken
    # span was quadratic in long mails)
    starts: list[int] = []
    ends: list[int] = []

    def add(mention: DateMention) -> None:
        i = bisect_left(starts, mention.end)
        if i and ends[i - 1] > mention.start:
            return
        out.append(mention)
        starts.insert(i, mention.start)
        ends.insert(i, mention.end)

    if numeric:
        for m in _NUMERIC_YEAR.finditer(text):
            d = parse_date(m.group())
            if d:
                add(DateMention(m.start(), m.end(), on=d))
    if months:
        for rx in (_MONTH_DAY, _DAY_MONTH):
            for m in rx.finditer(low):
                mon, day = _MONTHS[m.group("mon").rstrip(".")], int(m.group("day"))
                if m.group("year"):
                    d = _make(int(m.group("year")), mon, day)
                    kind = "absolute"
                else:
                    d, kind = infer_year(mon, day, reference), "month_day"
                if d:
                    add(DateMention(m.start(), m.end(), on=d, kind=kind))
    if "/" in text:
        for m in _NUMERIC_MD.finditer(text):
            d = infer_year(int(m.group("m")), int(m.group("d")), reference)
            if d:
                add(DateMention(m.start(), m.end(), on=d, kind="month_day"))
    if not relative:
        out.sort(key=lambda d: d.start)
        return out
    if reference is not None:
        if any(w in low for w in _TODAY_WORDS):
            for m in _TODAY.finditer(low):
                add(DateMention(m.start(), m.end(), on=reference, kind="relative"))
        if "yesterday" in low:
            for m in _YESTERDAY.finditer(low):
                add(DateMention(m.start(), m.end(), on=reference - timedelta(days=1),
                                kind="relative"))
        if " ago" in low:
            for m in _AGO.finditer(low):
                n = _days(m.group("n"), m.group("unit"))
                if n is not None:
                    add(DateMention(m.start(), m.end(), on=reference - timedelta(days=n),
                                    kind="relative"))
    if any(c in low for c in _AFTER_CUES) and _AFTER_UNIT.search(low):
        for m in _AFTER.finditer(low):
            n = _days(m.group("n"), m.group("unit"))
            if n is not None:
                add(DateMention(m.start(), m.end(), after_days=n, kind="after"))
    if "before" in low or "prior" in low:
        for m in _BEFORE.finditer(low):
            n = _days(m.group("n"), m.group("unit"))
            if n is not None:
                add(DateMention(m.start(), m.end(), after_days=-n, kind="after"))
        for m in _DAY_BEFORE.finditer(low):
            add(DateMention(m.start(), m.end(), after_days=-1, kind="after"))
    if "pod" in low or "post" in low:
        for m in _POD.finditer(low):
            add(DateMention(m.start(), m.end(), after_days=int(m.group("n")), kind="after"))
    if "next" in low or "following" in low or "day after" in low:
        for m in _NEXT_DAY.finditer(low):
            add(DateMention(m.start(), m.end(), after_days=1, kind="after"))
    if "same" in low:
        for m in _SAME_DAY.finditer(low):
            add(DateMention(m.start(), m.end(), after_days=0, kind="same_day"))
    out.sort(key=lambda d: d.start)
    return out


def says_different_days(text: str) -> bool:
    """Whether the text says the services were on different dates (no dates given)."""
    return bool(_DIFFERENT_DAYS_CASELESS.search(text, lower_same_length(text)))
