"""Where a mail names a patient: names, birth dates, record numbers, SSNs, phones, addresses.

The spans let drafts and logs redact. They are found by label and by shape; a name without a
label (``the patient, Jane, ...``) is not guessed, so redaction is a safety net, not a promise.
"""

from __future__ import annotations

import re

from consult.extract.dates import DATE_PATTERN
from consult.extract.model import PhiSpan, Where

_NAME = r"[A-Z][a-z'’-]+(?:\s+[A-Z]\.?)?(?:\s+[A-Z][a-z'’-]+){1,2}|[A-Z][a-z'’-]+,\s*[A-Z][a-z'’-]+"
_PHI = re.compile(
    rf"""
    (?P<name>(?:(?i:patient(?:'s)?\s+name|pt\.?\s+name|patient|pt|member|insured|subscriber|
        beneficiary|name)\s*[:\-–]?\s*|(?:Mr|Mrs|Ms|Miss|Mx)\.?\s+)(?P<nv>{_NAME}))
  | (?P<dob>(?i:\b(?:DOB|D\.O\.B\.?|date\s+of\s+birth|birth\s*date|born(?:\s+on)?)\b)\s*[:\-]?\s*
        (?P<dv>{DATE_PATTERN}))
  | (?P<mrn>(?i:\b(?:MRN|MR\s*\#|medical\s+record\s*(?:number|no\.?|\#)?|
        chart\s*(?:\#|number|no\.?)|acct\.?\s*\#?|account\s*(?:\#|number|no\.?)|member\s+id|subscriber\s+id|MBI|policy\s*
        (?:\#|number|no\.?)|patient\s+id|pt\s+id|FIN|CSN)\b\.?)\s*[:\#]?\s*(?P<mv>[A-Z0-9-]*\d[A-Z0-9-]*))
  | (?P<ssn>\b\d{{3}}-\d{{2}}-\d{{4}}\b|(?i:\bSSN\b)\s*[:\#]?\s*\d{{9}}\b)
  | (?P<email>[\w.+-]+@[\w-]+(?:\.[\w-]+)+)
  | (?P<phone>(?:\+?1[\s.-]?)?(?:\(\d{{3}}\)\s?|\b\d{{3}}[\s.-])\d{{3}}[\s.-]\d{{4}}\b)
  | (?P<address>\b\d{{1,6}}\s+(?:[NSEW]\.?\s+)?(?:[A-Z][A-Za-z]+\.?\s+){{1,3}}
        (?:St|Street|Ave|Avenue|Rd|Road|Blvd|Boulevard|Dr|Drive|Ln|Lane|Way|Ct|Court|Pkwy|
        Parkway|Hwy|Highway|Pl|Place|Cir|Circle|Ter|Terrace|Trl|Trail|Pike|Loop|Plaza)\b\.?
        (?:,?\s*(?:Apt|Unit|Suite|Ste|\#)\.?\s*\w+)?
        (?:,\s*[A-Z][a-z]+(?:\s[A-Z][a-z]+)?,\s*[A-Z]{{2}}\s+\d{{5}}(?:-\d{{4}})?)?)
    """,
    re.X,
)
_VALUE_GROUP = {"name": "nv", "dob": "dv", "mrn": "mv"}
#: Capitalised words that follow "patient" but are not names.
_NOT_NAMES = frozenset(
    {"Has", "Had", "Is", "Was", "Came", "Presented", "Saw", "Seen", "With", "The", "Who",
     "Medicare", "Medicaid", "Aetna", "Cigna", "Humana", "Tricare", "Name", "Portal",
     "Returned", "Underwent", "And", "Also", "Called"}
)


def find_phi(text: str, where: Where) -> list[PhiSpan]:
    """PHI spans in ``text``; offsets index into that same text."""
    out: list[PhiSpan] = []
    if not text:
        return out
    for m in _PHI.finditer(text):
        kind = m.lastgroup or ""
        group = _VALUE_GROUP.get(kind)
        if kind in ("nv", "dv", "mv"):  # lastgroup can name the inner group
            kind = {"nv": "name", "dv": "dob", "mv": "mrn"}[kind]
            group = _VALUE_GROUP[kind]
        start, end = m.span(group) if group else m.span()
        if kind == "name" and m.group("nv").split()[0].rstrip(",") in _NOT_NAMES:
            continue
        out.append(PhiSpan(kind=kind, where=where, start=start, end=end))
    return out
