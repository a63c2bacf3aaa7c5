"""Golden mails: realistic .eml files -> the findings a senior coder expects, on the starter KB.

Each expectation names findings that must be present (rule, codes, severity); the starter KB
grows, so extra findings are allowed. ``reply_contains`` / ``reply_excludes`` check the draft.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from consult.kb.store import KnowledgeBase
from consult.pipeline import Analysis, analyze

GOLDEN = Path(__file__).resolve().parent.parent / "data" / "golden"
EXPECTED: dict[str, dict] = json.loads((GOLDEN / "expected.json").read_text(encoding="utf-8"))


def test_there_are_at_least_30_golden_mails() -> None:
    mails = sorted(p.name for p in GOLDEN.glob("*.eml"))
    assert len(mails) >= 30
    assert mails == sorted(EXPECTED)


@pytest.fixture(scope="session")
def analyses(kb: KnowledgeBase) -> dict[str, Analysis]:
    return {name: analyze((GOLDEN / name).read_bytes(), kb, case_id=1) for name in EXPECTED}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_golden_mail(name: str, analyses: dict[str, Analysis]) -> None:
    result = analyses[name]
    expect = EXPECTED[name]
    got = [(f.rule, f.codes, f.severity) for f in result.findings]
    for want in expect.get("findings", []):
        assert (want["rule"], want["codes"], want["severity"]) in got, (
            f"{name}: missing {want}; got {got}; codes {[c.code for c in result.extraction.codes]}"
        )
    rules = {f.rule for f in result.findings}
    for rule in expect.get("rules", []):
        assert rule in rules, f"{name}: no {rule} finding in {sorted(rules)}"
    assert result.draft is not None
    # the text part is wrapped at 76 columns: compare with whitespace collapsed
    text, html = " ".join(result.draft.text.split()), " ".join(result.draft.html.split())
    for needle in expect.get("reply_contains", []):
        assert needle in text and needle in html, f"{name}: reply lacks {needle!r}"
    for needle in expect.get("reply_excludes", []):
        assert needle not in text and needle not in html, f"{name}: reply quotes {needle!r}"


def test_golden_drafts_are_deterministic(kb: KnowledgeBase) -> None:
    raw = (GOLDEN / "05-seed-all.eml").read_bytes()
    first, second = analyze(raw, kb, case_id=3), analyze(raw, kb, case_id=3)
    assert first.to_json() == second.to_json()
    assert first.draft == second.draft
