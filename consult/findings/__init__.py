"""Findings: what the KB says about the codes in one mail, each with its citation.

``evaluate`` runs every rule in ``consult.findings.rules.RULES`` over one extraction. Pure:
the KB is read-only and the date comes in as ``received`` (never the clock).
"""

from __future__ import annotations

from datetime import date

from consult.extract.model import Extraction
from consult.findings.answers import AnsweredPart, answer_parts
from consult.findings.context import RuleContext
from consult.findings.model import Finding
from consult.findings.order import ordered
from consult.findings.rules import POST_RULES, RULES
from consult.kb.store import KnowledgeBase

__all__ = ["AnsweredPart", "Finding", "RuleContext", "assess", "evaluate"]

#: Findings kept per mail: a draft a reviewer can read, whatever the mail holds.
MAX_FINDINGS = 60


def assess(
    extraction: Extraction, kb: KnowledgeBase, *, received: date | None = None
) -> tuple[list[Finding], list[AnsweredPart]]:
    """The findings and, for each question part, its answer (or why our sources cannot)."""
    ctx = RuleContext.build(extraction, kb, received)
    findings = _evaluate(ctx)
    return findings, answer_parts(ctx, findings)


def evaluate(
    extraction: Extraction, kb: KnowledgeBase, *, received: date | None = None
) -> list[Finding]:
    """Every finding for ``extraction``, sorted by (severity, rule order, codes).

    ``received`` is the mail's date: the date the rules judge against when the sender gave no
    date of service.
    """
    return _evaluate(RuleContext.build(extraction, kb, received))


def _evaluate(ctx: RuleContext) -> list[Finding]:
    found: list[Finding] = []
    for _name, check in RULES:
        found.extend(check(ctx))
    for _name, post in POST_RULES:
        found.extend(post(ctx, list(found)))
    result = ordered(found, [m.code for m in ctx.mentions])[:MAX_FINDINGS]
    for i, f in enumerate(result, 1):
        f.id = f"F{i}"
    return result
