"""Where a mail names a patient: names, birth dates, record numbers, SSNs, phones, addresses.

The spans let drafts and logs redact. They are found by label and by shape; a name without a
label (``the patient, Jane, ...``) is not guessed, so redaction is a safety net, not a promise.
"""

from __future__ import annotations

import re
from bisect import bisect_right

from consult.extract.cues import Search, search_at_starts, word_starts
from consult.extract.model import PhiSpan, Where
from consult.extract.traps import lower_same_length
from consult.phi_patterns import PHI_PATTERNS, VALUE_GROUP

#: The patterns are shared with the draft and the logs (``consult.phi_patterns``).
#: Lower-case words (or characters) without which a kind cannot match: a text lacking them
#: skips that kind's scan. Checked by a test against the patterns above.
_CUES: dict[str, tuple[str, ...]] = {
    "name": ("patient", "pt", "member", "insured", "subscriber", "beneficiary", "name", "mr",
             "ms", "miss", "mx"),
    "dob": ("dob", "d.o.b", "birth", "born"),
    "mrn": ("mr", "medical", "chart", "acct", "account", "member", "subscriber", "mbi",
            "policy", "patient", "pt", "fin", "csn"),
    "ssn": ("-", "ssn"),
    "email": ("@",),
    "phone": tuple("0123456789"),
    "address": tuple("0123456789"),
}
#: For kinds cued by digits alone, a simple pattern (fast for ``re``) every match contains.
_CUE_RE: dict[str, re.Pattern[str]] = {
    "ssn": re.compile(r"\d-\d\d-\d|[Ss][Ss][Nn]"),
    "phone": re.compile(r"\d[\s.-]\d{4}"),
    "address": re.compile(r"\d\s+[A-Z]"),
}
#: Kinds whose every match starts with one of its cue words: in text other than ASCII their
#: scan starts at the first.
_STARTS_AT_CUE = frozenset({"name", "mrn"})
_KIND_RE = tuple((kind, re.compile(rx, re.X), _CUES[kind]) for kind, rx in PHI_PATTERNS)
_VALUE_GROUP = VALUE_GROUP


#: Words one of which every match of a kind starts with: on ASCII text the kind is tried only
#: where one begins (a test holds them to the patterns).
_START_WORDS: dict[str, tuple[str, ...]] = {
    "name": _CUES["name"],
    "dob": ("dob", "d.o.b", "date", "birth", "born"),
    "mrn": _CUES["mrn"],
}
_START_FINDERS = {kind: word_starts(words) for kind, words in _START_WORDS.items()}
#: The characters an e-mail address's local part is made of, on ASCII text (``[\w.+-]``).
_LOCAL_PART = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.+-")

def _email_search(rx: re.Pattern[str], text: str) -> Search:
    """``rx.search(text, pos)`` for the e-mail pattern on ASCII ``text``, tried only where an
    address can start: at the start of a run of local-part characters that ends at an ``@``,
    or at ``pos`` inside one. Every start in a run reaches the same ``@`` and domain, so the
    run matches from its first start or not at all. Runs are short and never overlap, so
    finding them reads each character at most twice."""
    runs: list[tuple[int, int]] = []  # (start of the run, its "@")
    at = text.find("@")
    while at >= 0:
        s = at
        while s > 0 and text[s - 1] in _LOCAL_PART:
            s -= 1
        runs.append((s, at))
        at = text.find("@", at + 1)
    ats = [a for _s, a in runs]

    def search(pos: int) -> re.Match[str] | None:
        for i in range(bisect_right(ats, pos), len(runs)):
            start, at = runs[i]
            start = max(start, pos)
            if start < at:
                m = rx.match(text, start)
                if m is not None:
                    return m
        return None
    return search


#: Capitalised words that follow "patient" but are not names.
_NOT_NAMES = frozenset(
    {"Has", "Had", "Is", "Was", "Came", "Presented", "Saw", "Seen", "With", "The", "Who",
     "Medicare", "Medicaid", "Aetna", "Cigna", "Humana", "Tricare", "Name", "Portal",
     "Returned", "Underwent", "And", "Also", "Called"}
)


def find_phi(text: str, where: Where) -> list[PhiSpan]:
    """PHI spans in ``text``; offsets index into that same text.

    Gives what one alternation of ``PHI_PATTERNS`` scanned left to right would give (leftmost
    match first, the earlier kind at a tie, no overlaps), but scans a kind only when its cue
    words occur: one big alternation tried a dozen case-insensitive labels at every position.
    """
    out: list[PhiSpan] = []
    if not text:
        return out
    low = lower_same_length(text)
    scanners = [
        (kind, _searcher(kind, rx, text, low))
        for kind, rx, cues in _KIND_RE
        if any(c in low for c in cues) and (kind not in _CUE_RE or _CUE_RE[kind].search(text))
    ]
    nexts = [search(0) for _kind, search in scanners]
    pos = 0
    while True:
        best = -1
        best_start = len(text) + 1
        for i, (_kind, search) in enumerate(scanners):
            m = nexts[i]
            if m is not None and m.start() < pos:
                m = nexts[i] = search(pos)
            if m is not None and m.start() < best_start:
                best, best_start = i, m.start()
        m = nexts[best] if best >= 0 else None
        if m is None:
            return out
        kind = scanners[best][0]
        pos = m.end()
        group = _VALUE_GROUP.get(kind)
        start, end = m.span(group) if group else m.span()
        if kind == "name" and m.group("nv").split()[0].rstrip(",") in _NOT_NAMES:
            continue
        out.append(PhiSpan(kind=kind, where=where, start=start, end=end))


def _searcher(kind: str, rx: re.Pattern[str], text: str, low: str) -> Search:
    """``rx.search(text, pos)`` as a function of ``pos``, trying only where a match can start.

    On ASCII text a label kind (name, birth date, MRN) can only start where one of its start
    words does, and an e-mail address at a run of local-part characters before an ``@``; the
    patterns are tried there alone (``re`` tries them at every position, and these are the
    slow ones). On other text case-insensitive matching reaches beyond ASCII (``K`` is the
    Kelvin sign), so a name or MRN is scanned from its first cue word on, as a whole.
    """
    if text.isascii():
        if kind in _START_FINDERS:
            return search_at_starts(rx, text,
                                    [m.start() for m in _START_FINDERS[kind].finditer(low)])
        if kind == "email":
            return _email_search(rx, text)
    if kind in _STARTS_AT_CUE:
        first = min(i for i in (low.find(c) for c in _CUES[kind]) if i >= 0)
        return lambda pos: rx.search(text, max(pos, first))
    return lambda pos: rx.search(text, pos)
