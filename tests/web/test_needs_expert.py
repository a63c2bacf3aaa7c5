"""A question no source covers marks the case needs_expert: a badge and a filter in the queue,
a field in the JSON API and in `consult queue --json`, a notice on the case page."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner
from support.mails import consultation

from consult.cli import cli
from web.conftest import WebApp


def _ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'<tr class="row" data-href="/cases/(\d+)"', html)]


def test_unanswerable_part_marks_the_case_and_the_queue_filters_it(web: WebApp) -> None:
    plain = web.ingest(consultation(message_id="p@x", subject="EGD question",
                                    body="Can I bill 43214 with 43200 on the same day?\n\nDana"))
    expert = web.ingest(consultation(
        message_id="e@x", subject="Aetna prior auth",
        body="Does Aetna require a prior authorization for 64483? Thanks\n\nLee"))
    client = web.client()
    web.login(client, "rita@consult.test")
    page = client.get("/").text
    assert _ids(page) == [plain, expert]
    assert page.count('class="badge needs-expert"') == 1
    assert _ids(client.get("/", params={"expert": "true"}).text) == [expert]

    listed = {c["id"]: c for c in client.get("/api/cases").json()}
    assert listed[expert]["needs_expert"] is True and "prior-authorization" in listed[
        expert]["expert_reason"]
    assert listed[plain]["needs_expert"] is False
    only = client.get("/api/cases", params={"needs_expert": "true"}).json()
    assert [c["id"] for c in only] == [expert]

    one = client.get(f"/api/cases/{expert}").json()
    assert one["needs_expert"] is True
    [part] = one["questions"]
    assert part["type"] == "payer_policy" and part["answerable"] is False
    assert "Our sources do not cover this" in one["draft"]["body"]
    assert "needs expert" in client.get(f"/cases/{expert}").text


def test_cli_queue_json_carries_needs_expert(web: WebApp) -> None:
    case = web.ingest(consultation(
        message_id="d@x", subject="signature",
        body="What documentation and signature does the op note need for 27447?\n\nKim"))
    env = {"CONSULT_DATABASE_URL": web.settings.database_url,
           "CONSULT_KB_PATH": str(web.settings.kb_path),
           "CONSULT_HOME": str(web.settings.home)}
    out = CliRunner().invoke(cli, ["queue", "--json"], env=env)
    assert out.exit_code == 0, out.output
    [row] = [r for r in json.loads(out.output) if r["id"] == case]
    assert row["needs_expert"] is True
