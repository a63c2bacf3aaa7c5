"""One module per rule; ``RULES`` fixes their order, which is also the order of the answer.

A rule is ``check(ctx: RuleContext) -> list[Finding]``: pure, reads the KB, never raises for
a code it does not know (that is itself a finding). ``POST_RULES`` run after all others and
also see their findings (``check(ctx, found)``): the payer note and the questions back.
"""

from __future__ import annotations

from collections.abc import Callable

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

#: (rule name, check) in the order the answer should discuss them.
RULES: tuple[tuple[str, Rule], ...] = (
    ("code_status", code_status.check),
    ("status", pfs_status.check),
    ("icd_billable", icd_billable.check),
    ("ncci_ptp", ncci_ptp.check),
    ("endoscopy", endoscopy.check),
    ("code_family", code_families.check),
    ("choice", choice.check),
    ("drug_units", drug_units.check),
    ("pfs_indicators", pfs_indicators.check),
    ("screening", screening.check),
    ("em_rules", em_rules.check),
    ("coverage", coverage.check),
    ("mue", mue.check),
    ("addon", addon.check),
    ("global_period", global_period.check),
    ("modifier", modifier.check),
    ("icd_excludes", icd_excludes.check),
    ("icd_sequencing", icd_sequencing.check),
    ("diagnosis", diagnosis.check),
    ("suggestion", suggestion.check),
)
POST_RULES: tuple[tuple[str, PostRule], ...] = (
    ("payment", payment.check),
    ("payer", payer.check),
    ("missing_info", missing_info.check),
)

#: Display/sort order of every finding ``rule`` name the rules emit.
RULE_ORDER: dict[str, int] = {
    name: i
    for i, name in enumerate((
        "code_status", "unknown_code", "status", "icd_seventh", "icd_billable", "ncci_ptp",
        "endoscopy", "code_family", "choice", "drug_units", "pctc", "bilateral", "surgeons",
        "screening", "em_rules", "payment", "coverage", "mue",
        "addon", "global_period", "modifier", "excludes1", "excludes2", "diagnosis",
        "icd_sequencing",
        "suggestion", "payer", "missing_info",
    ))
}
