"""plan_new_case: the rows of a new case, decided before any write and reached through the
lifecycle; a draft that fails to render re-plans the case as quarantined, the same way in both
writers (one by one with the ORM, and the batch's Core inserts)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from support.mails import consultation
from support.paths import TESTS

from consult.intake import Arrival, ingest, ingest_batch, plan_new_case
from consult.kb.store import KnowledgeBase
from consult.mail.parse import parse_message
from consult.pipeline import analyze, analyze_raw
from db.engine import session

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
PAYER = consultation(body="Does Aetna require prior authorization for 43214 with 43200? Can we "
                          "bill both?\n\nDana")


def test_a_drafted_case_and_a_quarantined_one(starter_kb: KnowledgeBase) -> None:
    prepared = analyze_raw(PAYER, starter_kb, own_addresses=frozenset())
    assert prepared.mail is not None and prepared.digest is not None
    plan = plan_new_case(prepared.mail, prepared.digest, source="imap", now=NOW, claims=7,
                         auth="pass")
    assert plan.outcome == "case" and plan.case["status"] == "awaiting_review"
    assert plan.case["row_version"] == 2  # received -> awaiting_review: one move
    assert plan.case["needs_expert"] and "prior-authorization" in plan.case["expert_reason"]
    assert (plan.case["claims_case_id"], plan.case["sender_auth"]) == (7, "pass")
    assert [e["action"] for e in plan.event_rows(3, 11)] == [
        "received", "claims_followup", "drafted"]
    assert plan.event_rows(3, 11)[0]["reason"] == "mail #11 via imap"
    assert plan.draft_row(3) is None  # drafted once the case has its id
    drafted = plan.with_draft(3)
    assert "Case #3" in drafted.draft_row(3)["body_text"]  # type: ignore[index]

    auto = parse_message(consultation(extra_headers={"Auto-Submitted": "auto-replied"}))
    quarantined = plan_new_case(auto, None, source="smtp", now=NOW, claims=7, auth="pass")
    assert quarantined.outcome == "quarantined" and quarantined.reason.startswith("auto reply")
    assert quarantined.case["claims_case_id"] is None  # only an analysed mail claims a case
    assert [(e["from_status"], e["to_status"]) for e in quarantined.event_rows(1, 1)] == [
        ("received", "received"), ("received", "quarantined")]
    assert quarantined.message["error"] == quarantined.reason


def test_the_digest_a_worker_sends_gives_the_rows_of_the_whole_analysis(
        starter_kb: KnowledgeBase) -> None:
    """The intake writes a worker's digest, never the analysis itself: filled with the case
    number, it must give the draft, codes, expert flag and review JSON the whole analysis
    rendered for that case gives (coders' mails of the answer sets, a forwarded one and a
    multi-part one among them)."""
    import json

    folder = TESTS / "data" / "answers" / "dev"
    raws = [PAYER, *(p.read_bytes() for p in sorted(folder.glob("*.eml"))[:25])]
    compared = 0
    for raw in raws:
        prepared = analyze_raw(raw, starter_kb, own_addresses=frozenset())
        if prepared.digest is None:
            continue
        whole = analyze(raw, starter_kb, case_id=4321)
        digest = prepared.digest
        draft = digest.for_case(4321)
        assert draft is not None and draft == whole.draft
        assert digest.analysis_json(draft) == json.dumps(whole.to_json(), default=str)
        assert digest.codes == " ".join(dict.fromkeys(c.code for c in whole.extraction.codes))
        assert (digest.needs_expert, digest.expert_reason) == (whole.needs_expert,
                                                                whole.expert_reason)
        compared += 1
    assert compared >= 20


def _tables(engine: Any) -> list[list[tuple[Any, ...]]]:
    with engine.connect() as c:
        return [[tuple(r) for r in c.execute(text(f"select * from {t} order by id"))]
                for t in ("cases", "messages", "drafts", "audit_events")]


def test_a_draft_that_fails_to_render_is_the_same_quarantine_in_both_writers(
        make_settings: Callable[..., Any], engine_for: Callable[[str], Any],
        starter_kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("template exploded")

    # the draft is made with the analysis (``Analysis.digest``), where its failure is kept
    monkeypatch.setattr("consult.pipeline.render_draft", broken)
    dumps = []
    for path in ("one", "batch"):
        url = f"sqlite:///{tmp_path / path}.db"
        settings, engine = make_settings(database_url=url), engine_for(url)
        with session(engine) as s:
            if path == "one":
                result = ingest(s, PAYER, starter_kb, settings, source="imap", now=NOW, uid=1)
            else:
                [result] = ingest_batch(s, [Arrival(PAYER, 1)], starter_kb, settings,
                                        source="imap", now=NOW)
            s.commit()
        assert result.outcome == "quarantined"
        assert result.reason == "analysis failed: RuntimeError('template exploded')"
        dumps.append(_tables(engine))
    assert dumps[0] == dumps[1]
    [case] = dumps[0][0]
    assert "quarantined" in case and "template exploded" in str(case)
    assert dumps[0][2] == []  # no draft, and no expert flag from the analysis before it
    with engine_for(f"sqlite:///{tmp_path / 'batch.db'}").connect() as c:
        assert c.execute(text("select needs_expert, codes, row_version from cases")).one() == (
            0, "", 2)
