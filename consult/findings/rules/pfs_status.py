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

from consult.findings.context import RuleContext
from consult.findings.model import Finding, Severity

RULE = "status"
#: The finding rule names this module emits, with their labels, in display order.
LABELS = {RULE: "Medicare PFS status"}

STATUS_MEANING = {
    "B": "bundled: Medicare never pays it separately; its payment is part of other services",
    "I": "not valid for Medicare: Medicare pays another code for this service",
    "N": "not covered by Medicare",
    "X": "excluded from Medicare by statute",
    "R": "restricted coverage: Medicare pays it only in special circumstances",
    "T": "paid only when no other fee-schedule service is billed the same day",
    "E": "excluded from the fee schedule by regulation",
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


def _answer(code: str, status: str) -> str:
    if status == "I":
        instead = MEDICARE_INSTEAD.get(code)
        tail = f"; for Medicare report {instead} instead" if instead else ""
        return f"Medicare does not pay {code} (PFS status I, not valid for Medicare){tail}."
    if status == "B":
        return (f"{code} is PFS status B: bundled, so Medicare never pays it separately"
                + (" (it records a post-operative visit inside the global period)."
                   if code == "99024" else "."))
    if status in ("N", "X", "E"):
        return f"Medicare does not cover {code} (PFS status {status})."
    return ""


def check(ctx: RuleContext) -> list[Finding]:
    out: list[Finding] = []
    medicare_like = ctx.extraction.payer_class in (None, "medicare", "medicare_advantage")
    for m in ctx.procedures:
        info = ctx.kb.pfs(m.code)
        if info is None or info.status not in STATUS_MEANING:
            continue
        if m.code[:1] in ("J", "Q") or ctx.kb.dose_unit(m.code) is not None:
            continue  # drugs are paid from the ASP file, not the PFS: its status says nothing
        if info.status not in UNPAID and not ctx.asks("payment", "coverage", "which_code"):
            continue
        meaning = STATUS_MEANING[info.status]
        detail = f"{m.code} has Medicare PFS status {info.status}: {meaning}."
        instead = MEDICARE_INSTEAD.get(m.code)
        if info.status == "I" and instead:
            other = ctx.kb.pfs(instead)
            if other is not None:
                detail += f" Medicare pays {instead} (status {other.status}) for this service."
        answer = _answer(m.code, info.status) if medicare_like else ""
        severity: Severity = "warning" if info.status in UNPAID and medicare_like else "info"
        codes = [m.code] + ([instead] if instead else [])
        out.append(Finding(RULE, codes, severity, detail, info.source, 1.0,
                           {"status": info.status, "instead": instead, "answer": answer}))
    return out
