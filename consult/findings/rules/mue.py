"""Medically unlikely edits: the units the sender stated against the MUE for the setting.

The adjudication indicator (MAI) decides what happens above the MUE: a line edit can be
split over lines with modifiers, a date-of-service edit caps the whole day (policy: never paid;
clinical: payable on appeal with documentation).
"""

from __future__ import annotations

import re
from functools import lru_cache

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


_DME = re.compile(r"(?i)\bDME\b|\bsupplier\b|durable\s+medical|\bDMEPOS\b|\borthotic")
#: A word each match of ``_DME`` holds (see ``ctx.says``).
_DME_NEEDS = ("dme", "supplier", "durable", "orthotic")


def _setting(ctx: RuleContext) -> str:
    """The MUE table of the mail's setting: DME supplier, outpatient hospital or practitioner."""
    if ctx.says(_DME, _DME_NEEDS):
        return "dme"
    return ctx.setting


def _lookup(ctx: RuleContext, code: str) -> tuple[Mue | None, str]:
    """The MUE for the setting; the practitioner MUE with a note when the setting has none."""
    mue = ctx.kb.mue(code, _setting(ctx))
    if mue is None and ctx.setting != "practitioner":
        mue = ctx.kb.mue(code, "practitioner")
        if mue is not None:
            return mue, " (practitioner MUE: the KB has no outpatient hospital MUE for it)"
    return mue, ""


_SIDES = re.compile(r"(?i)\b50\b|bilat|both|\bx\s?2\b")


@lru_cache(maxsize=64)
def _speaks_of_sides(text: str) -> bool:
    """Whether a question part's words ask about sides or two units; cached: asked per code."""
    return _SIDES.search(text) is not None


def _asked(ctx: RuleContext, code: str) -> bool:
    """A units question about this code (or about sides: one line with 50 or two units)."""
    counted = {m.code for m in ctx.procedures if (m.units or 1) > 1}
    return any((code in p.codes or not p.codes)
               and (p.type == "units" or _speaks_of_sides(p.text))
               # "20610 with J1030 x 2?": the units asked are J1030's, not 20610's
               and not (counted & set(p.codes or counted)) for p in ctx.extraction.parts)


def _stated_mue(ctx: RuleContext, code: str) -> Finding | None:
    """The MUE of a code someone asks about, with the other settings' when they differ."""
    mue, note = _lookup(ctx, code)
    if mue is None:
        return None
    other = ""
    if mue.setting == "dme":
        prac = ctx.kb.mue(code, "practitioner")
        if prac is not None and prac.value != mue.value:
            other = (f"; the practitioner MUE is {prac.value}, but the DME supplier table is the "
                     "one that applies")
    answer = (f"The {mue.setting.replace('dme', 'DME supplier')} MUE for {code} is {mue.value} "
              f"per {'line' if mue.adjudication.startswith('1') else 'day'} (MAI "
              f"{mue.adjudication[:1]}){other}.")
    basis = (f"{code}: MUE {mue.value} ({mue.setting}){note}, MAI {mue.adjudication[:1]}: "
             f"{mai_meaning(mue)}.")
    return Finding(RULE, [code], "info", basis, mue.source, 1.0,
                   {"value": mue.value, "setting": mue.setting, "answer": answer,
                    "basis": basis})


def check(ctx: RuleContext) -> list[Finding]:
    out: list[Finding] = []
    for m in ctx.procedures:
        if m.units is None or m.units <= 1:
            if _asked(ctx, m.code):
                stated = _stated_mue(ctx, m.code)
                if stated is not None:
                    out.append(stated)
            continue
        mue, note = _lookup(ctx, m.code)
        if mue is None:
            continue
        data = {"value": mue.value, "units": m.units, "adjudication": mue.adjudication,
                "setting": mue.setting, "rationale": mue.rationale, "answer": "",
                "basis": f"{m.code}: MUE {mue.value} ({mue.setting}), "
                         f"MAI {mue.adjudication[:1]}: "
                         f"{mai_meaning(mue)}."}
        if m.units > mue.value:
            detail = (
                f"{m.units} units of {m.code} exceed the MUE of {mue.value}{note} for the "
                f"{mue.setting} setting. MAI {mue.adjudication}: {mai_meaning(mue)}. "
                f"MUE rationale: {mue.rationale}."
            )
            by_date = mue.adjudication.strip()[:1] in ("2", "3")
            data["answer"] = (
                f"{m.units} units of {m.code} are over its MUE of {mue.value} per "
                f"{'date of service' if by_date else 'line'}"
                + (f": report {m.code} x{mue.value}." if mue.adjudication.startswith("2")
                   and mue.value else ": units above it are paid only on appeal with the "
                   "record." if by_date else ".")
            )
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
