"""Code tables: tab-separated, pipe-separated and CSV lines under a header row.

Coders paste claim lines from billing systems (``Line<TAB>CPT<TAB>Mod<TAB>Units``) and attach
CSV exports (``line,cpt,modifier,units``). There the modifier and the units stand in columns,
not next to the code, so the phrase readers in ``attach`` cannot see them; the header says
which column is which. Pure functions over one text; offsets index into it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from consult.extract.vocab import MODIFIERS

_DELIMS = ("\t", "|", ",")
_HEADER_CELL = re.compile(r"[A-Za-z][A-Za-z0-9 /#._-]{0,23}")
_CODE_HEAD = re.compile(
    r"(?i)(?:cpt|hcpcs|cpt\s*/\s*hcpcs|hcpcs\s*/\s*cpt|codes?|cpt\s*code|proc(?:edure)?"
    r"(?:\s*code)?|service\s*code)"
)
#: One of these stands in every header cell ``_CODE_HEAD`` accepts.
_HEAD_WORDS = ("cpt", "hcpcs", "code", "proc")
_MOD_HEAD = re.compile(r"(?i)mod(?:ifier)?s?\s*\d?")
_UNITS_HEAD = re.compile(r"(?i)(?:units?|qty|quantity|svc\s*units|days\s*/\s*units|dx\s*units)")
_MOD_TOKEN = re.compile(r"[A-Za-z0-9]{2}")


@dataclass(frozen=True, slots=True)
class TableRow:
    """One data row: where its code cell is, and the modifiers and units its columns give."""

    code_start: int
    code_end: int
    modifiers: tuple[str, ...]
    units: int | None


def _cells(text: str, lo: int, hi: int, delim: str) -> list[tuple[int, int]]:
    """Stripped ``(start, end)`` spans of the cells of ``text[lo:hi]``."""
    out: list[tuple[int, int]] = []
    pos = lo
    while True:
        cut = text.find(delim, pos, hi)
        end = hi if cut < 0 else cut
        a, b = pos, end
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        out.append((a, b))
        if cut < 0:
            return out
        pos = cut + 1


def _roles(text: str, cells: list[tuple[int, int]]) -> dict[str, list[int]] | None:
    """Column roles of a header row (code, mod, units), or None when it is not one."""
    roles: dict[str, list[int]] = {"code": [], "mod": [], "units": []}
    for i, (a, b) in enumerate(cells):
        cell = text[a:b]
        if not cell:
            continue
        if not _HEADER_CELL.fullmatch(cell):
            return None
        for role, rx in (("code", _CODE_HEAD), ("mod", _MOD_HEAD), ("units", _UNITS_HEAD)):
            if rx.fullmatch(cell):
                roles[role].append(i)
                break
    return roles if len(roles["code"]) == 1 else None


def table_rows(text: str) -> list[TableRow]:
    """Data rows of every delimited table in ``text`` whose header names a code column."""
    if "\t" not in text and "|" not in text and "," not in text:
        return []
    low = text.lower()
    if not any(w in low for w in _HEAD_WORDS):  # no header can name a code column
        return []
    lines: list[tuple[int, int]] = []
    pos = 0
    for line in text.split("\n"):
        lines.append((pos, pos + len(line)))
        pos += len(line) + 1
    out: list[TableRow] = []
    i = 0
    while i < len(lines):
        lo, hi = lines[i]
        delim = next((d for d in _DELIMS if text.count(d, lo, hi) >= 2), None)
        roles = None
        if delim is not None:
            header = _cells(text, lo, hi, delim)
            roles = _roles(text, header)
        if delim is None or roles is None:
            i += 1
            continue
        width = text.count(delim, lo, hi)
        i += 1
        while i < len(lines) and text.count(delim, *lines[i]) == width:
            cells = _cells(text, *lines[i], delim)
            out.append(_row(text, cells, roles))
            i += 1
    return out


def _row(text: str, cells: list[tuple[int, int]], roles: dict[str, list[int]]) -> TableRow:
    a, b = cells[roles["code"][0]]
    mods: list[str] = []
    for c in roles["mod"]:
        for tok in _MOD_TOKEN.findall(text[slice(*cells[c])]):
            up = tok.upper()
            if up in MODIFIERS and up not in mods:
                mods.append(up)
    units = None
    for c in roles["units"]:
        cell = text[slice(*cells[c])]
        if cell.isdigit() and 0 < int(cell) < 1000:
            units = int(cell)
            break
    return TableRow(a, b, tuple(mods), units)
