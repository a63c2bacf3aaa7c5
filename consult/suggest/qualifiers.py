"""Numbers and qualifiers that pick the specific code: sizes, counts, levels, minutes, age,
patient status and encounter.

A narrative's facts (``read_facts``) are compared with a code's conditions (``parse_when``, from
the ``when`` column of the lay descriptions: ``mm=30-``, ``cm=0.6-1.0``, ``count=2-14``,
``levels=1-1``, ``min=30-39``, ``age=18-39``, ``level=4``, and the flags ``new``, ``est``,
``initial``, ``subsequent``). ``fit`` says whether they agree (+1), clash (-1) or do not meet (0).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from consult.suggest.text import number_word

_NUM = r"(\d+(?:\.\d+)?)"
_MM = re.compile(_NUM + r"\s*(?:mm|millimet(?:er|re)s?)\b")
_SQCM = re.compile(_NUM + r"\s*(?:sq\.?\s*cm|cm2|cm\^2|square\s+cm|square\s+centimet(?:er|re)s?)")
_AREA = re.compile(_NUM + r"\s*(?:cm\s*)?x\s*" + _NUM + r"\s*cm\b")
_CM = re.compile(_NUM + r"\s*(?:cm|centimet(?:er|re)s?)\b(?!\s*(?:x|2|\^))")
_MARGIN = re.compile(_NUM + r"\s*cm\s+margins?")
_MIN = re.compile(r"(\d+)\s*(?:-|\s)?(?:min|mins|minutes?)\b")
_HOUR = re.compile(r"\b(an|one|1|two|2)\s+hours?\b")
_AGE = re.compile(r"(\d+)\s*(?:-|\s)?(?:yo|y/o|y\.o\.|yr\s*old|year[- ]old|years?\s+old|"
                  r"yrs?\s+old)\b|\bage[ds]?\s+(\d+)\b|\b(\d+)\s*(?:m/o|month[- ]old|months?\s+old|"
                  r"week[- ]old|weeks?\s+old|day[- ]old|days?\s+old)\b")
_VIEWS_RX = re.compile(r"\b(\d+|one|two|three|four|five|six)\s*(?:(?:or|to|-)\s*\d+\s*)?"
                       r"(?:views?|vw)\b|\b(single|one)[\s-]+view\b")
_INFANT = re.compile(r"\b(?:newborn|neonate|infant)\b")
_LEVEL = re.compile(r"\blevel\s+(\d|i{1,3}|iv|v)\b|\blvl\s*(\d)\b|\b(\d)\s*-?\s*level\b")
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5}
_COUNTABLE = (r"(?:lesions?|aks?|actinic\s+keratos[ie]s|keratos[ie]s|warts?|verruca[e]?|"
              r"muscles?|nails?|tags?|skin\s+tags|regions?|polyps?|fragments?|stations?|studies|"
              r"nerves?|sites?|abscess(?:es)?|visits?|injections?|veins?|corns?|calluses|"
              r"callosities|lacerations?|areas?|sks?|molluscum|spots?|cysts?|tests?)")
_COUNT = re.compile(r"\b(\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
                    r"thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty)"
                    r"\s+(?:\w+\s+){0,2}?" + _COUNTABLE + r"\b")
_COUNT_X = re.compile(r"\bx\s*(\d+)\b|\b(\d+)\s*x\b(?!\s*\d)")
_SPINE_LEVEL = re.compile(r"\b([ctls])\s?(\d)\s*(?:-|/|to)\s*([ctls])?\s?(\d)\b")
_LEVEL_COUNT = re.compile(r"\b(\d|one|two|three|four|single)[\s-]+(?:levels?|segments?|"
                          r"interspaces?|joints?)\b")
_NEW = re.compile(r"\bnew\s+(?:patient|pt)\b|\bnp\b")
_EST = re.compile(r"\bestablished\b|\best\.?\s+(?:patient|pt)\b")
_INITIAL = re.compile(r"\binitial\b|\badmission\b|\badmit\s+h&p\b|\bh&p\b")
_SUBSEQUENT = re.compile(r"\bsubsequent\b|\bsubseq\b|\brounding\b|\bday\s+\d\b|\bdaily\b")


@dataclass
class Facts:
    """What a narrative says that a code's conditions can be checked against."""

    numbers: dict[str, float] = field(default_factory=dict)  # mm, cm, sqcm, count, min, ...
    flags: set[str] = field(default_factory=set)  # new, est, initial, subsequent


@dataclass(frozen=True, slots=True)
class Condition:
    key: str
    low: float | None = None
    high: float | None = None


def parse_when(text: str) -> tuple[Condition, ...]:
    """``"mm=30- new"`` -> (Condition("mm", 30, None), Condition("new"))."""
    out = []
    for part in text.split():
        key, _, rng = part.partition("=")
        if not rng:
            out.append(Condition(key))
            continue
        lo, dash, hi = rng.partition("-")
        low = float(lo) if lo else None
        high = float(hi) if hi else (None if dash else low)
        out.append(Condition(key, low, high))
    return tuple(out)


def _num(text: str) -> float:
    return float(text)


def read_facts(text: str) -> Facts:
    """The quantities and flags stated in a narrative (lower-cased inside)."""
    low = text.lower()
    facts = Facts()
    n = facts.numbers
    if m := _MM.search(low):
        n["mm"] = _num(m.group(1))
    areas = [_num(a) * _num(b) for a, b in _AREA.findall(low)]
    sq = [_num(x) for x in _SQCM.findall(low)]
    if sq or areas:
        n["sqcm"] = sum(sq) + sum(areas)
    lengths = [_num(x) for x in _CM.findall(low)]
    margins = [_num(x) for x in _MARGIN.findall(low)]
    if lengths:
        lesion = [x for x in lengths if x not in margins] or lengths
        if re.search(r"lacerat|repair|closure|sutur|wound|stitch|lac\b|lacs\b", low):
            n["cm"] = round(sum(lesion), 2)
        else:
            n["cm"] = round(max(lesion) + 2 * max(margins, default=0.0), 2)
    mins = [int(x) for x in _MIN.findall(low)]
    if mins:
        n["min"] = max(mins)
    elif m := _HOUR.search(low):
        n["min"] = 60.0 * (2 if m.group(1) in ("two", "2") else 1)
    if m := _AGE.search(low):
        if m.group(3):
            n["age"] = 0
        else:
            n["age"] = int(m.group(1) or m.group(2))
    elif _INFANT.search(low):
        n["age"] = 0
    if m := _VIEWS_RX.search(low):
        n["views"] = number_word(m.group(1) or "one") or 1
    if m := _LEVEL.search(low):
        raw = m.group(1) or m.group(2) or m.group(3)
        n["level"] = _ROMAN[raw] if raw in _ROMAN else int(raw)
    counts = []
    for m in _COUNT.finditer(low):
        value = number_word(m.group(1))
        if value is not None:
            counts.append(value)
    if counts:
        n["count"] = sum(counts) if len(counts) > 1 and "total" not in low else max(counts)
    elif m := _COUNT_X.search(low):
        n["count"] = int(m.group(1) or m.group(2))
    spine = _SPINE_LEVEL.findall(low)
    if spine:
        n["levels"] = len(spine)
    if m := _LEVEL_COUNT.search(low):
        n["levels"] = number_word(m.group(1)) or 1
    if _NEW.search(low):
        facts.flags.add("new")
    if _EST.search(low):
        facts.flags.add("est")
    if _INITIAL.search(low):
        facts.flags.add("initial")
    if _SUBSEQUENT.search(low):
        facts.flags.add("subsequent")
    return facts


_OPPOSITE = {"new": "est", "est": "new", "initial": "subsequent", "subsequent": "initial"}


def fit(conditions: tuple[Condition, ...], facts: Facts) -> float:
    """+1 per condition the narrative satisfies, -1 per one it contradicts, 0 when silent."""
    score = 0.0
    for c in conditions:
        if c.low is None and c.high is None:  # a flag
            if c.key in facts.flags:
                score += 1
            elif _OPPOSITE.get(c.key) in facts.flags:
                score -= 1
            continue
        value = facts.numbers.get(c.key)
        if value is None:
            continue
        ok = (c.low is None or value >= c.low) and (c.high is None or value <= c.high)
        score += 1 if ok else -1
    return score
