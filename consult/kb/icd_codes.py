"""ICD-10-CM code shapes: category, parent, 7th-character building. Pure string functions.

ICD-10-CM codes are written with a dot after the third character (S72.001A). A code that takes
a 7th character must have six characters before it; shorter codes are padded with the
placeholder X (S02.5 + A -> S02.5XXA, T14.8 + A -> T14.8XXA); ICD-10-CM Official Guidelines
I.A.5 (placeholder) and I.A.6 (7th characters), summarized in the project's words.
"""

from __future__ import annotations

import re

_CODE = re.compile(r"^[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?$")


def normalize(code: str) -> str:
    """Upper case with the dot after the third character ("s72001d" -> "S72.001D")."""
    c = code.strip().upper().replace(".", "")
    return c if len(c) <= 3 else f"{c[:3]}.{c[3:]}"


def is_icd10cm_shape(code: str) -> bool:
    """True when the text has the shape of an ICD-10-CM code (not whether it exists)."""
    return bool(_CODE.match(code.strip().upper()))


def category(code: str) -> str:
    """The three-character category ("S72.001D" -> "S72")."""
    return normalize(code)[:3]


def parent(code: str) -> str:
    """The code one character shorter, placeholder X's dropped with the 7th character
    ("S72.001D" -> "S72.001", "S02.5XXA" -> "S02.5", "K21.00" -> "K21.0", "K21" -> "")."""
    c = normalize(code).replace(".", "")
    if len(c) <= 3:
        return ""
    c = c[:-1]
    if len(c) == 6:  # a 7th-character code: drop the placeholders before it
        c = c.rstrip("X")
    return normalize(c)


def with_seventh(code: str, char: str) -> str:
    """The code with ``char`` as its 7th character, padded with X placeholders.

    "S72.001" + "D" -> "S72.001D"; "S02.5" + "A" -> "S02.5XXA"; a code that already has a 7th
    character gets it replaced ("S72.001A" + "D" -> "S72.001D"). Raises ValueError on a
    character that is not one letter or digit, or a code that is not an ICD-10-CM shape.
    """
    ch = char.strip().upper()
    if len(ch) != 1 or not ch.isalnum():
        raise ValueError(f"a 7th character is one letter or digit, not {char!r}")
    if not is_icd10cm_shape(code):
        raise ValueError(f"{code!r} is not an ICD-10-CM code")
    c = normalize(code).replace(".", "")
    if len(c) == 7:
        c = c[:6]
    return normalize(c.ljust(6, "X") + ch)


def is_under(code: str, ancestor: str) -> bool:
    """True when ``code`` is ``ancestor`` or below it ("S72.001D" under "S72", "S72.0")."""
    a = normalize(ancestor.removesuffix("-").rstrip("."))
    return normalize(code).startswith(a)
