"""Code shapes and their one canonical spelling.

Coders write ``k222``, ``K22.2`` and ``K 22.2``; the KB and the findings want ``K22.2``. These
functions are pure and idempotent (normalising a normalised code gives it back), which the
property tests check.
"""

from __future__ import annotations

import re

_CPT1 = re.compile(r"\d{5}")
_CPT_LETTERED = re.compile(r"\d{4}[FTU]")
_HCPCS = re.compile(r"[A-V]\d{4}")
_ICD_CM = re.compile(r"[A-Z]\d[0-9A-Z](?:\.[0-9A-Z]{1,4})?")
_ICD_CM_LOOSE = re.compile(r"([A-Z]\d[0-9A-Z])\.?([0-9A-Z]{0,4})")
_ICD_PCS = re.compile(r"[0-9A-HJ-NP-Z]{7}")


def normalize_icd10cm(raw: str) -> str | None:
    """``s52521a`` -> ``S52.521A``; None when the text cannot be an ICD-10-CM code."""
    m = _ICD_CM_LOOSE.fullmatch(raw.strip().upper())
    if not m:
        return None
    head, tail = m.groups()
    return f"{head}.{tail}" if tail else head


def is_cpt_category1(code: str) -> bool:
    """Five digits inside the ranges CPT actually uses (00100-01999 anesthesia, then 10004 up)."""
    if not _CPT1.fullmatch(code):
        return False
    n = int(code)
    return 100 <= n <= 1999 or 10004 <= n <= 99607


def is_hcpcs(code: str) -> bool:
    """HCPCS Level II: a letter A-V then four digits (``J1100``)."""
    return bool(_HCPCS.fullmatch(code))


def is_icd10pcs(code: str) -> bool:
    """Seven characters from the PCS alphabet (no I or O), with at least one letter and digit."""
    return (
        bool(_ICD_PCS.fullmatch(code))
        and any(c.isdigit() for c in code)
        and any(c.isalpha() for c in code)
    )


def normalize_code(raw: str, system: str) -> str:
    """The canonical spelling of ``raw`` in ``system``; unchanged when it does not fit."""
    text = raw.strip().upper()
    if system == "ICD10CM":
        return normalize_icd10cm(text) or text
    return text.replace(".", "").replace(" ", "") if system == "ICD10PCS" else text


def icd10cm_parents(code: str) -> list[str]:
    """Shorter codes above ``code`` (``S52.521A`` -> ``S52.521``, ``S52.52``, ``S52.5``, ``S52``),
    skipping X placeholders, so a 7th-character code the KB lacks can still be recognised."""
    out: list[str] = []
    cur = code
    while len(cur) > 3:
        cur = cur[:-1]
        if cur.endswith("."):
            cur = cur[:-1]
        if cur.endswith("X"):
            continue
        out.append(cur)
    return out
