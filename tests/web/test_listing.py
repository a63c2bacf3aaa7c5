"""Item 8 of issue 14: a listing of cases is cut only with a notice that says so and where the
next page starts: `consult queue --limit/--offset` (stderr), GET /api/cases (Link header), and
the queue page (a note with a link)."""

from __future__ import annotations

import json
from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import insert
from sqlmodel import col, select

from consult.cli import cli
from consult.listing import fetch_size, page_of
from db.engine import session
from db.models import Case
from web.conftest import WebApp


def _cases(web: WebApp, count: int) -> list[int]:
    """``count`` cases awaiting review, one minute apart (rows only: listing is the point)."""
    start = web.clock() - timedelta(days=2)
    rows = [{"status": "awaiting_review", "subject": f"question {n}",
             "sender": f"c{n}@clinic.example", "sender_name": "", "codes": "43214",
             "created_at": start + timedelta(minutes=n), "updated_at": start,
             "reopen_count": 0, "row_version": 1, "needs_expert": False, "expert_reason": "",
             "sender_auth": ""} for n in range(count)]
    with session(web.engine) as s:
        s.execute(insert(Case), rows)
        s.commit()
        return list(s.exec(select(Case.id).order_by(col(Case.created_at))))  # type: ignore[arg-type]


def _env(web: WebApp) -> dict[str, str]:
    return {"CONSULT_DATABASE_URL": web.settings.database_url,
            "CONSULT_KB_PATH": str(web.settings.kb_path), "CONSULT_HOME": str(web.settings.home)}


def test_page_of_says_whether_more_follow() -> None:
    rows = list(range(11))  # fetched with fetch_size(10)
    assert fetch_size(10) == 11
    page = page_of(rows, limit=10, offset=20)
    assert page.items == list(range(10)) and page.more and page.next_offset == 30
    assert page.notice() == ("Showing cases 21-30; more follow: add --offset 30 for the next 10 "
                             "(or a larger --limit).")
    last = page_of(rows[:4], limit=10, offset=30)
    assert not last.more and last.next_offset is None and last.notice() == ""
    exact = page_of(rows[:10], limit=10, offset=0)  # exactly a page: nothing is cut
    assert not exact.more


def test_cli_queue_pages_and_says_when_cut(web: WebApp) -> None:
    ids = _cases(web, 12)
    runner = CliRunner()
    first = runner.invoke(cli, ["queue", "--json", "--limit", "5"], env=_env(web))
    assert first.exit_code == 0, first.output
    assert [r["id"] for r in json.loads(first.stdout)] == ids[:5]  # stdout stays a JSON list
    assert "more follow: add --offset 5" in first.stderr

    seen: list[int] = []
    offset = 0
    while True:  # follow the notices to the end: every case once, in order
        out = runner.invoke(cli, ["queue", "--json", "--limit", "5", "--offset", str(offset)],
                            env=_env(web))
        assert out.exit_code == 0, out.output
        seen += [r["id"] for r in json.loads(out.stdout)]
        if "more follow" not in out.stderr:
            break
        offset = int(out.stderr.split("--offset ")[1].split()[0])
    assert seen == ids

    whole = runner.invoke(cli, ["queue", "--limit", "12"], env=_env(web))
    assert whole.exit_code == 0 and whole.stderr == "" and whole.stdout.count("\n") == 12
    past = runner.invoke(cli, ["queue", "--offset", "50"], env=_env(web))
    assert past.exit_code == 0 and "No cases on this page." in past.stdout
    bad = runner.invoke(cli, ["queue", "--limit", "0"], env=_env(web))
    assert bad.exit_code == 2 and "--limit" in bad.output


def test_cli_queue_default_still_500_but_no_longer_silent(web: WebApp) -> None:
    ids = _cases(web, 501)
    out = CliRunner().invoke(cli, ["queue", "--json"], env=_env(web))
    assert out.exit_code == 0, out.output
    assert [r["id"] for r in json.loads(out.stdout)] == ids[:500]
    assert "Showing cases 1-500; more follow: add --offset 500" in out.stderr


def test_api_cases_link_header_walks_every_page(web: WebApp) -> None:
    ids = _cases(web, 7)
    client = web.client()
    web.login(client, "rita@consult.test")
    seen: list[int] = []
    url: str | None = "/api/cases?limit=3&q=43214"
    while url:
        resp = client.get(url)
        assert resp.status_code == 200
        seen += [c["id"] for c in resp.json()]
        nxt = resp.links.get("next")
        url = nxt["url"] if nxt else None
        if url:
            assert "q=43214" in url and "limit=3" in url  # the filters carry over
            assert resp.headers["x-next-offset"] == str(len(seen))
        else:
            assert "x-next-offset" not in resp.headers
    assert seen == ids
    assert client.get("/api/cases", params={"offset": -1}).status_code == 422


def test_queue_page_says_when_cut(web: WebApp) -> None:
    ids = _cases(web, 503)
    client = web.client()
    web.login(client, "rita@consult.test")
    first = client.get("/").text
    assert first.count('<tr class="row"') == 500
    assert "Cases 1&ndash;500; more follow" in first or "Cases 1–500; more follow" in first
    assert 'href="?status=open&amp;q=&amp;sort=received&amp;dir=asc&amp;offset=500"' in first
    second = client.get("/", params={"offset": 500}).text
    assert second.count('<tr class="row"') == 3
    assert f'data-id="{ids[500]}"' in second and "more follow" not in second
    small = client.get("/", params={"q": "c7@clinic.example"}).text
    assert 'id="listing-cut"' not in small
