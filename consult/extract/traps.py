"""Numbers that look like codes but are not: ZIP codes, phones, dates, money, IDs, quantities.

One combined regex finds every such stretch in a single pass; a code candidate that overlaps
one is dropped. Keeping the traps in one place makes "why was 43214 not taken?" answerable by
reading one list, and the bench counts how many traps slip through.
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
    r"medicaid\s+id|medicare\s+id|member|subscriber|sub\s+id|eft|trn|remit"
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
        r"(?i:\b(?:version|ver\.?|release|rev\.?|revision|build)\s*\d+(?:\.\d+)*[a-z]?\b)"
        r"|\bv\d+(?:\.\d+)+\b"
        r"|\b\d+\.\d+\.\d+(?:\.\d+)*\b"
    ),
    "quantity": rf"(?i:\b\d[\d,]*(?:\.\d+)?\s*(?:{QUANTITY_WORDS})(?![a-z]))",
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

    def kinds_in(self, start: int, end: int) -> set[str]:
        """Kinds of every trap overlapping ``[start, end)``."""
        lo = max(bisect_right(self.starts, start) - 1, 0)
        hi = bisect_right(self.starts, end)
        out: set[str] = set()
        for i in range(lo, hi):
            if self.ends[i] > start:
                out.update(self.kinds[i])
        return out


def find_traps(text: str, low: str | None = None) -> TrapMap:
    """Every trap span in ``text``; overlapping spans are merged. ``low`` is
    ``lower_same_length(text)`` when the caller already has it."""
    low = lower_same_length(text) if low is None else low
    spans = [(m.start(), m.end(), m.lastgroup or "trap") for m in LOWER_RE.finditer(low)]
    if any(c.isdigit() for c in text):
        spans.extend((m.start(), m.end(), m.lastgroup or "trap") for m in CASED_RE.finditer(text))
        spans.sort()
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
