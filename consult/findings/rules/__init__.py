"""One module per rule; ``CHECKS`` fixes their order, which is also the order of the answer.

A rule is ``check(ctx: RuleContext) -> list[Finding]``: pure, reads the KB, never raises for
a code it does not know (that is itself a finding). ``POST_RULES`` run after all others and
also see their findings (``check(ctx, found)``): the payer note and the questions back.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from consult.findings.context import RuleContext
from consult.findings.model import Finding
from consult.findings.rules import (
    addon,
    choice,
    code_families,
    code_status,
    coverage,
    diagnosis,
    drug_units,
    em_rules,
    endoscopy,
    global_period,
    icd_billable,
    icd_excludes,
    icd_sequencing,
    missing_info,
    modifier,
    mue,
    ncci_ptp,
    payer,
    payment,
    pfs_indicators,
    pfs_status,
    screening,
    suggestion,
)

Rule = Callable[[RuleContext], list[Finding]]
PostRule = Callable[[RuleContext, list[Finding]], list[Finding]]

#: The rule modules in the order they run; each declares ``check`` and ``LABELS`` (the finding
#: rule names it emits, with their labels). Their order is also the order of the answer.
CHECKS: tuple[ModuleType, ...] = (
    code_status, pfs_status, icd_billable, ncci_ptp, endoscopy, code_families, choice,
    drug_units, pfs_indicators, screening, em_rules, coverage, mue, addon, global_period,
    modifier, icd_excludes, icd_sequencing, diagnosis, suggestion,
)
#: Modules whose ``check(ctx, found)`` also sees the other rules' findings.
POST_CHECKS: tuple[ModuleType, ...] = (payment, payer, missing_info)


def _name(module: ModuleType) -> str:
    return module.__name__.rsplit(".", 1)[-1]


#: (module name, check) in the order they run.
RULES: tuple[tuple[str, Rule], ...] = tuple((_name(m), m.check) for m in CHECKS)
POST_RULES: tuple[tuple[str, PostRule], ...] = tuple((_name(m), m.check) for m in POST_CHECKS)
#: Every finding rule name with its label, and its display/sort order.
RULE_LABELS: dict[str, str] = {
    name: label for m in (*CHECKS, *POST_CHECKS) for name, label in m.LABELS.items()
}
RULE_ORDER: dict[str, int] = {name: i for i, name in enumerate(RULE_LABELS)}
