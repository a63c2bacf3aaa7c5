"""Payer note: NCCI and MUE edits bind Medicare and Medicaid; commercial payers may differ.

Runs after the other rules: it only speaks when an NCCI or MUE finding depends on who pays.
"""

from __future__ import annotations

import re

from consult.findings.context import RuleContext
from consult.findings.model import Finding

RULE = "payer"
#: The finding rule names this module emits, with their labels, in display order.
LABELS = {RULE: "Payer"}
NCCI_RULES = frozenset({"ncci_ptp", "mue", "addon"})
_MEDICARE = re.compile(r"medicare|\bmac\b|noridian|novitas|palmetto|wps|cgs|first coast", re.I)
_MEDICAID = re.compile(r"medicaid|medi-cal|chip\b", re.I)
_ADVANTAGE = re.compile(r"advantage|\bma\b|part c", re.I)


def payer_kind(payer: str | None) -> str:
    """``medicare``, ``medicare_advantage``, ``medicaid``, ``commercial`` or ``unknown``."""
    if not payer:
        return "unknown"
    if _MEDICARE.search(payer):
        return "medicare_advantage" if _ADVANTAGE.search(payer) else "medicare"
    if _MEDICAID.search(payer):
        return "medicaid"
    return "commercial"


def check(ctx: RuleContext, found: list[Finding]) -> list[Finding]:
    if not any(f.rule in NCCI_RULES for f in found):
        return []
    kind = payer_kind(ctx.extraction.payer)
    payer = ctx.extraction.payer or ""
    if kind == "medicare":
        return []
    if kind == "medicaid":
        detail = (
            "Medicaid programs apply the Medicaid NCCI edits, which mirror the Medicare edits "
            "cited here with some differences; check the state's Medicaid NCCI files."
        )
        confidence = 0.9
    elif kind == "medicare_advantage":
        detail = (
            f"{payer} is a Medicare Advantage plan: most follow NCCI and MUE, but the plan's "
            "contract and policies decide."
        )
        confidence = 0.8
    elif kind == "commercial":
        detail = (
            f"NCCI and MUE edits bind Medicare and Medicaid claims; {payer} is a commercial "
            "payer and may apply its own edits: check its payment policy."
        )
        confidence = 0.8
    else:
        return []
    return [Finding(RULE, [], "info", detail, "CMS NCCI program (Medicare and Medicaid)",
                    confidence, {"payer_kind": kind, "answer": ""})]
