"""The words around the codes: the question asked, date of service, payer, setting.

Each function takes plain text and returns plain values, so the rules can be tested with a
sentence and reviewed without a mail in sight.
"""

from __future__ import annotations

import re
from datetime import date

from consult.extract.cues import FirstMatch, may_match
from consult.extract.dates import DATE_PATTERN, parse_date
from consult.extract.traps import lower_same_length
from consult.extract.vocab import PAYERS, POS_SETTINGS, SETTINGS

_DOS = re.compile(
    r"(?i:\b(?:DOS|D\.O\.S\.?|dates?\s+of\s+service|service\s+date|date\s+of\s+(?:the\s+)?"
    r"(?:procedure|surgery|visit|encounter)|(?:procedure|surgery|visit|encounter)\s+date|"
    r"performed\s+on|done\s+on|seen\s+on|scoped\s+on|injected\s+on|admitted\s+on|"
    r"date\s+seen|visit)\b)"
    rf"\s*(?:(?i:was|is|of|on)\s+)*[:=\-–]?\s*(?:(?i:on)\s+)?(?P<d>{DATE_PATTERN})"
)
def _lowercase_regex(rx: str) -> str:
    """A pattern for lower-cased text: letters lowered (only safe without upper-case escapes
    such as ``\\S``, which the word lists do not use)."""
    if re.search(r"\\[A-Z]", rx):
        raise ValueError(f"pattern has an upper-case escape: {rx}")
    return rx.lower()


#: The same question, asked only of the payers whose words occur in the text.
_PAYER_FIRST = FirstMatch([_lowercase_regex(rx) for rx, _name in PAYERS])
_PAYER_NAMES = [name for _rx, name in PAYERS]
_POS = re.compile(
    r"(?i:\bPOS\b|place\s+of\s+service)\s*(?:(?i:code)\s*)?[:#=\-]?\s*(?P<pos>\d{2})\b"
)
_SETTING_NAMES = [name for _rx, name in SETTINGS]
_SETTING_FIRST = FirstMatch([_lowercase_regex(rx) for rx, _name in SETTINGS])
_POS_WORDS = ("pos", "place")

_SENTENCE = re.compile(r"[^.?!\n]+(?:[.?!]+|\n|$)")
_ASKING = re.compile(
    r"(?i)^\s*(?:(?:so|and|but|also|then|ok(?:ay)?|thanks|quick\s+question)[,:]?\s+)?"
    r"(?:can|could|should|would|shall|will|is|are|am|do|does|did|may|might|must|what|which|"
    r"how|when|why|where|who|any\s+(?:thoughts|guidance|advice)|please\s+(?:advise|confirm|"
    r"let\s+me\s+know|help|clarify)|need\s+(?:help|guidance|to\s+know)|i(?:'m|\s+am)\s+"
    r"(?:not\s+sure|wondering|unsure)|wondering|looking\s+for\s+(?:guidance|clarification)|"
    r"is\s+it|are\s+we|i\s+need\s+to\s+know)\b"
)
_GREETING = re.compile(r"(?i)^\s*(?:hi|hello|hey|good\s+(?:morning|afternoon)|dear|thanks|"
                       r"thank\s+you|regards|best)\b[^?]*$")
_SUBJECT_PREFIX = re.compile(r"^(?:\s*(?:re|fw|fwd|aw|sv)\s*:\s*|\s*\[[^\]]*\]\s*)+", re.I)


#: Words one of which every ``_DOS`` label contains (checked before the regex).
_DOS_WORDS = ("dos", "d.o.s", "date", "service", "performed", "done", "seen", "scoped",
              "injected", "admitted", "visit")


def date_of_service(*texts: str) -> date | None:
    """The first labelled date of service (``DOS 3/4/2025``, ``date of service: ...``)."""
    for text in texts:
        if not may_match(_DOS_WORDS, lower_same_length(text)):
            continue
        for m in _DOS.finditer(text):
            d = parse_date(m.group("d"))
            if d:
                return d
    return None


def payer(*texts: str) -> str | None:
    """The payer named first, in canonical form (``UHC`` -> ``UnitedHealthcare``)."""
    for text in texts:
        i = _PAYER_FIRST.index(lower_same_length(text))
        if i is not None:
            return _PAYER_NAMES[i]
    return None


def place_of_service(*texts: str) -> str | None:
    """A two-digit place-of-service code written as ``POS 22`` or ``place of service 11``."""
    for text in texts:
        if not may_match(_POS_WORDS, lower_same_length(text)):
            continue
        m = _POS.search(text)
        if m:
            return m.group("pos")
    return None


def setting(*texts: str) -> str | None:
    """Where the service happened: from a POS code when given, else from the words used."""
    pos = place_of_service(*texts)
    if pos and pos in POS_SETTINGS:
        return POS_SETTINGS[pos]
    for text in texts:
        i = _SETTING_FIRST.index(lower_same_length(text))
        if i is not None:
            return _SETTING_NAMES[i]
    return None


def clean_subject(subject: str) -> str:
    """The subject without ``RE:``/``FW:`` prefixes and ``[Case #N]`` tags."""
    return _SUBJECT_PREFIX.sub("", subject).strip()


def sentences(text: str) -> list[str]:
    """Sentences of ``text`` (line breaks end a sentence too), stripped, non-empty."""
    out = []
    for m in _SENTENCE.finditer(text):
        s = " ".join(m.group().split())
        if s:
            out.append(s)
    return out


def question(body: str, subject: str = "", *, limit: int = 3) -> str:
    """The question sentence(s): those ending in ``?``, else those that ask in words, else the
    subject. At most ``limit`` sentences, in order, joined by a space."""
    sents = [s for s in sentences(body) if not _GREETING.match(s)]
    asked = [s for s in sents if s.endswith("?")]
    if not asked:
        asked = [s for s in sents if _ASKING.match(s)]
    if not asked:
        subj = clean_subject(subject)
        return subj
    return " ".join(asked[:limit])
