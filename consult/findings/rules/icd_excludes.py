"""Excludes1 and Excludes2 pairs among the ICD-10-CM codes in the mail.

Excludes1 means "not coded here": the two conditions are not reported together (unless they
are unrelated, per the official guidelines, I.A.12.a). Excludes2 means "not included here":
both may be reported when the patient has both, so it is information.
"""

from __future__ import annotations

from consult.findings.context import RuleContext
from consult.findings.icd_refs import ancestors, covers
from consult.findings.model import Finding
from consult.kb.model import IcdNote

RULE_E1 = "excludes1"
RULE_E2 = "excludes2"
#: The finding rule names this module emits, with their labels, in display order.
LABELS = {RULE_E1: "ICD-10-CM: Excludes1", RULE_E2: "ICD-10-CM: Excludes2"}


def notes_for(ctx: RuleContext, code: str, kinds: tuple[str, ...]) -> list[IcdNote]:
    """Notes of the given kinds on ``code`` and its parents, nearest first, without repeats."""
    seen: set[tuple[str, str]] = set()
    out: list[IcdNote] = []
    for level in ancestors(code):
        for note in ctx.kb.icd_notes(level):
            key = (note.kind, note.text)
            if note.kind in kinds and key not in seen:
                seen.add(key)
                out.append(note)
    return out


def check(ctx: RuleContext) -> list[Finding]:
    out: list[Finding] = []
    codes = [m.code for m in ctx.diagnoses]
    done: set[tuple[str, str, str]] = set()
    source = ctx.kb.citation("icd10cm")
    for a in codes:
        for note in notes_for(ctx, a, ("excludes1", "excludes2")):
            for b in codes:
                if b == a or not any(covers(ref, b) for ref in note.refs):
                    continue
                first, second = sorted((a, b))
                key = (note.kind, first, second)
                if key in done:
                    continue
                done.add(key)
                where = f" (note at {note.code})" if note.code != a else ""
                if note.kind == "excludes1":
                    detail = (
                        f"{a} has an Excludes1 note{where} for {b}: \"{note.text}\". The two are "
                        "not reported together; pick the one the record supports (both only "
                        "when the conditions are unrelated)."
                    )
                    out.append(Finding(RULE_E1, [first, second], "error", detail, source, 0.9,
                                       {"note_code": note.code, "answer":
                                        f"{a} and {b} are not reported together (Excludes1)."}))
                else:
                    detail = (
                        f"{a} has an Excludes2 note{where} for {b}: \"{note.text}\". Both may "
                        "be reported when the patient has both conditions."
                    )
                    out.append(Finding(RULE_E2, [first, second], "info", detail, source, 0.9,
                                       {"note_code": note.code, "answer": ""}))
    return out
