"""Medically unlikely edits: the units the sender stated against the MUE for the setting.

The adjudication indicator (MAI) decides what happens above the MUE: a line edit can be
split over lines with modifiers, a date-of-service edit caps the whole day (policy: never paid;
clinical: payable on appeal with documentation).
"""

from __future__ import annotations

from consult.findings.context import RuleContext
from consult.findings.model import Finding, Severity
from consult.kb.model import Mue

RULE = "mue"
#: The finding rule names this module emits, with their labels, in display order.
LABELS = {RULE: "Medically unlikely edit (units)"}

MAI_MEANING = {
    "1": "a line edit: units above it may go on another line with a modifier (anatomic, XS or "
         "59, 76, 77, 91) when medically necessary",
    "2": "a date-of-service edit by policy: all units of the day count; units above it are "
         "never paid",
    "3": "a date-of-service edit by clinical benchmark: all units of the day count; units above "
         "it are denied, payable on appeal with the record",
}


def mai_meaning(mue: Mue) -> str:
    """The plain meaning of the MUE adjudication indicator (first character of the KB text)."""
    return MAI_MEANING.get(mue.adjudication.strip()[:1], f"adjudication {mue.adjudication}")


def _lookup(ctx: RuleContext, code: str) -> tuple[Mue | None, str]:
    """The MUE for the setting; the practitioner MUE with a note when the setting has none."""
    mue = ctx.kb.mue(code, ctx.setting)
    if mue is None and ctx.setting != "practitioner":
        mue = ctx.kb.mue(code, "practitioner")
        if mue is not None:
            return mue, " (practitioner MUE: the KB has no outpatient hospital MUE for it)"
    return mue, ""


def check(ctx: RuleContext) -> list[Finding]:
    out: list[Finding] = []
    for m in ctx.procedures:
        if m.units is None:
            continue
        mue, note = _lookup(ctx, m.code)
        if mue is None:
            continue
        data = {"value": mue.value, "units": m.units, "adjudication": mue.adjudication,
                "setting": mue.setting, "rationale": mue.rationale, "answer": "",
                "basis": f"{m.code}: MUE {mue.value} ({mue.setting}), MAI {mue.adjudication}: "
                         f"{mai_meaning(mue)}."}
        if m.units > mue.value:
            detail = (
                f"{m.units} units of {m.code} exceed the MUE of {mue.value}{note} for the "
                f"{mue.setting} setting. MAI {mue.adjudication}: {mai_meaning(mue)}. "
                f"MUE rationale: {mue.rationale}."
            )
            data["answer"] = (
                f"{m.units} units of {m.code} are over its MUE of {mue.value} per "
                f"{'line' if mue.adjudication.startswith('1') else 'date of service'}."
            )
            by_date = mue.adjudication.strip()[:1] in ("2", "3")
            severity: Severity = "error" if by_date else "warning"
            out.append(Finding(RULE, [m.code], severity, detail, mue.source, 1.0, data))
        elif m.units > 1:
            detail = (
                f"{m.units} units of {m.code} are within the MUE of {mue.value}{note} "
                f"({mue.setting}); MAI {mue.adjudication}: {mai_meaning(mue)}."
            )
            pfs = ctx.kb.pfs(m.code)
            if ctx.asks("units") and not (pfs and pfs.status in ("I", "B")):
                data["answer"] = (f"{m.units} units of {m.code} are within its MUE of "
                                  f"{mue.value}.")
            out.append(Finding(RULE, [m.code], "info", detail, mue.source, 1.0, data))
    return out
