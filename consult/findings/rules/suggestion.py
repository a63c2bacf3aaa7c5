"""Narrative-only questions: candidate codes from the KB's suggestion index.

When the sender described a service but named no code, the reply offers the best-ranked
candidates with the words that matched, for the reviewer to confirm against the record.
"""

from __future__ import annotations

import re

from consult.findings.context import RuleContext
from consult.findings.model import Finding

RULE = "suggestion"
LIMIT = 5

#: Words of the coding trade that say nothing about the service (they would match "Activity
#: codes" or "Billing..." descriptions).
_JARGON = re.compile(
    r"\b(?:codes?|coding|coded|bill(?:ed|ing|able)?|claims?|modifiers?|units?|payers?|use|"
    r"used|should|would|could|what|which|doctor|physician|provider|patient|team|thanks?|"
    r"hello|hi|regards|question|correct|right|same|day)\b",
    re.I,
)


def service_words(text: str) -> str:
    """The text without greetings and coding jargon: what the sender says was done."""
    return " ".join(_JARGON.sub(" ", text).split())


def check(ctx: RuleContext) -> list[Finding]:
    if ctx.mentions:
        return []
    text = service_words(ctx.extraction.narrative or ctx.extraction.question)
    if not text:
        return []
    found = ctx.kb.suggest(text, limit=LIMIT)
    if not found:
        return []
    listing = "; ".join(
        f"{s.code} ({s.system}) {s.description} [matched: {', '.join(s.matched) or '-'}]"
        for s in found
    )
    detail = (
        "Your mail names no code. Candidate codes from your description, best first: "
        f"{listing}. Confirm the code against the record before reporting it."
    )
    data = {
        "candidates": [{"code": s.code, "system": s.system, "score": s.score,
                        "matched": list(s.matched)} for s in found],
        "answer": f"Your mail names no code; the closest candidates are "
                  f"{', '.join(s.code for s in found[:3])}, to confirm against the record.",
    }
    return [Finding(RULE, [s.code for s in found], "info", detail,
                    ctx.kb.citation("starter") + " (suggestion index)", 0.5, data)]
