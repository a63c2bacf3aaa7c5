"""Candidate codes for what the coder describes but does not code (Case2Code).

When the mail names no procedure code, or a question asks which code fits a described service
("what do we bill for the read?"), Case2Code ranks candidates from the mail's clinical
sentences only (never greetings, signatures or cover notes) and abstains below its confidence
floor. The reply offers its coding, marked "to confirm against the record": a candidate is a
starting point for the reviewer, not a finding.
"""

from __future__ import annotations

from consult.findings.context import RuleContext
from consult.findings.model import Finding

RULE = "suggestion"
#: The finding rule names this module emits, with their labels, in display order.
LABELS = {RULE: "Candidate codes"}
LIMIT = 5


def _replaced(ctx: RuleContext, code: str, system: str) -> bool:
    """A retired code the code files name a successor for (G0202 -> 77067)."""
    info = ctx.kb.code(code, system) or ctx.kb.code(code)
    return info is not None and info.status in ("deleted", "terminated") and bool(
        info.replaced_by)


def check(ctx: RuleContext) -> list[Finding]:
    asked_code = ctx.asks("which_code") and not any(p.codes for p in ctx.extraction.parts
                                                    if p.type == "which_code")
    if ctx.procedures and not asked_code:
        return []
    if any(_replaced(ctx, m.code, m.system) for m in ctx.mentions):
        return []  # "what's the right code?" of a retired code: its successor answers it
    text = ctx.extraction.narrative or ctx.extraction.question
    if not text.strip():
        return []
    from consult.suggest import suggest  # the ranker reads this package's KB at import

    result = suggest(text, ctx.kb, LIMIT)
    if result.abstained or not result.candidates:
        return []
    picks = list(result.coding or result.candidates[:1])
    named = {m.code for m in ctx.mentions}
    picks = [c for c in picks if c.code not in named][:3]
    if not picks:
        return []
    listing = "; ".join(f"{c.code} ({c.description})" for c in picks)
    bundled = "; ".join(b.text() for b in result.bundled[:2])
    answer = (f"From your description, the likely code{'s' if len(picks) > 1 else ''}: "
              f"{listing} - to confirm against the record.")
    detail = (f"Candidates ranked from the clinical sentences of your mail: {listing}."
              + (f" {bundled}." if bundled else "") + " Confirm against the record before "
              "reporting.")
    data = {
        "candidates": [{"code": c.code, "system": c.system, "score": c.score,
                        "matched": list(c.matched)} for c in result.candidates],
        "answer": answer,
    }
    return [Finding(RULE, [c.code for c in picks], "info", detail,
                    "consult Case2Code index (CMS descriptors, the project's lay descriptions "
                    "and lexicon)", 0.6, data)]
