"""The case page and its actions through the HTML forms: draft conflicts, approve with the diff
against the first draft, ask for info, assign, close, quarantine/release, related cases, PHI."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from sqlmodel import col, select
from support.mails import consultation
from support.servers import SmtpSink

from consult.clock import utcnow
from db.engine import session
from db.models import Case, Draft, Outbox
from web.conftest import WebApp, csrf_of
from workers.sender import Sender


def _version(html: str) -> int:
    match = re.search(r'name="version" value="(\d+)"', html)
    assert match
    return int(match.group(1))


def _draft_text(html: str) -> str:
    match = re.search(r'<textarea name="body" id="draft-body"[^>]*>\n(.*?)</textarea>', html, re.S)
    assert match
    import html as html_mod

    return html_mod.unescape(match.group(1))


def test_two_reviewers_conflict_then_approve_sends_reply_with_diff(
        make_web: Callable[..., WebApp], db_url: str, smtp_sink: SmtpSink) -> None:
    web = make_web(db_url, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                   smtp_starttls=False)
    web.add_user("rita@consult.test")
    web.add_user("adam@consult.test", "admin")
    case_id = web.ingest(consultation())
    rita, adam = web.client(), web.client()
    web.login(rita, "rita@consult.test")
    web.login(adam, "adam@consult.test")
    page_r = rita.get(f"/cases/{case_id}").text
    page_a = adam.get(f"/cases/{case_id}").text
    assert _version(page_r) == _version(page_a) == 1
    first = _draft_text(page_r)
    assert "43214" in first

    rita_text = first + "\nRita: documented separately, 59 is supported.\n"
    resp = rita.post(f"/cases/{case_id}/draft",
                     data={"csrf_token": csrf_of(page_r), "version": "1", "body": rita_text})
    assert resp.status_code == 303 and resp.headers["location"] == f"/cases/{case_id}?done=saved"
    assert "Draft saved." in rita.get(resp.headers["location"]).text

    adam_text = first + "\nAdam: do not use 59 here.\n"
    resp = adam.post(f"/cases/{case_id}/draft",
                     data={"csrf_token": csrf_of(page_a), "version": "1", "body": adam_text})
    assert resp.status_code == 409
    assert "draft version 2 was saved by rita@consult.test" in resp.text
    assert "Adam: do not use 59 here." in resp.text  # his text is kept on the page to re-apply
    assert _version(resp.text) == 2 and "Rita: documented" in _draft_text(resp.text)
    # approving the version he never saw is refused too: nothing goes to the outbox
    resp = adam.post(f"/cases/{case_id}/approve",
                     data={"csrf_token": csrf_of(page_a), "version": "1", "body": adam_text})
    assert resp.status_code == 409
    with session(web.engine) as s:
        assert s.exec(select(Outbox)).all() == []
        versions = [(d.version, d.author) for d in s.exec(select(Draft).order_by(
            col(Draft.version)))]
        assert versions == [(1, "system"), (2, "rita@consult.test")]

    page_a = adam.get(f"/cases/{case_id}").text
    final = _draft_text(page_a).replace("Rita: documented separately, 59 is supported.",
                                        "Adam and Rita: 59 is supported when documented.")
    resp = adam.post(f"/cases/{case_id}/approve",
                     data={"csrf_token": csrf_of(page_a), "version": "2",
                           "body": final.replace("\n", "\r\n")})
    assert resp.status_code == 303
    with session(web.engine) as s:
        row = s.exec(select(Outbox)).one()
        assert row.purpose == "reply" and row.to_addr == "dana@clinic.example"
        assert "+Adam and Rita: 59 is supported when documented." in (row.diff_text or "")
        assert "--- draft v1 (system)" in (row.diff_text or "")
        assert s.get(Case, case_id).status == "approved"  # type: ignore[union-attr]

    report = Sender(web.settings, web.engine, clock=utcnow).run_once()
    assert report.sent == 1
    [mail] = smtp_sink.wait(1)
    assert mail["To"].addresses[0].addr_spec == "dana@clinic.example"
    assert f"[Case #{case_id}]" in mail["Subject"]
    assert "Adam and Rita: 59 is supported when documented." in mail.get_body(
        ("plain",)).get_content()

    page = adam.get(f"/cases/{case_id}").text
    assert "What the reviewers changed against the first draft" in page
    assert '<span class="diff-add">+Adam and Rita: 59 is supported when documented.</span>' in page
    assert "sent" in page and "approve" in page  # status and the audit trail
    assert "&rarr; out" in page  # the reply is in the thread


def test_ask_info_assign_close_quarantine_release_are_audited(
        web: WebApp, smtp_sink: SmtpSink) -> None:
    case_id = web.ingest(consultation())
    rita, adam = web.client(), web.client()
    token = web.login(rita, "rita@consult.test")
    admin_token = web.login(adam, "adam@consult.test")

    resp = rita.post(f"/cases/{case_id}/assign", data={"csrf_token": token, "assignee": "me"})
    assert resp.status_code == 303
    resp = rita.post(f"/cases/{case_id}/assign",
                     data={"csrf_token": token, "assignee": "ghost@consult.test"})
    assert resp.status_code == 400 and "No active account" in resp.text

    resp = rita.post(f"/cases/{case_id}/ask-info",
                     data={"csrf_token": token, "question": "Which payer, and what was the "
                                                            "date of service?"})
    assert resp.status_code == 303
    with session(web.engine) as s:
        case = s.get(Case, case_id)
        assert case is not None and case.status == "awaiting_info"
        assert case.assignee == "rita@consult.test"
        row = s.exec(select(Outbox)).one()
        assert row.purpose == "ask_info"
    settings = web.settings.model_copy(update={"smtp_host": smtp_sink.host,
                                               "smtp_port": smtp_sink.port,
                                               "smtp_starttls": False})
    assert Sender(settings, web.engine, clock=utcnow).run_once().sent == 1
    [question] = smtp_sink.wait(1)
    assert "Which payer" in question.get_body(("plain",)).get_content()
    assert question["In-Reply-To"] == "<q1@clinic.example>"
    with session(web.engine) as s:
        assert s.get(Case, case_id).status == "awaiting_info"  # type: ignore[union-attr]

    # approving while we wait for the sender is refused with a message, not a crash
    resp = rita.post(f"/cases/{case_id}/approve", data={"csrf_token": token})
    assert resp.status_code == 409 and "only a case awaiting review" in resp.text

    resp = rita.post(f"/cases/{case_id}/quarantine",
                     data={"csrf_token": token, "reason": "looks like a phishing attempt"})
    assert resp.status_code == 303
    assert rita.get(f"/cases/{case_id}").status_code == 403  # quarantine is for admins
    assert rita.post(f"/cases/{case_id}/release",
                     data={"csrf_token": token}).status_code == 403
    quarantine = adam.get("/?status=quarantined").text
    assert "looks like a phishing attempt" in quarantine
    resp = adam.post(f"/cases/{case_id}/release",
                     data={"csrf_token": admin_token, "reason": "real coder"})
    assert resp.status_code == 303
    resp = rita.post(f"/cases/{case_id}/close", data={"csrf_token": token, "reason": "dup"})
    assert resp.status_code == 303

    page = rita.get(f"/cases/{case_id}?done=closed").text
    assert "Case closed." in page
    audit = page.split('<ol class="audit">')[1].split("</ol>")[0]
    for action in ("assign", "ask info", "quarantine", "release", "close"):
        assert f"</strong> {action}" in audit, action
    assert "looks like a phishing attempt" in audit and "real coder" in audit
    assert "Which payer" in page  # the question is on the page


def test_related_cases_show_earlier_approved_answers(web: WebApp) -> None:
    first = web.ingest(consultation(message_id="a1@clinic.example"))
    client = web.client()
    token = web.login(client, "rita@consult.test")
    page = client.get(f"/cases/{first}").text
    assert "No earlier answered case shares a code." in page
    body = _draft_text(page) + "\nOur standing answer: NCCI bundles these.\n"
    assert client.post(f"/cases/{first}/approve", data={
        "csrf_token": token, "version": "1", "body": body}).status_code == 303

    web.clock.advance(hours=2)
    second = web.ingest(consultation(
        message_id="b2@clinic.example", sender="lee@other.example", name="Lee Park",
        subject="43214 again", body="Is 43214 with 43200 billable for Aetna?\n\nLee"),
        at=web.clock())
    unrelated = web.ingest(consultation(
        message_id="c3@clinic.example", subject="knee injection",
        body="Can we bill 20610 twice? Thanks"), at=web.clock())
    page = client.get(f"/cases/{second}").text
    related = page.split('<section class="related">')[1].split("</section>")[0]
    assert f'href="/cases/{first}"' in related
    assert "Our standing answer: NCCI bundles these." in related
    other = client.get(f"/cases/{unrelated}").text
    assert f'href="/cases/{first}"' not in other.split('<section class="related">')[1]


def test_phi_spans_are_highlighted_in_the_consultation(web: WebApp) -> None:
    case_id = web.ingest(consultation(
        body="Patient Jane Roe, DOB 03/04/1950, MRN 998877. Can we bill 43214 with 43200?\n"
             "\nThanks,\nDana"))
    with session(web.engine) as s:
        draft = s.exec(select(Draft).where(Draft.case_id == case_id)).one()
        analysis = json.loads(draft.analysis_json)
        from consult.mail.parse import parse_message
        from db.models import Message

        text = parse_message(s.exec(select(Message)).one().raw).text
        start = text.index("Jane Roe")
        dob = text.index("03/04/1950")
        analysis["phi"] = [{"kind": "name", "where": "body", "start": start, "end": start + 8},
                           {"kind": "dob", "where": "body", "start": dob, "end": dob + 10},
                           {"kind": "name", "where": "body", "start": start + 2, "end": 10**6}]
        draft.analysis_json = json.dumps(analysis)
        s.add(draft)
        s.commit()
    client = web.client()
    web.login(client, "rita@consult.test")
    page = client.get(f"/cases/{case_id}").text
    assert '<mark class="phi phi-name" title="PHI: name">Jane Roe</mark>' in page
    assert '<mark class="phi phi-dob" title="PHI: dob">03/04/1950</mark>' in page
    assert page.count('<mark class="phi phi-') == 2  # the overlapping, out-of-range span is ignored
    # the codes come with their KB descriptions, the findings with citations and severity
    codes = page.split('<section class="codes">')[1].split("</section>")[0]
    assert "<code>43214</code>" in codes and "<code>43200</code>" in codes
    findings = page.split('<section class="findings">')[1].split("</section>")[0]
    assert "<cite>" in findings and 'class="badge sev-' in findings
