"""The KB remembers its lookups per instance; a caller cannot change what the next one sees."""

from __future__ import annotations

from pathlib import Path

from consult.kb.store import KnowledgeBase


def test_a_repeated_lookup_is_answered_from_memory(starter_kb_path: Path) -> None:
    kb = KnowledgeBase(starter_kb_path)
    first = kb.code("43239")
    kb._conn().close()  # a second query would fail: the answer must come from the memo
    assert kb.code("43239") is first
    assert first is not None and first.code == "43239"


def test_a_caller_changing_a_list_does_not_change_the_memo(starter_kb_path: Path) -> None:
    kb = KnowledgeBase(starter_kb_path)
    notes = kb.icd_notes("K21.9")
    assert notes, "the starter KB has notes for K21.9"
    notes.clear()
    assert kb.icd_notes("K21.9")
    pairs = kb.ptp_among(["43239", "43235"])
    assert pairs, "the starter KB has the 43239/43235 edit"
    for edits in pairs.values():
        edits.clear()
    again = kb.ptp_among(iter(["43235", "43239", "43239"]))  # any iterable, any order
    assert again.keys() == pairs.keys() and all(again.values())


def test_each_kb_file_has_its_own_memo(starter_kb_path: Path, tmp_path: Path) -> None:
    copy = tmp_path / "kb.sqlite"
    copy.write_bytes(starter_kb_path.read_bytes())
    a, b = KnowledgeBase(starter_kb_path), KnowledgeBase(copy)
    assert a.code("43239") == b.code("43239")
    assert a.code("43239") is not b.code("43239")
