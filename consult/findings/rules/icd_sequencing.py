"""Code-first and use-additional-code notes on the ICD-10-CM codes in the mail.

A code-first note means the underlying condition is sequenced before this code; a
use-additional note asks for a second code. When the mail already has a matching code the
rule checks the order; when it has none it says what is asked for.
"""

from __future__ import annotations

from consult.findings.context import RuleContext
from consult.findings.icd_refs import covers
from consult.findings.model import Finding
from consult.findings.rules.icd_excludes import notes_for

RULE = "icd_sequencing"
#: The finding rule names this module emits, with their labels, in display order.
LABELS = {RULE: "ICD-10-CM: code first / use additional"}
KINDS = ("code_first", "use_additional")


def _short(text: str, limit: int = 240) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3].rsplit(" ", 1)[0] + "..."


def check(ctx: RuleContext) -> list[Finding]:
    out: list[Finding] = []
    codes = [m.code for m in ctx.diagnoses]
    source = ctx.kb.citation("icd10cm")
    for pos, code in enumerate(codes):
        for note in notes_for(ctx, code, KINDS):
            matched = [c for c in codes if c != code and any(covers(r, c) for r in note.refs)]
            label = "Code first" if note.kind == "code_first" else "Use additional code"
            text = _short(note.text)
            if note.kind == "code_first" and matched:
                late = [c for c in matched if codes.index(c) > pos]
                if not late:
                    continue
                detail = (f"{code}: \"{label}: {text}\". {', '.join(late)} should be listed "
                          f"before {code}.")
                out.append(Finding(RULE, [code, *late], "warning", detail, source, 0.85,
                                   {"kind": note.kind, "answer": f"List {', '.join(late)} "
                                                                 f"before {code} (code first)."}))
            elif matched:
                if ctx.asks("diagnosis"):
                    answer = (f"The \"{label.lower()}\" note on {code} is met by "
                              f"{', '.join(matched)} in your mail: nothing is missing.")
                    out.append(Finding(RULE, [code, *matched], "info", answer, source, 0.8,
                                       {"kind": note.kind, "answer": answer}))
                continue
            else:
                detail = f"{code}: \"{label}: {text}\"."
                if note.refs:
                    detail += " None of the codes in your mail answers it."
                out.append(Finding(RULE, [code], "info", detail, source, 0.8,
                                   {"kind": note.kind, "refs": list(note.refs), "answer": ""}))
    return out
