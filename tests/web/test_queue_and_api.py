"""The queue (counts, due badges, search, sort, mine, quarantine view) and the JSON API."""

from __future__ import annotations

import re
from collections.abc import Callable

from support.mails import consultation

from web.conftest import WebApp


def _ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'<tr class="row" data-href="/cases/(\d+)"', html)]


def _three_cases(web: WebApp) -> tuple[int, int, int]:
    a = web.ingest(consultation(message_id="a@x", subject="EGD question",
                                sender="dana@clinic.example", name="Dana Whitfield"))
    web.clock.advance(hours=20)
    b = web.ingest(consultation(message_id="b@x", subject="Knee injection units",
                                body="Can we bill 20610 with J1030 x 2?\n\nLee",
                                sender="lee@ortho.example", name="Lee Park"))
    web.clock.advance(hours=3)
    c = web.ingest(consultation(message_id="c@x", subject="Colonoscopy",
                                body="45378 and 45380 same session? Modifier?\n\nSam",
                                sender="sam@gi.example", name="Sam Ortiz"))
    web.clock.advance(hours=2)  # a is 25h old (overdue at 24h), b 5h, c 2h
    return a, b, c


def test_queue_counts_due_search_sort_and_mine(web: WebApp) -> None:
    a, b, c = _three_cases(web)
    client = web.client()
    token = web.login(client, "rita@consult.test")
    page = client.get("/").text
    assert _ids(page) == [a, b, c]  # oldest first
    assert re.search(r'awaiting review <span class="count">3</span>', page)
    assert 'class="badge due-overdue"' in page and "overdue 1h" in page
    assert "due in 19h" in page and "SLA 24.0 h" in page
    assert "<kbd>j</kbd>" in page and "<kbd>a</kbd> approve" in page  # the shortcut hint

    assert _ids(client.get("/", params={"q": "20610"}).text) == [b]  # by code
    assert _ids(client.get("/", params={"q": "j1030"}).text) == [b]  # case-insensitive code
    assert _ids(client.get("/", params={"q": "2061"}).text) == []  # codes match whole
    assert _ids(client.get("/", params={"q": "gi.example"}).text) == [c]  # by sender
    assert _ids(client.get("/", params={"q": "colonosc"}).text) == [c]  # by subject
    assert _ids(client.get("/", params={"q": "100%_"}).text) == []  # LIKE wildcards are text
    assert _ids(client.get("/", params={"sort": "received", "dir": "desc"}).text) == [c, b, a]
    assert _ids(client.get("/", params={"sort": "sender"}).text) == [a, b, c]
    assert _ids(client.get("/", params={"sort": "subject"}).text) == [c, a, b]

    assert client.post(f"/cases/{b}/assign", data={"csrf_token": token, "assignee": "me"}
                       ).status_code == 303
    assert _ids(client.get("/", params={"mine": "true"}).text) == [b]
    # quarantine view: admins only
    assert client.get("/", params={"status": "quarantined"}).status_code == 403
    assert "Quarantine" not in client.get("/").text.split("<main>")[0]
    # the 'next case' key goes to the next case waiting for review
    assert client.get(f"/cases/{a}/next").headers["location"] == f"/cases/{b}"
    assert client.get(f"/cases/{c}/next").headers["location"] == f"/cases/{a}"


def test_api_covers_the_review_actions(make_web: Callable[..., WebApp], db_url: str) -> None:
    web = make_web(db_url)
    web.add_user("rita@consult.test")
    web.add_user("adam@consult.test", "admin")
    a, b, c = _three_cases(web)
    api = web.client()
    token = web.login(api, "rita@consult.test")
    h = {"X-CSRF-Token": token}

    listed = api.get("/api/cases").json()
    assert [x["id"] for x in listed] == [a, b, c]
    assert listed[0]["due"]["level"] == "overdue" and listed[1]["codes"] == ["20610", "J1030"]
    assert [x["id"] for x in api.get("/api/cases", params={"q": "45378"}).json()] == [c]
    assert api.get("/api/cases", params={"status": "bogus"}).status_code == 422
    assert api.get("/api/cases", params={"status": "quarantined"}).status_code == 403

    case = api.get(f"/api/cases/{a}").json()
    assert case["draft"]["version"] == 1 and case["thread"][0]["direction"] == "in"
    assert {k["code"] for k in case["codes"]} >= {"43214", "43200"}
    assert all(k["description"] for k in case["codes"] if k.get("known"))
    assert [e["action"] for e in case["audit"]] == ["received", "drafted"]
    assert api.get("/api/cases/9999").status_code == 404

    body = case["draft"]["body"] + "\nChecked by Rita.\n"
    ok = api.post(f"/api/cases/{a}/draft", json={"body": body, "expected_version": 1}, headers=h)
    assert ok.status_code == 200 and ok.json()["detail"] == "draft version 2"
    stale = api.post(f"/api/cases/{a}/draft", json={"body": "mine", "expected_version": 1},
                     headers=h)
    assert stale.status_code == 409 and stale.json()["current_version"] == 2
    sent = api.post(f"/api/cases/{a}/approve", json={"expected_version": 2}, headers=h)
    assert sent.status_code == 200 and sent.json()["status"] == "approved"
    again = api.post(f"/api/cases/{a}/approve", json={}, headers=h)
    assert again.status_code == 409

    asked = api.post(f"/api/cases/{b}/ask-info", json={"question": "Which payer?"}, headers=h)
    assert asked.status_code == 200 and asked.json()["status"] == "awaiting_info"
    assert api.post(f"/api/cases/{c}/assign", json={"assignee": "adam@consult.test"},
                    headers=h).json()["detail"] == "assigned to adam@consult.test"
    assert api.post(f"/api/cases/{c}/quarantine", json={"reason": "spam"},
                    headers=h).json()["status"] == "quarantined"
    assert api.post(f"/api/cases/{c}/release", json={}, headers=h).status_code == 403
    assert api.get(f"/api/cases/{c}").status_code == 403

    admin = web.client()
    admin_h = {"X-CSRF-Token": web.login(admin, "adam@consult.test")}
    quarantined = admin.get("/api/cases", params={"status": "quarantined"}).json()
    assert [(x["id"], x["quarantine_reason"]) for x in quarantined] == [(c, "spam")]
    assert admin.post(f"/api/cases/{c}/release", json={"reason": "ok"},
                      headers=admin_h).json()["status"] == "awaiting_review"
    assert admin.post(f"/api/cases/{c}/close", json={"reason": "answered by phone"},
                      headers=admin_h).json()["status"] == "closed"

    detail = api.get(f"/api/cases/{a}").json()
    assert detail["replies"][0]["purpose"] == "reply"
    assert "+Checked by Rita." in detail["replies"][0]["diff_against_first_draft"]
    assert [e["action"] for e in detail["audit"]][-2:] == ["draft_saved", "approve"]
