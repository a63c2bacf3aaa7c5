"""Endoscopy families: the multiple-endoscopy payment rule, not modifier 51 or 59.

Endoscopies that share a base code in the RVU file (ENDO BASE, multiple-procedure indicator 3)
are one family: on one date Medicare pays the most valuable one in full and each other member
at its value minus the base endoscopy's value, so no modifier 51 is needed and no modifier
unbundles them unless a pair edit says so. The base (diagnostic) endoscopy itself is not
reported with a member of its family. Endoscopies of different families on one date (an EGD and
a colonoscopy) follow the ordinary multiple-procedure rule: there is no NCCI edit between them,
and modifier 59 is not needed. (Medicare Claims Processing Manual ch. 12 sec. 40.6; project's
own words.)
"""

from __future__ import annotations

from consult.findings.context import RuleContext
from consult.findings.model import Finding

RULE = "endoscopy"
#: The finding rule names this module emits, with their labels, in display order.
LABELS = {RULE: "Endoscopy family"}
GUIDE = "CMS Claims Processing Manual ch. 12 sec. 40.6 (multiple endoscopy), project notes"


def check(ctx: RuleContext) -> list[Finding]:
    out: list[Finding] = []
    family: dict[str, list[str]] = {}
    source = ""
    for m in ctx.procedures:
        info = ctx.kb.pfs(m.code)
        if info is None or info.mult_proc != "3":
            continue
        base = info.endo_base or m.code
        family.setdefault(base, []).append(m.code)
        source = info.source
    if not family:
        return out
    for base, codes in sorted(family.items()):
        members = [c for c in codes if c != base]
        if base in codes and members:
            detail = (f"{base} is the base endoscopy of {', '.join(members)} (RVU ENDO BASE): "
                      f"the diagnostic {base} is included in them on the same date and is not "
                      "reported separately.")
            out.append(Finding(RULE, [base, *members], "warning", detail, f"{source}; {GUIDE}",
                               0.9, {"base": base, "members": members,
                                     "answer": f"Do not report {base}: it is the base "
                                               f"endoscopy of {', '.join(members)}."}))
        edits = ctx.kb.ptp_among(members, ctx.on, ctx.setting) if len(members) > 1 else {}
        if len(members) > 1 and not edits:
            detail = (f"{', '.join(members)} share the endoscopy base {base} (RVU multiple "
                      "procedure indicator 3): the multiple-endoscopy rule applies - the highest "
                      "valued is paid in full and each other at its value minus that of "
                      f"{base}. No modifier 51 is needed, and none is needed to unbundle them "
                      "unless an NCCI edit pairs them.")
            out.append(Finding(RULE, members, "info", detail, f"{source}; {GUIDE}", 0.9,
                               {"base": base, "members": members,
                                "answer": f"{' and '.join(members)} are one endoscopy family "
                                          f"(base {base}): the multiple-endoscopy rule pays "
                                          "them, no modifier 51 needed."}))
    if len(family) > 1:
        pairs = [(a, b) for a in family for b in family if a < b]
        for a, b in pairs:
            ca, cb = [c for c in family[a] if c != a] or [a], [c for c in family[b]
                                                              if c != b] or [b]
            if not any(ctx.same_claim(x, y) for x in ca for y in cb):
                continue
            detail = (f"{', '.join(ca)} (base {a}) and {', '.join(cb)} (base {b}) are different "
                      "endoscopy families: on one date they follow the standard "
                      "multiple-procedure rule (the second at 50%), not the endoscopy rule.")
            answer = (f"{', '.join(ca)} (base {a}) and {', '.join(cb)} (base {b}) are in "
                      "different endoscopy families: each is paid under the usual "
                      "multiple-procedure rule, and no 59 is needed between them.")
            out.append(Finding(RULE, [*ca, *cb], "info", detail, f"{source}; {GUIDE}", 0.85,
                               {"bases": [a, b], "answer": answer}))
    return out
