"""Deleted, terminated and unknown codes come first, with the KB's replacement."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from consult.extract.model import CodeMention, Extraction
from consult.findings import evaluate
from consult.kb.store import KnowledgeBase

MakeEx = Callable[..., Extraction]
MakeMention = Callable[..., CodeMention]


def _by_rule(findings, rule):
    return [f for f in findings if f.rule == rule]


def test_deleted_cpt_names_its_replacement(kb: KnowledgeBase, make_ex: MakeEx) -> None:
    found = evaluate(make_ex("43456"), kb, received=date(2024, 5, 1))
    [f] = _by_rule(found, "code_status")
    assert f.severity == "error"
    assert f.codes == ["43456"]
    assert "43213" in f.detail
    assert f.data["replaced_by"] == ["43213"]


def test_terminated_hcpcs_after_end_date_is_error(kb: KnowledgeBase, make_ex: MakeEx) -> None:
    found = evaluate(make_ex("J1030", dos=date(2024, 6, 1)), kb)
    [f] = _by_rule(found, "code_status")
    assert f.severity == "error"
    assert "J1010" in f.detail and "2024-03-31" in f.detail
    assert found[0] is f  # status is the first thing said


def test_terminated_code_valid_on_earlier_dos_warns(kb: KnowledgeBase, make_ex: MakeEx) -> None:
    found = evaluate(make_ex("J1030", dos=date(2024, 1, 15)), kb)
    [f] = _by_rule(found, "code_status")
    assert f.severity == "warning"
    assert "still valid" in f.detail
    assert f.data["answer"] == ""


def test_active_codes_give_no_status_finding(kb: KnowledgeBase, make_ex: MakeEx) -> None:
    found = evaluate(make_ex("43214", "J1100"), kb, received=date(2024, 5, 1))
    assert _by_rule(found, "code_status") == []
    assert _by_rule(found, "unknown_code") == []


def test_unknown_icd_code_is_an_error(kb: KnowledgeBase, make_ex: MakeEx) -> None:
    found = evaluate(make_ex("K22.99"), kb)
    [f] = _by_rule(found, "unknown_code")
    assert f.severity == "error" and f.codes == ["K22.99"]


def test_unknown_cpt_on_kb_is_tentative(kb: KnowledgeBase, make_ex: MakeEx) -> None:
    found = evaluate(make_ex("27447"), kb)
    [f] = _by_rule(found, "unknown_code")
    assert f.severity == "info"
    assert f.confidence < 0.8
