"""Case2Code against the starter KB: the issue's examples, coding with PTP bundles, qualifiers,
ICD-10-CM laterality and 7th characters, abstention, the CLI contract and the latency budget."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from consult.cli import cli
from consult.kb.store import KnowledgeBase
from consult.suggest import suggest


def codes(kb: KnowledgeBase, text: str, n: int = 3) -> list[str]:
    return [c.code for c in suggest(text, kb).candidates[:n]]


@pytest.mark.parametrize(("text", "first"), [
    ("retrograde esophageal dilation through a gastrostomy", "43213"),
    ("flexible esophagoscopy with balloon dilation 30 mm", "43214"),
    ("flexible esophagoscopy with balloon dilation 20 mm", "43220"),
    ("EGD with PEG", "43246"),
    ("lap appy", "44970"),
    ("lap chole with IOC", "47563"),
    ("17 AKs frozen", "17004"),
    ("I&D of a single abscess on the back", "10060"),
    ("TKA right", "27447"),
    ("lumbar TFESI one level under fluoro", "64483"),
    ("CT head w/o contrast", "70450"),
    ("CT head with and without contrast", "70470"),
    ("new patient office visit, moderate MDM", "99204"),
    ("established pt, total time 42 min", "99215"),
    ("R knee OA", "M17.11"),
])
def test_narratives_find_the_code_a_coder_would(starter_kb: KnowledgeBase, text: str,
                                                first: str) -> None:
    assert codes(starter_kb, text, 1) == [first], codes(starter_kb, text, 5)


def test_therapeutic_egd_with_the_diagnostic_egd_noted_as_bundled(
        starter_kb: KnowledgeBase) -> None:
    result = suggest("EGD with PEG tube placement", starter_kb)
    assert [c.code for c in result.coding] == ["43246"]
    note = next(b for b in result.bundled if b.code == "43235")
    assert note.into == "43246" and note.modifier_indicator == "0"
    assert "43235 is bundled into 43246" in note.text()


def test_several_procedures_give_a_coding(starter_kb: KnowledgeBase) -> None:
    result = suggest("colonoscopy with snare polypectomy and cold biopsy of a separate polyp",
                     starter_kb)
    assert [c.code for c in result.coding][:2] == ["45385", "45380"]
    together = next(b for b in result.bundled if b.code == "45380")
    assert together.modifier_indicator == "1" and "distinct" in together.text()


def test_counts_pick_a_primary_and_its_addon(starter_kb: KnowledgeBase) -> None:
    assert [c.code for c in suggest("5 AKs frozen", starter_kb).coding][:2] == ["17000", "17003"]
    assert codes(starter_kb, "destruction of 17 actinic keratoses", 1) == ["17004"]


def test_diagnoses_take_side_and_encounter(starter_kb: KnowledgeBase) -> None:
    assert codes(starter_kb, "R femoral neck fx, initial", 1) == ["S72.001A"]
    assert codes(starter_kb, "L femoral neck fx, initial", 1) == ["S72.002A"]
    first = suggest("colles fx R wrist, f/u visit, healing normally", starter_kb).candidates[0]
    assert first.code == "S52.531D" and "7th character D" in first.note
    assert codes(starter_kb, "POAG OU mild stage", 1) == ["H40.1131"]


@pytest.mark.parametrize("text", [
    "Thanks, a second opinion before we resubmit would help.",
    "Can you bill us quarterly instead of monthly?",
    "Please confirm receipt.",
    "Best,\nDana Whitfield, CPC\nLakeside Orthopedics\n(555) 201-3344",
    "ok thx",
])
def test_says_nothing_rather_than_a_wrong_code(starter_kb: KnowledgeBase, text: str) -> None:
    result = suggest(text, starter_kb)
    assert result.candidates == () and result.abstained


def test_kb_suggest_keeps_its_shape(starter_kb: KnowledgeBase) -> None:
    got = starter_kb.suggest("colonoscopy with snare removal of a polyp", limit=5)
    assert got[0].code == "45385" and got[0].matched
    assert starter_kb.suggest("a second opinion before we resubmit") == []


def _cli(args: list[str], kb: Path, home: Path) -> str:
    result = CliRunner().invoke(cli, args, env={"CONSULT_KB_PATH": str(kb),
                                                "CONSULT_HOME": str(home)})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_cli_json_contract_and_abstention(starter_kb_path: Path, tmp_path: Path) -> None:
    rows = json.loads(_cli(["suggest", "EGD with PEG", "--json", "--limit", "3"],
                           starter_kb_path, tmp_path))
    assert isinstance(rows, list) and rows[0]["code"] == "43246"
    assert set(rows[0]) == {"system", "code", "description", "score"}
    quiet = json.loads(_cli(["suggest", "thanks, see below", "--json"], starter_kb_path,
                            tmp_path))
    assert quiet["candidates"] == [] and quiet["abstained"]
    text = _cli(["suggest", "EGD with PEG"], starter_kb_path, tmp_path)
    assert "43246" in text and "43235 is bundled into 43246" in text


def test_latency_budget_on_a_warm_kb(starter_kb: KnowledgeBase) -> None:
    texts = ["EGD w/ cold bx x3 antrum r/o h pylori", "R trimalleolar ankle fx, initial",
             "same day egd w/ bx and colonoscopy w/ snare polypectomy", "lap appy"]
    for t in texts:
        suggest(t, starter_kb)
    took = []
    for t in texts * 5:
        start = time.perf_counter()
        suggest(t, starter_kb)
        took.append(time.perf_counter() - start)
    took.sort()
    assert took[len(took) // 2] < 0.05  # generous on a shared 2-core machine; bench: p95


def test_a_kb_built_before_the_index_says_to_rebuild(starter_kb_path: Path,
                                                     tmp_path: Path) -> None:
    import shutil
    import sqlite3

    from consult.errors import KnowledgeBaseError

    old = tmp_path / "old.sqlite"
    shutil.copy(starter_kb_path, old)
    with sqlite3.connect(old) as conn:
        conn.execute("DELETE FROM meta WHERE key LIKE 'c2c_%'")
    kb = KnowledgeBase(old)
    with pytest.raises(KnowledgeBaseError, match="consult kb build"):
        suggest("EGD with PEG", kb)
    assert kb.suggest("EGD with PEG") == []  # drafting on an old KB goes on without candidates
