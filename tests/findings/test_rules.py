"""MUE, add-on, global period, modifier, payer and missing-information rules on the starter KB."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from consult.extract.model import Extraction, QuestionPart
from consult.findings import evaluate
from consult.findings.model import Finding
from consult.findings.rules.payer import payer_kind
from consult.kb.store import KnowledgeBase

MakeEx = Callable[..., Extraction]
DOS = date(2026, 10, 1)


def _rule(found: list[Finding], rule: str) -> list[Finding]:
    return [f for f in found if f.rule == rule]


def test_mue_over_limit_is_error_with_mai_meaning(kb: KnowledgeBase, make_ex: MakeEx) -> None:
    [f] = _rule(evaluate(make_ex("96372 x6", dos=DOS), kb), "mue")
    assert f.severity == "error"
    assert f.data["value"] == kb.mue("96372").value  # type: ignore[union-attr]
    assert "date-of-service edit" in f.detail


def test_mue_within_limit_is_info_and_single_unit_silent(kb: KnowledgeBase,
                                                         make_ex: MakeEx) -> None:
    [f] = _rule(evaluate(make_ex("96372 x2", dos=DOS), kb), "mue")
    assert f.severity == "info" and "within the MUE" in f.detail
    assert _rule(evaluate(make_ex("96372 x1", dos=DOS), kb), "mue") == []


def test_dose_is_asked_for_only_when_units_are_the_question(
        kb: KnowledgeBase, make_ex: MakeEx) -> None:
    ex = make_ex("J1100", dos=DOS, payer="Medicare")
    assert not _rule(evaluate(ex, kb), "missing_info")
    ex.parts = [QuestionPart("How many units of J1100?", "units", ["J1100"])]
    assert any("dose" in f.detail and "J1100" in f.detail
               for f in _rule(evaluate(ex, kb), "missing_info"))


def test_addon_without_primary(kb: KnowledgeBase, make_ex: MakeEx) -> None:
    [f] = _rule(evaluate(make_ex("11045", dos=DOS), kb), "addon")
    assert f.severity == "error" and "11042" in f.detail
    [ok] = _rule(evaluate(make_ex("11042", "11045", dos=DOS), kb), "addon")
    assert ok.severity == "info" and ok.codes == ["11045", "11042"]


def test_em_with_minor_procedure_needs_25(kb: KnowledgeBase, make_ex: MakeEx) -> None:
    [f] = _rule(evaluate(make_ex("99214", "20610", dos=DOS), kb), "global_period")
    assert f.severity == "warning" and f.data["modifier"] == "25"
    [ok] = _rule(evaluate(make_ex("99214-25", "20610", dos=DOS), kb), "global_period")
    assert ok.severity == "info"
    [bad] = _rule(evaluate(make_ex("99214-57", "20610", dos=DOS), kb), "global_period")
    assert "wrong one" in bad.detail


def test_postop_modifier_explained(kb: KnowledgeBase, make_ex: MakeEx) -> None:
    found = _rule(evaluate(make_ex("10060-79", dos=DOS), kb), "global_period")
    assert any("unrelated procedure during the global period" in f.detail for f in found)


def test_25_on_a_procedure_is_an_error(kb: KnowledgeBase, make_ex: MakeEx) -> None:
    [f] = _rule(evaluate(make_ex("20610-25", dos=DOS), kb), "modifier")
    assert f.severity == "error" and "only on an E/M" in f.detail


def test_59_with_x_modifier_on_one_line(kb: KnowledgeBase, make_ex: MakeEx) -> None:
    found = _rule(evaluate(make_ex("96372-59-XS", dos=DOS), kb), "modifier")
    assert any("59 and XS" in f.detail for f in found)


def test_26_and_tc_together_and_pctc(kb: KnowledgeBase, make_ex: MakeEx) -> None:
    [f] = _rule(evaluate(make_ex("76942-26-TC", dos=DOS), kb), "pctc")
    assert f.severity == "error" and "global service" in f.detail
    [g] = _rule(evaluate(make_ex("93000-26", dos=DOS), kb), "pctc")
    assert "PC/TC indicator 4" in g.detail and "93010" in g.data["answer"]
    [h] = _rule(evaluate(make_ex("20610-TC", dos=DOS), kb), "pctc")
    assert h.severity == "warning" and "TC does not belong on 20610" in h.detail


def test_unknown_modifier(kb: KnowledgeBase, make_ex: MakeEx) -> None:
    [f] = _rule(evaluate(make_ex("20610-QQ", dos=DOS), kb), "modifier")
    assert "QQ" in f.detail and f.severity == "warning"


def test_lt_rt_on_one_line_points_to_50(kb: KnowledgeBase, make_ex: MakeEx) -> None:
    [f] = _rule(evaluate(make_ex("20610-LT-RT", dos=DOS), kb), "bilateral")
    assert "20610-50 on one line" in f.data["answer"] and "150%" in f.data["answer"]
    assert "bilateral indicator 1" in f.detail


def test_payer_kinds() -> None:
    assert payer_kind("Medicare Part B") == "medicare"
    assert payer_kind("Humana Medicare Advantage") == "medicare_advantage"
    assert payer_kind("Ohio Medicaid") == "medicaid"
    assert payer_kind("Aetna") == "commercial"
    assert payer_kind(None) == "unknown"


def test_commercial_payer_note_only_with_ncci_findings(kb: KnowledgeBase,
                                                       make_ex: MakeEx) -> None:
    found = evaluate(make_ex("43214", "43200", dos=DOS, payer="Aetna"), kb)
    [f] = _rule(found, "payer")
    assert "Aetna" in f.detail
    assert _rule(evaluate(make_ex("43214", "43200", dos=DOS, payer="Medicare"), kb), "payer") == []
    assert _rule(evaluate(make_ex("K21.9", dos=DOS, payer="Aetna"), kb), "payer") == []


def test_missing_date_is_asked_only_when_no_date_is_given(
        kb: KnowledgeBase, make_ex: MakeEx) -> None:
    found = evaluate(make_ex("43214", "43200"), kb, received=DOS)
    questions = " ".join(f.detail for f in _rule(found, "missing_info"))
    assert "date of service" in questions and DOS.isoformat() in questions
    dated = evaluate(make_ex("43214", "43200", dos=DOS), kb, received=DOS)
    assert not _rule(dated, "missing_info")


def test_findings_are_sorted_by_severity_then_rule(kb: KnowledgeBase, make_ex: MakeEx) -> None:
    found = evaluate(make_ex("43214", "76000", "43200", "J1030", "96372 x9"), kb, received=DOS)
    ranks = [{"error": 0, "warning": 1, "info": 2}[f.severity] for f in found]
    assert ranks == sorted(ranks)
    assert found[0].rule == "code_status"


def test_every_rule_module_is_registered_with_its_labels() -> None:
    """One registry: each module under consult/findings/rules runs and names its findings."""
    import pkgutil

    from consult.findings import rules

    names = {m.name for m in pkgutil.iter_modules(rules.__path__)}
    registered = {m.__name__.rsplit(".", 1)[-1] for m in (*rules.CHECKS, *rules.POST_CHECKS)}
    assert names == registered
    for module in (*rules.CHECKS, *rules.POST_CHECKS):
        assert module.LABELS and all(isinstance(v, str) and v for v in module.LABELS.values())
    assert set(rules.RULE_ORDER) == set(rules.RULE_LABELS)
