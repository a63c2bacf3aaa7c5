"""Numbers that look like codes but are not: ZIP codes, phones, dates, money, IDs, quantities.

One combined regex describes every such stretch; a code candidate that overlaps one is
dropped. Keeping the traps in one place makes "why was 43214 not taken?" answerable by reading
one list, and the bench counts how many traps slip through. Extraction asks ``trap_at`` about
each candidate (the pattern tried only where a trap touching it could start); ``find_traps``
scans a whole text and is the reference the tests hold ``trap_at`` to.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

from consult.extract.vocab import STATES

_STATE_ALT = "|".join(sorted(STATES))
#: States that are also everyday clinical abbreviations; without a comma they are not a ZIP sign.
_AMBIGUOUS_STATES = "CT|PA|MD|OR|IN|ME|OK|MS|MA|CO|DE|HI|ID|LA|AL|MO|SC|GA|VA|PR"
_STATE_NAMES = (
    "Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|Georgia|"
    "Hawaii|Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|Massachusetts|"
    "Michigan|Minnesota|Mississippi|Missouri|Montana|Nebraska|Nevada|New Hampshire|New Jersey|"
    "New Mexico|New York|North Carolina|North Dakota|Ohio|Oklahoma|Oregon|Pennsylvania|"
    "Rhode Island|South Carolina|South Dakota|Tennessee|Texas|Utah|Vermont|Virginia|Washington|"
    "West Virginia|Wisconsin|Wyoming"
)
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
#: Measurement words after a number: `30 mm`, `20 Fr`, `5 mg`, `10000 units`, `45 minutes`.
QUANTITY_WORDS = (
    r"mm|cm|mg|mcg|µg|ug|ml|cc|fr|french|kg|g|gm|grams?|lbs?|pounds?|iu|units?|meq|mmol|%|"
    r"percent|mins?|minutes?|hrs?|hours?|days?|weeks?|wks?|months?|mos?|years?|yrs?|sq\s*cm|"
    r"cm2|inch(?:es)?|ft|feet|dollars|usd|cents|mph|bpm|mmhg|degrees?|miles?|lesions?"
)
#: Labels whose next token is an identifier (never a code), even without `#` or `:`.
_STRONG_ID = (
    r"npi|tin|tax\s*id|ein|fein|icn|dcn|mrn|mr\s*#|medical\s+record(?:\s+(?:number|no\.?))?|"
    r"acct|account|member\s+id|subscriber\s+id|policy|group|grp|ptan|mbi|hicn|dea|upin|csn|"
    r"har|fin|invoice|ticket|tracking|confirmation|zip(?:\s*code)?|postal\s*code|suite|ste|"
    r"p\.?\s?o\.?\s+box|box|room|rm|apt|bldg|building|extension|ext|route|rte|interstate|"
    r"highway|hwy|serial|ndc|model|pager|pin|id|payer\s+id|plan\s+id|"
    r"medicaid\s+id|medicare\s+id|member|subscriber|sub\s+id|eft|trn|remit|"
    # remittance codes (CARC 97, RARC N390) look like ICD-10-CM codes
    r"carc|rarc|remark(?:\s+code)?|reason\s+code|adjustment\s+reason(?:\s+code)?"
)
#: Labels that take an identifier only when followed by `#`, `no.`, `number`, `id` or `:`.
_WEAK_ID = (
    r"claim|case|order|encounter|visit|chart|auth(?:orization)?|license|lic|ref(?:erence)?|"
    r"control|document|doc|file|batch|unit|floor|fl|page|line\s+item|item|request|req|appeal|"
    r"denial|eob|era|tcn|record|patient|pt|phone|fax|tel|cell|mobile|lot|line"
)
_ID_TOKEN = r"[A-Za-z0-9][A-Za-z0-9-]*\d[A-Za-z0-9-]*"

_PATTERNS: dict[str, str] = {
    "email": r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
    "url": r"(?:https?://|www\.)[^\s<>()]+",
    "ssn": r"\b\d{3}-\d{2}-\d{4}\b",
    "phone": (
        r"(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\b\d{3}[\s.-])\d{3}[\s.-]\d{4}\b"
        r"(?:\s*(?:x|ext\.?|extension)\s*\d{1,6})?"
        r"|\b\d{3}-\d{4}\b"
    ),
    "date": (
        r"\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b|\b\d{4}[/.-]\d{1,2}[/.-]\d{1,2}\b"
        r"|\b\d{1,2}/\d{1,4}\b"
        rf"|(?i:\b{_MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?\b)"
        rf"|(?i:\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\.?(?:,?\s+\d{{4}})?\b)"
        rf"|(?i:\b{_MONTH}\.?,?\s+\d{{4}}\b)"
        r"|\b(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\b"
    ),
    "time": r"\b\d{1,2}:\d{2}(?::\d{2})?(?:\s*[ap]\.?m\.?)?|(?i:\b\d{1,2}\s*[ap]\.?m\.?(?!\w))",
    "money": (
        r"[$€£]\s*\d[\d,]*(?:\.\d+)?(?:\s*(?i:k|m|million|thousand))?"
        r"|(?i:\b\d[\d,]*(?:\.\d+)?\s*(?:dollars|usd)\b)"
    ),
    "zip": (
        rf",\s*(?:{_STATE_ALT})\.?,?\s+\d{{5}}(?:-\d{{4}})?\b"
        rf"|\b[A-Z][a-z]+\s+(?!(?:{_AMBIGUOUS_STATES})\b)(?:{_STATE_ALT})\s+\d{{5}}(?:-\d{{4}})?\b"
        rf"|\b(?:{_STATE_NAMES}),?\s+\d{{5}}(?:-\d{{4}})?\b"
        r"|\b\d{5}-\d{4}\b"
    ),
    "street": (
        r"\b\d{1,6}\s+(?:[NSEW]\.?\s+)?(?:[A-Z][A-Za-z]+\.?\s+){1,3}"
        r"(?:St|Street|Ave|Avenue|Rd|Road|Blvd|Boulevard|Dr|Drive|Ln|Lane|Way|Ct|Court|Pkwy|"
        r"Parkway|Hwy|Highway|Pl|Place|Cir|Circle|Ter|Terrace|Trl|Trail|Pike|Sq|Square|Loop|"
        r"Plaza|Pkwy)\b\.?"
    ),
    "id": (
        rf"(?i:\b(?:{_STRONG_ID})\b\.?\s*(?:#|no\.?|number|num|id|code)?\s*[:#]?\s*){_ID_TOKEN}"
        rf"|(?i:\b(?:{_WEAK_ID})\b\.?\s*(?:#|no\.?|number|num|id)\s*[:#]?\s*){_ID_TOKEN}"
        rf"|(?i:\b(?:{_WEAK_ID})\b\.?\s*:\s*)(?=[A-Za-z0-9-]{{8}}){_ID_TOKEN}"
        r"|#\s?\d{6,}"
    ),
    "version": (
        r"(?i:\b(?:version|ver\.?|rev\.?|revision|build)\s*\d+(?:\.\d+)*[a-z]?\b)"
        # "release" is a procedure word too (carpal tunnel release 64721): dotted numbers only
        r"|(?i:\brelease\s*\d+(?:\.\d+)+[a-z]?\b)"
        r"|\bv\d+(?:\.\d+)+\b"
        r"|\b\d+\.\d+\.\d+(?:\.\d+)*\b"
    ),
    "quantity": rf"(?i:\b\d[\d,]*(?:\.\d+)?\s*(?:{QUANTITY_WORDS})(?![a-z0-9]))",
    "thousands": r"\b\d{1,3}(?:,\d{3})+(?:\.\d+)?\b",
    "decimal": r"\b\d+\.\d+\b",
}

_CASED = ("zip", "street")  # need capitals (``Columbus, OH``); everything else runs lower-cased
CASED_RE = re.compile("|".join(f"(?P<{k}>{v})" for k, v in _PATTERNS.items() if k in _CASED))
#: Case-insensitive matching is several times slower in ``re``; so the text is lower-cased once
#: (length-preserving) and these patterns match it case-sensitively.
LOWER_RE = re.compile(
    "|".join(
        f"(?P<{k}>{v.replace('(?i:', '(?:')})" for k, v in _PATTERNS.items() if k not in _CASED
    )
)
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def lower_same_length(text: str) -> str:
    """``text`` lower-cased with every offset kept (ASCII-only when ``lower()`` would shift)."""
    low = text.lower()
    return low if len(low) == len(text) else text.translate(_ASCII_LOWER)


@dataclass(frozen=True, slots=True)
class TrapMap:
    """Sorted, merged trap spans of one text, for fast "is this inside a trap?"."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]
    kinds: tuple[tuple[str, ...], ...]

    def kind_at(self, start: int, end: int) -> str | None:
        """The (first) kind of trap overlapping ``[start, end)``, or None."""
        i = bisect_right(self.starts, end - 1) - 1
        if i >= 0 and self.ends[i] > start:
            return self.kinds[i][0]
        return None


def find_traps(text: str, low: str | None = None) -> TrapMap:
    """Every trap span in ``text``; overlapping spans are merged. ``low`` is
    ``lower_same_length(text)`` when the caller already has it."""
    low = lower_same_length(text) if low is None else low
    spans = [(m.start(), m.end(), m.lastgroup or "trap") for m in LOWER_RE.finditer(low)]
    if any(c.isdigit() for c in text):
        spans.extend((m.start(), m.end(), m.lastgroup or "trap") for m in CASED_RE.finditer(text))
        spans.sort()
    return _merge_spans(spans)


#: How far before a candidate a trap touching it may start (``subscriber id number #: ``).
BEFORE = 48


def _leaders(alternation: str) -> tuple[str, ...]:
    """The leading letters of each word-led alternative (``tax\\s*id`` -> ``tax``)."""
    out = []
    for alt in alternation.split("|"):
        m = re.match(r"[a-z]+", alt.strip())
        if m:
            out.append(m.group())
    return tuple(out)


#: Every way a lower-cased trap can begin: a label, month or version word, a digit, a symbol.
#: ``trap_at`` tries the trap pattern only where one of these starts (``str.startswith`` with a
#: tuple is one C call); a test checks the answer matches scanning the whole text.
_LOWER_LEADERS = tuple(
    sorted(
        {
            *_leaders(_STRONG_ID),
            *_leaders(_WEAK_ID),
            *_leaders(_MONTH.strip("(?:)")),
            "version", "ver", "release", "rev", "build", *(f"v{d}" for d in "0123456789"),
            *"0123456789", "$", "€", "£", "#", "(", "+",
        }
        - {"p"}  # ``p\.?\s?o\.?\s+box``: only these starts
        | {"p.", "po", "p "}
    )
)
#: How far before its ZIP a cased trap can start (``New Hampshire, 03101``).
_CASED_BEFORE = 32
#: Where a cased trap (``Columbus, OH 43214``, ``12 Elm Street``) can begin.
_CASED_START = re.compile(r"[A-Z0-9,]")
#: Word starts and symbols: the only places a trap can start.
_TRAP_STARTS = re.compile(r"\b\w|[^\w\s]")


#: ``trap_at``'s memo for one text: position -> (end, kind) of the trap starting there, or None.
TrapMemo = dict[tuple[int, bool], tuple[int, str] | None]


def _trap_from(text: str, low: str, p: int, cased: bool, memo: TrapMemo) -> tuple[int, str] | None:
    """The trap starting at ``p`` (lower-case patterns, or the cased ones), memoised."""
    key = (p, cased)
    if key in memo:
        return memo[key]
    m = CASED_RE.match(text, p) if cased else LOWER_RE.match(low, p)
    got = None if m is None else (m.end(), m.lastgroup or "trap")
    memo[key] = got
    return got


def trap_at(
    text: str, low: str, start: int, end: int, memo: TrapMemo | None = None
) -> str | None:
    """The kind of trap overlapping ``[start, end)`` of ``text``, or None.

    Asks the question for one candidate only: the trap patterns are tried where a trap could
    start - a label word, digit or symbol up to ``BEFORE`` characters back, and the start of
    the candidate's whitespace-free chunk (a URL or e-mail address). Scanning whole texts
    tried dozens of label words at every position of every mail, and was most of the time
    extraction took; a mail has a handful of candidates. ``low`` is ``lower_same_length``;
    ``memo`` (one per text) lets neighbouring candidates share the tries.
    """
    memo = {} if memo is None else memo
    chunk = start
    while chunk > 0 and not text[chunk - 1].isspace():
        chunk -= 1
    lo = max(0, start - BEFORE)
    # Cased traps (a ZIP after a city, a street number) only ever hold a number candidate.
    cased = text[start].isdigit()
    # An e-mail address or URL holding the candidate lies in its whitespace-free chunk.
    chunk_end = end
    while chunk_end < len(text) and not text[chunk_end].isspace():
        chunk_end += 1
    piece = low[chunk:chunk_end]
    if "@" in piece or "://" in piece or "www." in piece:
        for m in LOWER_RE.finditer(low, chunk, chunk_end):
            if m.start() < end and m.end() > start:
                return m.lastgroup or "trap"
    for sm in _TRAP_STARTS.finditer(low, lo, end):
        p = sm.start()
        if low.startswith(_LOWER_LEADERS, p):
            got = _trap_from(text, low, p, False, memo)
            if got is not None and got[0] > start:
                return got[1]
        if cased and p >= start - _CASED_BEFORE and _CASED_START.match(text, p):
            got = _trap_from(text, low, p, True, memo)
            if got is not None and got[0] > start:
                return got[1]
    return None


def trap_kinds_in(text: str, low: str, start: int, end: int) -> set[str]:
    """Kinds of the traps found scanning ``[start, end)`` (one line, when asked)."""
    kinds = {m.lastgroup or "trap" for m in LOWER_RE.finditer(low, start, end)}
    kinds.update(m.lastgroup or "trap" for m in CASED_RE.finditer(text, start, end))
    return kinds


def _merge_spans(spans: list[tuple[int, int, str]]) -> TrapMap:
    """Sorted ``(start, end, kind)`` spans folded into a TrapMap of non-overlapping stretches."""
    starts: list[int] = []
    ends: list[int] = []
    kinds: list[tuple[str, ...]] = []
    for a, b, k in spans:
        if starts and a < ends[-1]:
            ends[-1] = max(ends[-1], b)
            kinds[-1] = (*kinds[-1], k)
            continue
        starts.append(a)
        ends.append(b)
        kinds.append((k,))
    return TrapMap(tuple(starts), tuple(ends), tuple(kinds))
