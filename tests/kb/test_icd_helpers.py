"""ICD-10-CM helpers the rules use: 7th characters built with X placeholders, parents and
categories, children a mail's words point to, and combination codes the tabular points to."""

from __future__ import annotations

import pytest

from consult.kb import icd_codes
from consult.kb.store import KnowledgeBase, _stages


@pytest.mark.parametrize(("code", "char", "full"), [
    ("S72.001", "D", "S72.001D"),
    ("S72.001A", "D", "S72.001D"),  # replaces an existing 7th character
    ("S02.5", "A", "S02.5XXA"),     # placeholders
    ("T14.8", "a", "T14.8XXA"),
    ("s52521", "S", "S52.521S"),
    ("M80.08", "G", "M80.08XG"),
])
def test_with_seventh(code: str, char: str, full: str) -> None:
    assert icd_codes.with_seventh(code, char) == full


@pytest.mark.parametrize(("code", "char"), [("S72.001", "DD"), ("S72.001", "-"),
                                            ("72001", "A")])
def test_with_seventh_refuses_bad_input(code: str, char: str) -> None:
    with pytest.raises(ValueError):
        icd_codes.with_seventh(code, char)


@pytest.mark.parametrize(("code", "parent"), [
    ("S72.001D", "S72.001"), ("S02.5XXA", "S02.5"), ("K21.00", "K21.0"), ("K21.0", "K21"),
    ("K21", "")])
def test_parent(code: str, parent: str) -> None:
    assert icd_codes.parent(code) == parent


def test_seventh_character_codes_from_the_kb(starter_kb: KnowledgeBase) -> None:
    chars = starter_kb.seventh_characters("S72.001")
    assert chars["D"] == "subsequent encounter for closed fracture with routine healing"
    got = starter_kb.icd_with_seventh("S72.001", "D")
    assert got is not None and got.code == "S72.001D" and got.billable
    assert "routine healing" in got.description
    tooth = starter_kb.icd_with_seventh("S02.5", "A")
    assert tooth is not None and tooth.code == "S02.5XXA"
    assert starter_kb.icd_with_seventh("S72.001", "Z") is None  # S72 has no Z
    assert starter_kb.icd_with_seventh("K21.9", "A") is None  # K21 takes no 7th character
    assert starter_kb.icd_with_seventh("nonsense", "A") is None


def test_parent_category_and_under(starter_kb: KnowledgeBase) -> None:
    assert starter_kb.icd_parent("S72.001D") == "S72.001"
    assert starter_kb.icd_category("s72.001d") == "S72"
    assert starter_kb.icd_is_under("S72.001D", "S72.0")
    assert starter_kb.icd_is_under("K21.9", "K20-K31")  # a block
    assert not starter_kb.icd_is_under("K21.9", "K22")


def test_children_the_words_point_to(starter_kb: KnowledgeBase) -> None:
    kids = starter_kb.icd_children_matching(
        "K21", "reflux with esophagitis and bleeding")
    assert kids[0].code == "K21.01"
    assert [c.code for c in starter_kb.icd_children_matching(
        "K21", "reflux esophagitis, no bleeding")] == ["K21.00"]
    assert [c.code for c in starter_kb.icd_children_matching(
        "K21", "GERD without esophagitis")] == ["K21.9"]
    kids = starter_kb.icd_children_matching("E11.3", "diabetic cataract")
    assert kids[0].code == "E11.36"
    assert starter_kb.icd_children_matching("K21", "no overlap whatsoever") == []


@pytest.mark.parametrize(("a", "b", "suggested", "note_code", "kind"), [
    ("K20.9", "K21.9", "K21.0-", "K20", "excludes1"),   # esophagitis with GERD
    ("K21.9", "K20.9", "K21.0-", "K20", "excludes1"),   # either order
    ("E11.9", "N18.30", "E11.22", "N18", "code_first"),  # diabetic CKD
    ("I10", "N18.30", "I12.-", "I12", "includes"),      # hypertensive CKD
    ("I10", "I50.9", "I11.-", "I11", "includes"),       # hypertensive heart disease
])
def test_combination_hints(starter_kb: KnowledgeBase, a: str, b: str, suggested: str,
                           note_code: str, kind: str) -> None:
    hints = starter_kb.icd_combination_hints(a, b)
    assert [(h.suggested, h.note_code, h.kind) for h in hints] == [(suggested, note_code,
                                                                     kind)]
    assert hints[0].codes == (a, b) and hints[0].text


@pytest.mark.parametrize(("a", "b"), [
    ("E11.9", "Z79.4"),    # use additional code: report both
    ("J44.9", "J45.909"),  # code also: report both
    ("K21.9", "M54.50"),   # unrelated
])
def test_no_combination_hint_where_the_tabular_asks_for_both(
    starter_kb: KnowledgeBase, a: str, b: str
) -> None:
    assert starter_kb.icd_combination_hints(a, b) == []


def test_children_by_stage_number(starter_kb: KnowledgeBase) -> None:
    """"Stage 3a" picks the child for stages 1 through 4, not the one for stage 5 (FY2026
    tabular: I12.0 stage 5 or ESRD, I12.9 stage 1 through stage 4 or unspecified)."""
    assert starter_kb.icd_children_matching(
        "I12", "hypertension, chronic kidney disease stage 3a")[0].code == "I12.9"
    assert starter_kb.icd_children_matching(
        "I12", "hypertension, chronic kidney disease stage 5")[0].code == "I12.0"


@pytest.mark.parametrize(("code", "text"), [
    ("K21", "GERD with esophagitis, no bleeding"), ("E11.3", "diabetic cataract right eye"),
    ("N18", "CKD stage 3a"), ("L89", "pressure ulcer stage 1 through stage 4, not the heel"),
    ("E11", "type 2 diabetes without complications"), ("K21", "no overlap whatsoever"),
])
def test_children_scored_reads_each_description_as_its_own_words(
        starter_kb: KnowledgeBase, code: str, text: str) -> None:
    """The scores from the descriptions' words read once per KB are those of reading each
    description again for every mail."""
    words, negated = starter_kb._stems(text)
    stages = _stages(text)
    want = []
    for i, kid in enumerate(starter_kb.children(code, billable_only=True, limit=2000)):
        desc, desc_neg = starter_kb._stems(kid.description)
        hits = len((words - negated) & (desc - desc_neg)) + len(negated & desc_neg)
        hits -= 2 * len(desc_neg & (words - negated)) + 2 * len(negated & (desc - desc_neg))
        kid_stages = _stages(kid.description)
        if stages and kid_stages:
            hits += 3 if stages & kid_stages else -3
        if hits > 0:
            want.append((-hits, i, kid))
    want.sort(key=lambda t: (t[0], t[1]))
    assert starter_kb.icd_children_scored(code, text) == [(-h, k) for h, _i, k in want]
    assert starter_kb.icd_children_scored(code, text) == [(-h, k) for h, _i, k in want]
