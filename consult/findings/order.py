"""The one order findings are shown in: severity, then rule order, then codes.

Deterministic on purpose: the same mail and KB must give byte-identical drafts.
"""

from __future__ import annotations

from consult.findings.model import Finding
from consult.findings.rules import RULE_ORDER

SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}


def sort_key(
    f: Finding, code_order: dict[str, int] | None = None
) -> tuple[int, int, tuple[int, ...], tuple[str, ...], str]:
    """Severity, rule order, then the codes in the order the sender wrote them (so the code
    the question is about leads), then the codes and detail text as tie-breakers."""
    positions = code_order or {}
    where = tuple(positions.get(c, len(positions)) for c in f.codes)
    return (SEVERITY_RANK.get(f.severity, 3), RULE_ORDER.get(f.rule, len(RULE_ORDER)), where,
            tuple(f.codes), f.detail)


def ordered(findings: list[Finding], code_order: list[str] | None = None) -> list[Finding]:
    """Findings in display order; ``code_order`` is the codes in the order of the mail."""
    positions = {c: i for i, c in enumerate(code_order or [])}
    return sorted(findings, key=lambda f: sort_key(f, positions))
