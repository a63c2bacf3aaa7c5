"""Medicare PFS status: codes Medicare does not pay, or pays only inside another service.

The RVU file's status code says how Medicare treats a code: A is paid under the fee schedule;
B is bundled (never paid on its own: 99024, the post-op visit inside a global period); I is
not valid for Medicare (another code is used instead, e.g. G2212 for 99417); N is not
covered; X is excluded by statute; R is restricted; T is paid only when no other service is
billed that day; E is excluded by regulation; P is bundled or excluded; M is a measurement
code with no payment; C is priced by the contractor. The meanings are written in the
project's own words from the RVU file's record layout (RVU25D.pdf).
"""

from __future__ import annotations

import re

from consult.findings.context import RuleContext
from consult.findings.model import Finding, Severity

RULE = "status"
#: The finding rule names this module emits, with their labels, in display order.
LABELS = {RULE: "Medicare PFS status"}

STATUS_MEANING = {
    "B": "bundled: Medicare never pays it separately; its payment is part of other services",
    "I": "not valid for Medicare: Medicare pays another code for this service",
    "N": "not covered by Medicare",
    "X": "not a physician service by statute (clinical lab, ambulance and the like): not "
         "paid under the physician fee schedule",
    "R": "restricted coverage: Medicare pays it only in special circumstances",
    "T": "paid only when no other fee-schedule service is billed the same day",
    "E": "excluded from the fee schedule by regulation: when covered, Medicare pays it "
         "outside the fee schedule",
    "P": "bundled or excluded: no separate Medicare payment",
    "M": "a measurement code: reported for quality programs, no payment",
    "C": "priced by the Medicare contractor (no national amount)",
    "J": "anesthesia service with no fee-schedule amount",
}
#: What Medicare pays instead of a status-I code (CMS PFS final rules; project notes).
MEDICARE_INSTEAD = {
    "99417": "G2212",
    "99418": "G0316",
}
#: Status codes worth saying even when nobody asked (the claim line will not pay).
UNPAID = frozenset({"B", "I", "N", "X", "E", "P", "M"})
#: Of those, the ones Medicare may pay outside the fee schedule: for a lab (paid from the lab
#: fee schedule) said when payment is asked or a denial is the question, not beside every lab.
ELSEWHERE = frozenset({"X", "E"})
_DENIED = re.compile(r"(?i)\bdenied|\bdenial|\bnot\s+pa(?:y|id)|\bwon'?t\s+pay|\bdidn'?t\s+pay|"
                     r"\breject|\bno\s+payment|\bunpaid")


def is_lab(code: str) -> bool:
    """A clinical lab test (80047-89398, PLA codes ending in U) or the venipuncture billed
    with one (36415): status X, paid from the Clinical Laboratory Fee Schedule."""
    return (code.isdigit() and 80000 <= int(code) <= 89999) or code == "36415" or (
        len(code) == 5 and code[:4].isdigit() and code.endswith("U"))


def elsewhere(code: str, status: str) -> str:
    """Where Medicare pays a code the PFS does not ("" when it does not pay it at all)."""
    if status == "X" and is_lab(code):
        return ("it is paid from the Clinical Laboratory Fee Schedule, which is not in our "
                "sources")
    if status == "E":
        return "when covered, Medicare pays it outside the fee schedule"
    return ""


def not_paid(code: str, status: str) -> str:
    """The clause for a code the PFS does not pay, without overstating it: status X and E
    are outside the physician fee schedule, not "not covered"."""
    where = elsewhere(code, status)
    if where:
        return (f"Medicare does not pay {code} under the physician fee schedule (PFS status "
                f"{status}); {where}")
    return f"Medicare does not pay {code} (PFS status {status})"


def _answer(code: str, status: str) -> str:
    if status == "I":
        instead = MEDICARE_INSTEAD.get(code)
        tail = f"; for Medicare report {instead} instead" if instead else ""
        return f"Medicare does not pay {code} (PFS status I, not valid for Medicare){tail}."
    if status == "B":
        return (f"{code} is PFS status B: bundled, so Medicare never pays it separately"
                + (" (it records a post-operative visit inside the global period)."
                   if code == "99024" else "."))
    if status == "N":
        if code.isdigit() and 99381 <= int(code) <= 99397:
            # routine physicals are excluded by statute (SSA sec. 1862(a)(7))
            return (f"Medicare does not cover {code} (PFS status N): a routine physical is "
                    "excluded by statute; if you send it to Medicare for a denial, add GY, "
                    "and the patient pays.")
        return f"Medicare does not cover {code} (PFS status N)."
    if status in ("X", "E"):
        return not_paid(code, status) + "."
    if status == "R":
        return (f"{code} is PFS status R (restricted coverage): Medicare pays it only when "
                "its coverage conditions are met, and the MAC's policy says which.")
    return ""


def check(ctx: RuleContext) -> list[Finding]:
    out: list[Finding] = []
    medicare_like = ctx.extraction.payer_class in (None, "medicare", "medicare_advantage")
    if ctx.setting == "hospital" and not ctx.asks("payment"):
        return out  # a facility claim is paid under OPPS: the physician fee schedule's status
        # (X for 96376: facilities only) says nothing about it
    for m in ctx.procedures:
        info = ctx.kb.pfs(m.code)
        if info is None or info.status not in STATUS_MEANING:
            continue
        if m.code[:1] in ("J", "Q") or ctx.kb.dose_unit(m.code) is not None:
            continue  # drugs are paid from the ASP file, not the PFS: its status says nothing
        paid_beside = [o.code for o in ctx.procedures if o.code != m.code
                       and ctx.same_claim(o.code, m.code) and (p := ctx.kb.pfs(o.code))
                       and p.payable and o.code[:1] not in ("J", "Q")]
        if info.status == "T" and paid_beside and medicare_like:
            # "94760 with 59 or 25?": a status-T service billed with any other paid service
            # that day is bundled into it, and no modifier changes that
            others = ", ".join(paid_beside[:3])
            answer = (f"{m.code} is PFS status T: Medicare pays it only when no other "
                      f"fee-schedule service is billed that day, so with {others} it is bundled "
                      "and no modifier (25, 59 or X) makes it payable.")
            out.append(Finding(RULE, [m.code, *paid_beside[:3]], "warning",
                               f"{m.code} has Medicare PFS status T: "
                               f"{STATUS_MEANING['T']}.", info.source, 1.0,
                               {"status": "T", "instead": None, "answer": answer}))
            continue
        asked = ctx.asks("payment", "coverage", "which_code")
        if info.status not in UNPAID and not asked:
            continue
        if info.status in ELSEWHERE and is_lab(m.code) and not asked \
                and not _DENIED.search(ctx.text):
            continue
        meaning = STATUS_MEANING[info.status]
        detail = f"{m.code} has Medicare PFS status {info.status}: {meaning}."
        instead = MEDICARE_INSTEAD.get(m.code)
        if info.status == "I" and instead:
            other = ctx.kb.pfs(instead)
            if other is not None:
                detail += f" Medicare pays {instead} (status {other.status}) for this service."
        answer = _answer(m.code, info.status) if medicare_like else ""
        gy = (f"If you send {m.code} to Medicare for a denial, add GY: a routine physical is "
              "excluded by statute, and the patient pays."
              if medicare_like and "add GY" in answer else "")
        if not medicare_like and info.status == "I" and instead:
            # a commercial plan follows CPT; the coder still needs to know Medicare differs
            answer = (f"{m.code} is the CPT code; only Medicare does not accept it (PFS status "
                      f"I) and pays {instead} instead.")
        severity: Severity = "warning" if info.status in UNPAID and medicare_like else "info"
        codes = [m.code] + ([instead] if instead else [])
        out.append(Finding(RULE, codes, severity, detail, info.source, 1.0,
                           {"status": info.status, "instead": instead, "answer": answer,
                            "after_choice": gy}))
    return out
