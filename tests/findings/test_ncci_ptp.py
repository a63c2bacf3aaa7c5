"""NCCI PTP pairs on the starter KB: column order, indicator, dates and modifiers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from consult.extract.model import CodeMention, Extraction
from consult.findings import evaluate
from consult.findings.context import RuleContext
from consult.findings.rules.ncci_ptp import check
from consult.kb.store import KnowledgeBase

MakeEx = Callable[..., Extraction]
MakeMention = Callable[..., CodeMention]
TinyKb = Callable[..., KnowledgeBase]

DOS = date(2024, 5, 1)


def _ptp(found):
    return {tuple(f.codes): f for f in found if f.rule == "ncci_ptp"}


def test_seed_pairs_for_43214(kb: KnowledgeBase, make_ex: MakeEx) -> None:
    ex = make_ex("43214", "43197", "43198", "43200", "74360", "76000", dos=DOS)
    pairs = _ptp(evaluate(ex, kb))
    assert {("43214", c) for c in ("43197", "43198", "43200", "74360", "76000")} <= set(pairs)
    assert pairs[("43214", "43200")].data["modifier_indicator"] == "0"
    assert pairs[("43214", "43200")].severity == "error"
    assert pairs[("43214", "76000")].data["modifier_indicator"] == "1"
    assert pairs[("43214", "76000")].severity == "warning"
    assert "43200 is bundled into 43214 (column 1)" in pairs[("43214", "43200")].detail


def test_order_of_mention_does_not_change_columns(kb: KnowledgeBase, make_ex: MakeEx) -> None:
    ex = make_ex("43200", "43214", dos=DOS)
    [f] = _ptp(evaluate(ex, kb)).values()
    assert f.data["column1"] == "43214" and f.data["column2"] == "43200"


def test_modifier_59_cannot_bypass_indicator_0(kb: KnowledgeBase, make_ex: MakeEx) -> None:
    ex = make_ex("43214", "43200-59", dos=DOS)
    [f] = _ptp(evaluate(ex, kb)).values()
    assert "cannot bypass" in f.detail
    assert f.data["modifiers"] == ["59"]
    assert f.data["answer"].startswith("No")


def test_modifier_59_on_indicator_1_prefers_x_modifiers(kb: KnowledgeBase, make_ex: MakeEx) -> None:
    ex = make_ex("43214", "76000-59", dos=DOS)
    [f] = _ptp(evaluate(ex, kb)).values()
    assert f.data["modifier_indicator"] == "1"
    assert "XS" in f.detail and "distinct" in f.detail
    assert f.data["answer"].startswith("Only if")


def test_modifier_on_column_1_is_flagged_as_misplaced(kb: KnowledgeBase, make_ex: MakeEx) -> None:
    ex = make_ex("43214-XS", "76000", dos=DOS)
    [f] = _ptp(evaluate(ex, kb)).values()
    assert "belongs on 76000 (column 2), not on 43214" in f.detail


DATED = [("43214", "43200", "practitioner", "2014-01-01", "", "0", "Standards of practice"),
         ("45380", "45378", "practitioner", "2000-01-01", "2019-12-31", "1", "Misuse")]


def test_edit_not_yet_effective_is_info(tiny_kb: TinyKb, make_ex: MakeEx) -> None:
    kb = tiny_kb(ptp=DATED)
    [f] = _ptp(evaluate(make_ex("43214", "43200", dos=date(2010, 1, 1)), kb)).values()
    assert f.severity == "info"
    assert "takes effect 2014-01-01" in f.detail
    [f] = _ptp(evaluate(make_ex("43214", "43200", dos=date(2014, 1, 1)), kb)).values()
    assert f.severity == "error" and "effective from 2014-01-01" in f.detail


def test_deleted_edit_does_not_apply_after_deletion(tiny_kb: TinyKb, make_ex: MakeEx) -> None:
    kb = tiny_kb(ptp=DATED)
    assert _ptp(evaluate(make_ex("45380", "45378", dos=date(2020, 3, 1)), kb)) == {}
    [f] = _ptp(evaluate(make_ex("45380", "45378", dos=date(2019, 3, 1)), kb)).values()
    assert "deleted after 2019-12-31" in f.detail


def test_mail_date_is_the_fallback(tiny_kb: TinyKb, make_ex: MakeEx) -> None:
    kb = tiny_kb(ptp=DATED)
    ex = make_ex("43214", "43200")
    [f] = _ptp(evaluate(ex, kb, received=date(2010, 1, 1))).values()
    assert f.severity == "info" and "mail date" in f.detail
    [f] = _ptp(evaluate(ex, kb, received=date(2015, 1, 1))).values()
    assert f.severity == "error" and "newer than your mail date 2015-01-01" in f.detail


def test_currency_is_said_no_more_strongly_than_the_table_allows(
        tiny_kb: TinyKb, make_ex: MakeEx) -> None:
    """The table is v30.1, effective 2024-04-01 (one quarter): "in force on" only inside it."""
    kb = tiny_kb(ptp=DATED)
    [inside] = _ptp(evaluate(make_ex("43214", "43200", dos=date(2024, 5, 1)), kb)).values()
    assert "in force on 2024-05-01 (date of service)" in inside.detail
    [later] = _ptp(evaluate(make_ex("43214", "43200", dos=date(2026, 11, 14)), kb)).values()
    assert "in the newest table we hold" in later.detail
    assert "in force on 2026-11-14" not in later.detail


def test_hospital_falls_back_to_practitioner(kb: KnowledgeBase, make_ex: MakeEx) -> None:
    ex = make_ex("43214", "43200", dos=DOS, setting="hospital outpatient")
    ctx = RuleContext.build(ex, kb)
    [f] = check(ctx)
    assert f.confidence < 1.0 and "only the practitioner table" in f.detail


def test_single_code_has_no_pairs(kb: KnowledgeBase, make_ex: MakeEx) -> None:
    assert _ptp(evaluate(make_ex("43214", dos=DOS), kb)) == {}


def test_quoted_codes_are_ignored(
    kb: KnowledgeBase, make_ex: MakeEx, make_mention: MakeMention
) -> None:
    ex = make_ex("43214", dos=DOS)
    ex.codes.append(make_mention("43200", where="quoted"))
    assert _ptp(evaluate(ex, kb)) == {}
