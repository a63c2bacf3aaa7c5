"""Code references inside ICD-10-CM notes: ``(Q39.3)``, ``(K20-K21)``, ``(K21.-)``, ``(M75.1-)``.

The tabular list writes references as text in parentheses. An Excludes1 finding needs them as
codes and ranges, so they are parsed here once at build time (``parse_refs``) and matched at
run time (``ref_matches``). Pure functions: no KB, no package import.

A reference covers the code written and everything below it: ``K21.-`` and ``K21`` both cover
K21.0 and K21.9; a range ``K20-K21`` covers every code whose category lies between the two ends.
References qualified in words ("S62.- with 7th character B", "with fifth character 5") are
left out: matching them by prefix alone would report conflicts the note does not make.
"""

from __future__ import annotations

import re

CODE = r"[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?"
_REF = re.compile(rf"({CODE})(?:\s*-\s*({CODE})(?:\.?-)?|(\.?-))?")
_PAREN = re.compile(r"\(([^()]*)\)")


def parse_refs(text: str) -> tuple[str, ...]:
    """The code references in a note, in order, without duplicates.

    Forms returned: ``K21`` (a code), ``K21.-`` / ``M75.1-`` (a code and all below, as written),
    ``K20-K21`` (a range, ends without their dash marks).
    """
    found: list[str] = []
    for group in _PAREN.findall(text):
        if "with" in group or not re.search(CODE, group):
            continue
        leftover = _REF.sub("", group)
        if leftover.strip(" ,;.-"):
            continue  # words in the parentheses: not a pure reference list
        for m in _REF.finditer(group):
            lo, hi, dash = m.group(1), m.group(2), m.group(3)
            found.append(f"{lo}-{hi}" if hi else lo + (dash or ""))
    return tuple(dict.fromkeys(found))


def ref_bounds(ref: str) -> tuple[str, str]:
    """(low, high) code prefixes a reference covers; equal for a single code."""
    core = ref.removesuffix(".-").removesuffix("-")
    lo, sep, hi = core.partition("-")
    return (lo, hi) if sep else (lo, lo)


def ref_matches(ref: str, code: str) -> bool:
    """True when ``code`` (with its dot) falls under the reference."""
    lo, hi = ref_bounds(ref)
    c = code.upper()
    if lo == hi:
        return c.startswith(lo)
    return c[: len(lo)] >= lo and c[: len(hi)] <= hi
