"""ICD-10-CM in the KB: billable vs header, 7th characters, notes with resolved references,
and notes inherited from categories, blocks and chapters."""

from __future__ import annotations

import pytest

from consult.kb.icd_refs import parse_refs, ref_matches
from consult.kb.store import KnowledgeBase


@pytest.mark.parametrize(
    ("text", "refs"),
    [
        ("newborn esophageal reflux (Q39.3)", ("Q39.3",)),
        ("diseases of esophagus (K20-K21)", ("K20-K21",)),
        ("reflux (K21.-)", ("K21.-",)),
        ("hypertensive CKD (I12.-, I13.-)", ("I12.-", "I13.-")),
        ("pancreas (K85-K86.-)", ("K85-K86",)),
        ("spine (S12.0-S12.3-)", ("S12.0-S12.3",)),
        ("fracture (S62.- with 7th character B)", ()),
        ("no code here (acute)", ()),
    ],
)
def test_parse_refs(text: str, refs: tuple[str, ...]) -> None:
    assert parse_refs(text) == refs


def test_ref_matches_codes_and_ranges() -> None:
    assert ref_matches("K21.-", "K21.9") and not ref_matches("K21.-", "K22.0")
    assert ref_matches("K20-K21", "K21.00") and not ref_matches("K20-K21", "K22")
    assert ref_matches("O00-O9A", "O9A.111") and not ref_matches("C00-C96", "D00.1")
    assert ref_matches("S12.0-S12.3", "S12.34XA") and not ref_matches("S12.0-S12.3", "S12.4")


def test_header_code_is_not_billable_and_lists_billable_children(
    starter_kb: KnowledgeBase,
) -> None:
    k21 = starter_kb.code("K21", "ICD10CM")
    assert k21 is not None and not k21.billable and k21.status == "header"
    kids = [c.code for c in starter_kb.children("K21")]
    assert kids == ["K21.00", "K21.01", "K21.9"]
    assert all(c.billable for c in starter_kb.children("K21"))


def test_seventh_character_codes(starter_kb: KnowledgeBase) -> None:
    leaf = starter_kb.code("S52.521A")
    assert leaf is not None and leaf.billable and "initial encounter" in leaf.description
    parent = starter_kb.code("S52.521")
    assert parent is not None and not parent.billable
    chars = starter_kb.seventh_characters("S52.521A")
    assert chars["A"] == "initial encounter for closed fracture" and "S" in chars


def test_excludes1_found_both_ways(starter_kb: KnowledgeBase) -> None:
    """K21 excludes P78.83 (newborn reflux); the note applies to K21.9 below it."""
    one = starter_kb.icd_excludes("K21.9", "P78.83")
    other = starter_kb.icd_excludes("P78.83", "K21.9")
    assert [n.from_code for n in one] == ["K21"] and one == other
    assert starter_kb.icd_excludes("K21.9", "K22.0") == []


def test_notes_are_inherited_from_block_and_chapter(starter_kb: KnowledgeBase) -> None:
    notes = starter_kb.icd_notes("K21.9")
    froms = {(n.kind, n.from_code) for n in notes}
    assert ("excludes1", "K21") in froms
    assert ("excludes2", "K20-K31") in froms  # block note: hiatus hernia (K44.-)
    assert any(n.from_code == "11" for n in notes)  # chapter note
    own = starter_kb.icd_notes("K21.9", inherited=False)
    assert all(n.from_code == "" for n in own)


def test_code_first_and_use_additional_are_resolved(starter_kb: KnowledgeBase) -> None:
    notes = starter_kb.icd_notes("N18.4")
    code_first = [n for n in notes if n.kind == "code_first"]
    assert code_first and any(ref_matches(r, "E11.22") for n in code_first for r in n.refs)
    use_add = [n for n in starter_kb.icd_notes("E11.9") if n.kind == "use_additional"]
    assert any("Z79.4" in n.refs for n in use_add)


def test_inclusion_terms_feed_suggestions(starter_kb: KnowledgeBase) -> None:
    terms = [n.text for n in starter_kb.icd_notes("K22.70", inherited=True)
             if n.kind == "inclusion_term"]
    assert any("Barrett" in t for t in terms)
    codes = [s.code for s in starter_kb.suggest("Barrett's syndrome", limit=10)]
    assert any(c.startswith("K22.7") for c in codes)


def test_store_does_not_import_the_icd_package() -> None:
    import subprocess
    import sys

    code = ("import sys, consult.kb.store, consult.cli; "
            "print('simple_icd_10_cm' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
