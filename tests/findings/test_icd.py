"""ICD-10-CM rules: headers, 7th characters, Excludes1/2, code-first/use-additional."""

from __future__ import annotations

from collections.abc import Callable

from consult.extract.model import Extraction
from consult.findings import evaluate
from consult.findings.icd_refs import ancestors, covers
from consult.findings.model import Finding
from consult.kb.store import KnowledgeBase

MakeEx = Callable[..., Extraction]


def _rule(found: list[Finding], rule: str) -> list[Finding]:
    return [f for f in found if f.rule == rule]


def test_covers_single_subcodes_and_ranges() -> None:
    assert covers("P78.83", "P78.83")
    assert covers("K22.1-", "K22.10") and not covers("K22.1-", "K22.2")
    assert covers("E08.-", "E08.65") and not covers("E08.-", "E09.1")
    assert covers("O10-O11", "O11.4") and covers("O10-O11", "O10.02")
    assert not covers("O10-O11", "O13")
    assert covers("K20-K31", "K21.9") and not covers("K20-K31", "K35.2")


def test_ancestors_nearest_first() -> None:
    assert ancestors("K21.00") == ["K21.00", "K21.0", "K21"]
    assert ancestors("I10") == ["I10"]


def test_header_code_lists_billable_children(kb: KnowledgeBase, make_ex: MakeEx) -> None:
    [f] = _rule(evaluate(make_ex("K21"), kb), "icd_billable")
    assert f.severity == "error" and "K21.9" in f.detail


def test_missing_seventh_character(kb: KnowledgeBase, make_ex: MakeEx) -> None:
    [f] = _rule(evaluate(make_ex("S72.001"), kb), "icd_seventh")
    assert "S72.001A" in f.detail
    assert _rule(evaluate(make_ex("S72.001A"), kb), "icd_seventh") == []


def test_excludes1_between_type_1_and_type_2_diabetes(kb: KnowledgeBase,
                                                      make_ex: MakeEx) -> None:
    [f] = _rule(evaluate(make_ex("E11.9", "E10.9"), kb), "excludes1")
    assert f.codes == ["E10.9", "E11.9"] and f.severity == "error"


def test_billable_code_alone_has_no_icd_errors(kb: KnowledgeBase, make_ex: MakeEx) -> None:
    found = evaluate(make_ex("K21.9"), kb)
    assert [f for f in found if f.severity == "error"] == []


def test_use_additional_note_without_the_code(kb: KnowledgeBase, make_ex: MakeEx) -> None:
    found = _rule(evaluate(make_ex("E11.9"), kb), "icd_sequencing")
    assert any("Z79.4" in f.detail for f in found)
    quiet = _rule(evaluate(make_ex("E11.9", "Z79.4"), kb), "icd_sequencing")
    assert not any("Z79.4" in f.detail and "None of the codes" in f.detail for f in quiet)
