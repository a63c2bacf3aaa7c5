"""Where a mail names a patient: names, birth dates, record numbers, SSNs, phones, addresses.

The spans let drafts and logs redact. They are found by label and by shape; a name without a
label (``the patient, Jane, ...``) is not guessed, so redaction is a safety net, not a promise.
"""

from __future__ import annotations

import re

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
#: Kinds whose every match starts with one of its cue words: their scan starts at the first.
_STARTS_AT_CUE = frozenset({"name", "mrn"})
_KIND_RE = tuple((kind, re.compile(rx, re.X), frozenset(_CUES[kind])) for kind, rx in PHI_PATTERNS)
_ALL_CUES = tuple({c for cues in _CUES.values() for c in cues})
_VALUE_GROUP = VALUE_GROUP
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
    present = {c for c in _ALL_CUES if c in low}
    scanners = [
        (kind, rx)
        for kind, rx, cues in _KIND_RE
        if not cues.isdisjoint(present) and (kind not in _CUE_RE or _CUE_RE[kind].search(text))
    ]
    nexts: list[re.Match[str] | None] = []
    for kind, rx in scanners:
        first = 0
        if kind in _STARTS_AT_CUE:
            first = min(i for i in (low.find(c) for c in _CUES[kind] if c in present) if i >= 0)
        nexts.append(rx.search(text, first))
    pos = 0
    while True:
        best = -1
        best_start = len(text) + 1
        for i, (_kind, rx) in enumerate(scanners):
            m = nexts[i]
            if m is not None and m.start() < pos:
                m = nexts[i] = rx.search(text, pos)
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
