"""Modifiers and units attached to a code, in all the ways coders write them.

After the code: ``43214-59``, ``43214 59``, ``43214-59-RT``, ``43214 w/ mod XS``,
``99214 with a 25``, ``43214 (mod 59)``, ``J1100 x 3``, ``J1100 (3 units)``, ``times 2``.
Before the code: ``modifier -25 on the 99214``, ``25 modifier on 99214``, ``3 units of J1100``.

Each reader is anchored at a position and returns what it consumed, so the caller knows where
the code's "phrase" ends (used to tell a list of codes from a code and its modifier).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from consult.extract.traps import QUANTITY_WORDS
from consult.extract.vocab import MODIFIERS, NUMBER_WORDS

_NUMWORD = "|".join(NUMBER_WORDS)
_MOD = r"[A-Za-z0-9]{2}"
#: After a space-separated two-digit modifier, words that show it was a quantity instead.
_NOT_A_MOD_AFTER = re.compile(
    rf"\s*(?:[.,/:]\d|(?i:{QUANTITY_WORDS}|times|x\b|and\s+\d{{2}}\b|or\s+\d{{2}}\b|-\s*\d))"
)

_UNITS_AFTER = re.compile(
    rf"""\s*,?\s*(?:
        [x×X*]\s*(?P<a>\d{{1,3}})(?![\w.,/:]\d|\d)
      | (?i:times|×)\s*(?P<b>\d{{1,3}}|{_NUMWORD})\b
      | \(\s*(?:(?i:x|qty|units?)\s*[:=]?\s*)?(?P<c>\d{{1,3}})\s*(?i:units?|u|x)?\s*\)
      | [-–]?\s*(?P<d>\d{{1,3}}|{_NUMWORD})\s*(?i:units?)\b
      | (?i:qty|quantity|units?)\s*[:=]?\s*(?P<e>\d{{1,3}})\b
      | (?P<f>(?i:twice))\b
      | \|[ \t]*(?:\|[ \t]*)*(?P<g>\d{{1,3}})[ \t]*(?=\|[ \t]*[A-Za-z]|\|?[ \t]*(?:\n|$))
      | \s(?i:and\s+)?(?i:bill|report|code|charge)\s+(?P<h>\d{{1,3}})\s*(?i:units?)\b
    )""",
    re.X,
)
_UNITS_BEFORE = re.compile(
    rf"(?:^|[^\w.])(?P<n>\d{{1,3}}|(?i:{_NUMWORD}))\s*(?:(?i:units?)\s+(?i:of)?|[x×])\s*"
    r"(?:(?i:code|cpt|hcpcs)\s+)?$"
)

_SEP_MOD = re.compile(rf"[ \t]*[-–—_|]\s*(?:(?i:mod(?:ifier)?)\.?\s*)?(?P<m>{_MOD})(?![\w])")
_CHAIN_MOD = re.compile(rf"\s*(?:[-–,/&+]|(?i:and))\s*-?(?P<m>{_MOD})(?![\w])")
_SPACE_MOD = re.compile(r"[ \t]+(?P<m>\d{2}|[A-Z][A-Z0-9])(?![\w])")
_KW_MOD = re.compile(
    rf"\s*,?\s*(?:(?i:w/|with|plus|using|\+)\s*)?(?:(?i:an?|the)\s+)?(?i:mod(?:ifier)?s?)\.?"
    rf"\s*[:#-]?\s*(?P<m>{_MOD})(?![\w])"
)
_WITH_MOD = re.compile(
    r"\s*,?\s*(?i:w/|with|plus|\+)\s*(?:(?i:an?|the)\s+)?-?(?P<m>\d{2}|[A-Z][A-Z0-9])(?![\w])"
    r"(?:\s+(?i:mod(?:ifier)?)\b)?"
)
_PAREN_MOD = re.compile(
    rf"\s*\(\s*(?:(?i:mod(?:ifier)?s?)\.?\s*[:-]?\s*)?-?(?P<m>{_MOD})"
    rf"(?P<rest>(?:\s*[,/&-]\s*-?{_MOD})*)\s*\)"
)
_BEFORE_MOD = re.compile(
    rf"(?:(?i:mod(?:ifier)?s?)\.?\s*[:#]?\s*-?(?P<a>{_MOD})(?:\s*(?:,|(?i:and)|&|/)\s*-?"
    rf"(?P<b>{_MOD}))?|-?(?P<c>{_MOD})\s+(?i:mod(?:ifier)?s?))\s+"
    r"(?i:on|to|for|with|appended\s+to|added\s+to|attached\s+to)\s+"
    r"(?:(?i:the|both|each|code|cpt|hcpcs|e/?m|e&m|visit|procedure|line\s+\d+)\s+)*$"
)


@dataclass(slots=True)
class Attached:
    """What was written next to a code: modifiers in order, units, and where the phrase ends."""

    modifiers: list[str] = field(default_factory=list)
    units: int | None = None
    end: int = 0


def _modifier(token: str, *, strict_case: bool) -> str | None:
    """``token`` as a modifier, or None; ``strict_case`` refuses lower-case letter modifiers."""
    if strict_case and not token.isdigit() and token != token.upper():
        return None
    up = token.upper()
    return up if up in MODIFIERS else None


def _units(m: re.Match[str]) -> int | None:
    for g in "abcdefgh":
        v = m.group(g)
        if v:
            v = v.lower()
            if v == "twice":
                return 2
            n = NUMBER_WORDS.get(v) if not v.isdigit() else int(v)
            return n if n and 0 < n < 1000 else None
    return None


def read_after(text: str, pos: int, *, with_modifiers: bool = True) -> Attached:
    """Modifiers and units written right after a code that ends at ``pos``."""
    out = Attached(end=pos)
    limit = min(len(text), pos + 80)
    for _ in range(8):
        p = out.end
        if p >= limit:
            break
        m = _UNITS_AFTER.match(text, p, limit)
        if m and out.units is None:
            n = _units(m)
            if n is not None:
                out.units = n
                out.end = m.end()
                continue
        if not with_modifiers:
            break
        got = _read_modifier(text, p, limit, first=not out.modifiers)
        if got is None:
            break
        mods, end = got
        for mod in mods:
            if mod not in out.modifiers:
                out.modifiers.append(mod)
        out.end = end
    return out


def _read_modifier(text: str, p: int, limit: int, *, first: bool) -> tuple[list[str], int] | None:
    """One modifier phrase at ``p``; None when there is none."""
    m = _PAREN_MOD.match(text, p, limit)
    if m:
        mods = [m.group("m"), *re.findall(_MOD, m.group("rest"))]
        found = [x for x in (_modifier(t, strict_case=False) for t in mods) if x]
        if found and len(found) == len(mods):
            return found, m.end()
    for rx, strict in ((_SEP_MOD, False), (_KW_MOD, False), (_WITH_MOD, True)):
        m = rx.match(text, p, limit)
        if m:
            mod = _modifier(m.group("m"), strict_case=strict)
            if mod:
                return [mod], m.end()
    if not first:
        m = _CHAIN_MOD.match(text, p, limit)
        if m:
            mod = _modifier(m.group("m"), strict_case=True)
            if mod:
                return [mod], m.end()
    m = _SPACE_MOD.match(text, p, limit)
    if m:
        mod = _modifier(m.group("m"), strict_case=True)
        if mod and not _NOT_A_MOD_AFTER.match(text, m.end(), limit):
            return [mod], m.end()
    return None


def read_before(text: str, start: int) -> Attached:
    """Modifiers and units written right before a code that starts at ``start``."""
    out = Attached(end=start)
    window = text[max(0, start - 70) : start]
    tail = window[-40:].lower()
    if "mod" not in tail and "unit" not in tail and "x" not in tail and "×" not in tail:
        return out
    m = _BEFORE_MOD.search(window) if "mod" in tail else None
    if m:
        for tok in (m.group("a"), m.group("b"), m.group("c")):
            mod = _modifier(tok, strict_case=False) if tok else None
            if mod and mod not in out.modifiers:
                out.modifiers.append(mod)
    u = _UNITS_BEFORE.search(window)
    if u:
        v = u.group("n").lower()
        n = int(v) if v.isdigit() else NUMBER_WORDS.get(v)
        if n and 0 < n < 1000:
            out.units = n
    return out
