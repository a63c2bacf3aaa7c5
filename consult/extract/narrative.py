"""The words around the codes: the question asked, date of service, payer, setting.

Each function takes plain text and returns plain values, so the rules can be tested with a
sentence and reviewed without a mail in sight.
"""

from __future__ import annotations

import re
from datetime import date

from consult.extract.cues import Caseless, FirstMatch, may_match
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

#: A sentence ends at ., ? or ! followed by a space (not inside "Z12.11" or "1.5 cm"), or at
#: a line break.
#: A sentence: "Dr. Whitcombe read them" is one (a title's period ends nothing).
_SENTENCE_AS_WRITTEN = (r"(?:\b(?:Dr|Drs|Mr|Mrs|Ms|St|Jr|Sr|vs|approx|e\.g|i\.e)\.[ \t]+|[^.?!\n]|"
                        r"[.?!]+(?=[^\s.?!]))+(?:[.?!]+|\n|$)")
#: The same sentences, found twice as fast. The loop above takes one character per round
#: except at a title, and a title starts with one of ``DMSJvaei``: so a run of other
#: characters (no end mark either) is taken in one round first. Its rounds stop where the
#: loop above stops, and there an ending always follows (the loop leaves only an end mark or
#: a line break, or the end), so nothing is ever given back: the loop may be possessive.
_SENTENCE = re.compile(r"(?:[^.?!\nDMSJvaei]++|\b(?:Dr|Drs|Mr|Mrs|Ms|St|Jr|Sr|vs|approx|e\.g|"
                       r"i\.e)\.[ \t]+|[^.?!\n]|[.?!]+(?=[^\s.?!]))++(?:[.?!]+|\n|$)")
_SUBJECT_PREFIX = re.compile(r"^(?:\s*(?:re|fw|fwd|aw|sv)\s*:\s*|\s*\[[^\]]*\]\s*)+", re.I)


#: Words one of which every ``_DOS`` label contains (checked before the regex).
_DOS_WORDS = ("dos", "d.o.s", "date", "service", "performed", "done", "seen", "scoped",
              "injected", "admitted", "visit")
#: Words one of which every ``_DOS`` match starts with (its labels' first words).
_DOS_STARTS = ("dos", "d.o.s", "date", "service", "procedure", "surgery", "visit", "encounter",
               "performed", "done", "seen", "scoped", "injected", "admitted")
_DOS_CASELESS = Caseless(_DOS, starts=_DOS_STARTS)
_POS_CASELESS = Caseless(_POS)


def date_of_service(*texts: str) -> date | None:
    """The first labelled date of service (``DOS 3/4/2025``, ``date of service: ...``)."""
    for text in texts:
        low = lower_same_length(text)
        if not may_match(_DOS_WORDS, low):
            continue
        for m in _DOS_CASELESS.finditer(text, low):
            d = parse_date(text[m.start("d"):m.end("d")])
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


#: Ways a mail names a Medicare Advantage plan: the plan words, or a carrier's name before a
#: Medicare word ("Humana Gold Plus").
_MA_WORDS = (
    r"medicare\s+advantage", r"\bMA\s+(?:plan|hmo|ppo|pffs)", r"\bMAPD\b", r"\bpart\s+c\b",
    r"medicare\s+replacement", r"aarp\s+medicare", r"\bd-?snp\b",
    r"dual\s+(?:complete|eligible\s+plan)",
)
_MA_CARRIERS = (
    "humana", "aetna", "uhc", r"united\s*health\s*care", "unitedhealthcare", "cigna", "wellcare",
    "anthem", "bcbs", r"blue\s+cross", "highmark", "kaiser", "molina", "devoted", "clover",
    "alignment", "scan", "careplus", "optimum", "centene", "elevance", r"health\s*net",
)
_MA_PLAN = (r"\s+(?:[\w-]+\s+){0,2}?(?:medicare|gold|advantage|senior|dual|choice\s+ppo|"
            r"value\s+plus)")
_MEDICARE_ADVANTAGE = re.compile(
    "(?i)" + "|".join(_MA_WORDS) + f"|(?:{'|'.join(_MA_CARRIERS)}){_MA_PLAN}"
)
#: The same question for ASCII text, one lower-case pattern per way (a carrier's name each),
#: run only when its word occurs: the one case-insensitive alternation tried two dozen
#: carriers at every position, and most mails name Medicare somewhere.
_MA_FIRST = FirstMatch([_lowercase_regex(rx) for rx in
                        (*_MA_WORDS, *(carrier + _MA_PLAN for carrier in _MA_CARRIERS))])
#: Every ``_MEDICARE_ADVANTAGE`` match contains one of these (lower case).
_MA_CUES = ("medicare", "advantage", "ma ", "mapd", "part c", "snp", "dual", "gold", "senior",
            "choice ppo", "value plus")
_CLASS_OF = {"Medicare": "medicare", "Medicaid": "medicaid", "Medicare Advantage":
             "medicare_advantage"}


def _names_medicare_advantage(text: str, low: str) -> bool:
    """``_MEDICARE_ADVANTAGE.search(text)``; for ASCII text (where lower-casing is exactly
    what case-insensitive matching does) by the cheaper ``_MA_FIRST``."""
    if text.isascii():
        return _MA_FIRST.index(low) is not None
    return bool(_MEDICARE_ADVANTAGE.search(text))


def payer_class(payer_name: str | None, *texts: str) -> str | None:
    """Medicare, Medicare Advantage, Medicaid or commercial: who sets the rules for the claim.

    A named Medicare Advantage plan ("Humana Gold Plus", "AARP Medicare Advantage") is never
    commercial: it follows Medicare coverage but may add its own edits and prior
    authorization. Any other named payer is commercial; None when the mail names none.
    """
    for text in texts:
        if not text:
            continue
        low = lower_same_length(text)
        if any(c in low for c in _MA_CUES) and _names_medicare_advantage(text, low):
            return "medicare_advantage"
    if payer_name is None:
        return None
    return _CLASS_OF.get(payer_name, "commercial")


def payer_of(text: str) -> str | None:
    """The payer class one text names (a patient's story in a mail about several): the plan
    it names, even beside Medicare named for comparison ("BCBS ... PT like Medicare?")."""
    return payer_class(payer(text), text)


def place_of_service(*texts: str) -> str | None:
    """A two-digit place-of-service code written as ``POS 22`` or ``place of service 11``."""
    for text in texts:
        low = lower_same_length(text)
        if not may_match(_POS_WORDS, low):
            continue
        m = _POS_CASELESS.search(text, low)
        if m:
            return text[m.start("pos"):m.end("pos")]
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
