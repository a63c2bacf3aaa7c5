"""Counts and sizes coders write that pick a code: lesions, areas, levels, minutes, doses.

"12 AKs frozen", "wound 45 sq cm", "5 x 4 cm", "L4-5 and L5-S1", "38 minutes of therapeutic
exercise", "Kenalog 40 mg": the code (17000 vs 17004, 11042 plus how many 11045, 64493 vs 64494)
and its units follow from these numbers. Pure text in, numbers out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from consult.extract.vocab import NUMBER_WORDS

_NUM = r"(?P<n>\d{1,3}|" + "|".join(NUMBER_WORDS) + r"|eleven|twelve|thirteen|fourteen|" \
    r"fifteen|sixteen|seventeen|eighteen|nineteen|twenty)"
_MORE_WORDS = {"eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
               "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20}
_LESIONS = re.compile(
    rf"(?i)\b{_NUM}\s+(?:(?:more|total|separate|additional|premalignant|pre-?malignant|"
    r"actinic|small|large)\s+)*(?:aks?\b|actinic\s+keratos[ie]s|lesions?|keratos[ie]s|"
    r"warts?|skin\s+tags?|spots?|sites?|areas?)"
)
_AREA = re.compile(
    r"(?i)(?P<a>\d{1,4}(?:\.\d+)?)\s*(?:sq\.?\s*cm|cm2|cm\^2|square\s+(?:cm|centimet(?:er|re)s?)|"
    r"cm²)|(?P<l>\d{1,3}(?:\.\d+)?)\s*(?:cm\s*)?[x×*]\s*(?P<w>\d{1,3}(?:\.\d+)?)\s*cm\b"
)
_MINUTES = re.compile(r"(?i)(?P<m>\d{1,3})\s*(?:-\s*)?(?:min(?:ute)?s?|mins)\b")
_DEPTHS = (
    ("bone", re.compile(r"(?i)\bbone\b|osseous")),
    ("muscle", re.compile(r"(?i)\bmuscle|fascia|fascial")),
    ("subcutaneous", re.compile(r"(?i)\bsubcutaneous|subq|sub-?q\b|sub\s*cut|\bsc\b")),
    ("selective", re.compile(r"(?i)\bselective|non-?excisional|\b9759[78]\b")),
)


def number(text: str) -> int | None:
    """A count written in digits or words."""
    text = text.lower().strip()
    if text.isdigit():
        return int(text)
    return NUMBER_WORDS.get(text) or _MORE_WORDS.get(text)


def lesion_count(text: str) -> int | None:
    """The number of lesions the text names ("12 AKs", "eighteen lesions"), the largest when
    several are written."""
    found = [number(m.group("n")) for m in _LESIONS.finditer(text)]
    counts = [n for n in found if n]
    return max(counts) if counts else None


@dataclass(frozen=True, slots=True)
class Area:
    """One wound area in square centimetres, with the depth its sentence names."""

    sq_cm: float
    depth: str  # bone | muscle | subcutaneous | selective | ""
    start: int


def areas(text: str) -> list[Area]:
    """Wound areas ("25 sq cm", "5 x 4 cm"), each with the depth named in its sentence."""
    out: list[Area] = []
    found = list(_AREA.finditer(text))
    for i, m in enumerate(found):
        size = (float(m.group("a")) if m.group("a")
                else float(m.group("l")) * float(m.group("w")))
        lo = s_lo = max(text.rfind(".", 0, m.start()), text.rfind("\n", 0, m.start())) + 1
        hi_dot = text.find(".", m.end())
        hi = s_hi = len(text) if hi_dot < 0 else hi_dot
        # "the 12 sq cm muscle wound and the 18 sq cm subq wound": each area takes the depth
        # named nearest to it, between its neighbours in the sentence
        if i and found[i - 1].end() > lo:
            lo = found[i - 1].end()
        if i + 1 < len(found) and found[i + 1].start() < hi:
            hi = found[i + 1].start()
        depth = _nearest_depth(text, lo, hi, m.start(), m.end())
        if not depth:  # "debrided to muscle, 5 x 4 cm and 3 x 3 cm": the sentence's one depth
            named = {name for name, rx in _DEPTHS if rx.search(text, s_lo, s_hi)}
            depth = named.pop() if len(named) == 1 else ""
        out.append(Area(size, depth, m.start()))
    return out


def _nearest_depth(text: str, lo: int, hi: int, start: int, end: int) -> str:
    """The depth word closest to the area within text[lo:hi] ("" when none)."""
    best: tuple[bool, int, str] | None = None
    for name, rx in _DEPTHS:
        for d in rx.finditer(text, lo, hi):
            gap = max(start - d.end() if d.end() <= start else d.start() - end, 0)
            # a code (97597) says the depth less surely than a word: it may be the next row's
            coded = d.group()[:1].isdigit()
            if best is None or (coded, gap) < best[:2]:
                best = (coded, gap, name)
    return best[2] if best else ""


def minutes(text: str) -> list[tuple[int, int]]:
    """(minutes, position) of each time the text states."""
    return [(int(m.group("m")), m.start()) for m in _MINUTES.finditer(text)]
