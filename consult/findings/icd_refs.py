"""ICD-10-CM reference matching for instructional notes (pure string logic, no KB).

Notes name codes as a single code (``P78.83``), a code with all its subcodes (``K22.1-``,
``E08.-``), or a range of categories (``O10-O11``, ``K20-K31``). ``covers`` answers whether a
reference takes in a given code.
"""

from __future__ import annotations

import re

_CODE = re.compile(r"^[A-Z]\d[0-9A-Z](?:\.?[0-9A-Z]{0,4})?$")


def _flat(code: str) -> str:
    return code.replace(".", "").upper()


def covers(ref: str, code: str) -> bool:
    """True when the note reference ``ref`` includes ``code``."""
    ref = ref.strip().upper().rstrip("-").rstrip(".")
    if not ref:
        return False
    if "-" in ref:
        lo, hi = (part.strip().rstrip(".") for part in ref.split("-", 1))
        if _CODE.match(lo) and _CODE.match(hi):
            flo, fhi, fc = _flat(lo), _flat(hi), _flat(code)
            return flo <= fc[: len(flo)] and fc[: len(fhi)] <= fhi
        return False
    return _flat(code).startswith(_flat(ref))


def ancestors(code: str) -> list[str]:
    """The code and its parents up to the category, nearest first: K21.00 -> K21.00, K21.0, K21."""
    out = [code]
    if "." in code:
        head, tail = code.split(".", 1)
        for i in range(len(tail) - 1, 0, -1):
            out.append(f"{head}.{tail[:i]}")
        out.append(head)
    return out
