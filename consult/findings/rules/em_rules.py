"""E/M rules coders ask about: the G2211 add-on, and new versus established patients.

In the project's own words: G2211 (visit complexity tied to longitudinal care) goes with an
office or outpatient E/M (99202-99215); Medicare does not pay it when that E/M carries modifier
25, except, from 2025, when the 25 is there because of an annual wellness visit, a vaccine
administration or a Medicare Part B preventive service the same day (CY 2025 PFS final rule).
A new patient has had no professional service from the physician, or another physician of the
exact same specialty and subspecialty in the same group, within the past three years (CMS
Claims Processing Manual ch. 12 sec. 30.6.7).
"""

from __future__ import annotations

import re

from consult.findings.context import RuleContext
from consult.findings.model import Finding

#: The finding rule names this module emits, with their labels, in display order.
LABELS = {"em_rules": "E/M rules"}
_PREVENTIVE = {"G0438", "G0439", "G0402", "G0008", "G0009", "G0010", "90471", "90472"}
_NEW = re.compile(r"(?i)\bnew\s+(?:patient|pt)|\bestablished\b|\best\.?\s+pt\b|\b9920[2-5]\b.*"
                  r"\b9921[1-5]\b|\bthree\s+years|\b3\s+years")
_NEW_ASKED = re.compile(r"(?i)\bnew\b|\bestablished\b|\best\.?\s+p|\b9920x|\b9921x")
_ANY_NEW_EM = re.compile(r"(?i)\b9920x|\b9921x")


def _is_office_em(code: str) -> bool:
    return code.isdigit() and 99202 <= int(code) <= 99215


def check(ctx: RuleContext) -> list[Finding]:
    out: list[Finding] = []
    codes = [m.code for m in ctx.procedures]
    text = ctx.text
    if "G2211" in codes:
        ems = [c for c in codes if _is_office_em(c)]
        with25 = [c for c in ems if "25" in ctx.modifiers_on(c) + ctx.modifier_options(c)]
        preventive = sorted(set(codes) & _PREVENTIVE)
        if with25 and preventive:
            answer = (f"G2211 is payable with {with25[0]}-25 here: since 2025 the 25 that comes "
                      f"from a same-day {preventive[0]} (AWV, vaccine or Part B preventive "
                      "service) does not block it.")
        elif with25:
            answer = (f"Medicare does not pay G2211 when {with25[0]} carries modifier 25 (a "
                      "same-day procedure); drop G2211 on that claim.")
        elif ems:
            answer = (f"G2211 goes with {ems[0]} when the visit is part of ongoing, longitudinal "
                      "care of a serious or complex condition.")
        else:
            answer = "G2211 is an add-on to an office or outpatient E/M (99202-99215) only."
        out.append(Finding("em_rules", ["G2211", *ems[:1]], "info", answer,
                           "CMS CY 2024 and CY 2025 PFS final rules (G2211), project notes",
                           0.85, {"answer": answer}))
    asked = " ".join(p.text for p in ctx.extraction.parts)
    if _NEW_ASKED.search(asked) and (_NEW.search(text) or _ANY_NEW_EM.search(asked)):
        answer = ("A patient is new only with no professional service from this physician, or "
                  "another physician of the exact same specialty and subspecialty in the same "
                  "group, in the past three years; a visit with a different specialty does not "
                  "count, and a patient seen within three years is established.")
        out.append(Finding("em_rules", [c for c in codes if _is_office_em(c)][:2], "info",
                           answer, "CMS Claims Processing Manual ch. 12 sec. 30.6.7, project "
                           "notes", 0.85, {"answer": answer}))
    return out
