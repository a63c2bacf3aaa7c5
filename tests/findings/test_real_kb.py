"""Findings on a KB built from the real CMS files in ../shared/data/cms: the full practitioner
PTP table (v30.1), the 2026 Q2 MUE tables, the 2026 Q2 add-on code file and the RVU25D file.

Descriptions in this KB come from CMS files that carry AMA short descriptors, so these tests
assert on codes, indicators and citations only, never on description text.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from consult.extract.model import Extraction
from consult.findings import evaluate
from consult.findings.model import Finding
from consult.kb.store import KnowledgeBase
from consult.pipeline import analyze

MakeEx = Callable[..., Extraction]
DOS = date(2026, 5, 4)
GOLDEN = Path(__file__).resolve().parent.parent / "data" / "golden"


def _rule(found: list[Finding], rule: str) -> list[Finding]:
    return [f for f in found if f.rule == rule]


def test_seed_pairs_from_the_full_ptp_table(real_kb: KnowledgeBase, make_ex: MakeEx) -> None:
    ex = make_ex("43214", "43197", "43198", "43200", "74360", "76000", dos=DOS)
    pairs = {tuple(f.codes): f for f in _rule(evaluate(ex, real_kb), "ncci_ptp")}
    indicators = {c2: pairs[("43214", c2)].data["modifier_indicator"]
                  for c2 in ("43197", "43198", "43200", "74360", "76000")}
    assert indicators == {"43197": "0", "43198": "0", "43200": "0", "74360": "0", "76000": "1"}
    cite = pairs[("43214", "43200")].source
    assert "v30.1" in cite and "2024-04-01" in cite


def test_modifier_on_76000_with_43214(real_kb: KnowledgeBase, make_ex: MakeEx) -> None:
    [f] = _rule(evaluate(make_ex("43214", "76000-XS", dos=DOS), real_kb), "ncci_ptp")
    assert f.severity == "warning" and f.data["modifiers"] == ["XS"]
    assert "XS on 76000 bypasses it only when the record shows a distinct service" in f.detail


def test_mue_from_the_2026q2_table(real_kb: KnowledgeBase, make_ex: MakeEx) -> None:
    [f] = _rule(evaluate(make_ex("43214 x2", dos=DOS), real_kb), "mue")
    assert f.severity == "error" and f.data["value"] == 1
    assert f.data["adjudication"].startswith("3")
    assert "2026Q2" in f.source
    [h] = _rule(evaluate(make_ex("43214 x2", dos=DOS, setting="hospital outpatient"), real_kb),
                "mue")
    assert h.data["setting"] == "hospital" and "outpatient hospital" in h.source


def test_addon_primaries_from_the_aoc_file(real_kb: KnowledgeBase, make_ex: MakeEx) -> None:
    [f] = _rule(evaluate(make_ex("64484", dos=DOS), real_kb), "addon")
    assert f.severity == "error" and "64483" in f.data["primaries"]
    [ok] = _rule(evaluate(make_ex("64483", "64484", dos=DOS), real_kb), "addon")
    assert ok.severity == "info"


def test_major_surgery_global_from_rvu(real_kb: KnowledgeBase, make_ex: MakeEx) -> None:
    [f] = _rule(evaluate(make_ex("99214-25", "27447", dos=DOS), real_kb), "global_period")
    assert f.data["global_days"] == "090" and f.data["modifier"] == "57"
    assert "wrong one" in f.detail and "RVU25D" in f.source


def test_hospital_setting_without_hospital_ptp(real_kb: KnowledgeBase, make_ex: MakeEx) -> None:
    ex = make_ex("43214", "43200", dos=DOS, setting="hospital outpatient")
    [f] = _rule(evaluate(ex, real_kb), "ncci_ptp")
    assert "only the practitioner table" in f.detail and f.confidence < 1


def test_unknown_cpt_on_the_real_kb_is_a_warning(real_kb: KnowledgeBase,
                                                 make_ex: MakeEx) -> None:
    [f] = _rule(evaluate(make_ex("99999", dos=DOS), real_kb), "unknown_code")
    assert f.severity == "warning"


def test_terminated_hcpcs_from_the_hcpcs_file(real_kb: KnowledgeBase, make_ex: MakeEx) -> None:
    [f] = _rule(evaluate(make_ex("J1030", dos=DOS), real_kb), "code_status")
    assert f.severity == "error" and f.data["replaced_by"] == ["J1010"]


EXPECTED: dict[str, dict] = json.loads((GOLDEN / "expected.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_golden_mail_on_real_kb(name: str, real_kb: KnowledgeBase) -> None:
    """The same expectations hold on the real-data KB (the starter is a subset of it)."""
    result = analyze((GOLDEN / name).read_bytes(), real_kb, case_id=1)
    got = [(f.rule, f.codes, f.severity) for f in result.findings]
    for want in EXPECTED[name].get("findings", []):
        assert (want["rule"], want["codes"], want["severity"]) in got, f"{name}: {want}, {got}"
