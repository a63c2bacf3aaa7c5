"""`consult ingest` -> case with a draft -> `consult approve` -> `consult send` -> local Maildir.

Runs the real CLI in a subprocess, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import mailbox
import os
import subprocess
import sys
from email import message_from_bytes, policy
from pathlib import Path

from support.mails import consultation


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "consult", *args], env=env, text=True,
                          capture_output=True, timeout=120, check=False)


def test_ingest_approve_send_through_the_cli(tmp_path: Path, db_url: str,
                                             starter_kb_path: Path) -> None:
    env = {**os.environ, "CONSULT_HOME": str(tmp_path / "home"), "CONSULT_DATABASE_URL": db_url,
           "CONSULT_KB_PATH": str(starter_kb_path), "CONSULT_FROM_ADDRESS": "consult@consult.test"}
    eml = tmp_path / "q.eml"
    eml.write_bytes(consultation())

    first = run_cli(env, "ingest", str(eml))
    assert first.returncode == 0, first.stderr
    case_id = int(first.stdout.strip())

    again = run_cli(env, "ingest", str(eml))
    assert again.returncode == 0, again.stderr
    assert f"case {case_id} (duplicate)" in again.stdout

    queue = run_cli(env, "queue", "--json")
    rows = json.loads(queue.stdout)
    assert [r["id"] for r in rows] == [case_id]
    row = rows[0]
    assert row["status"] == "awaiting_review"
    assert row["sender"] == "dana@clinic.example"
    assert row["subject"] == "43214 with 43200 same day - modifier 59?"
    assert row["received_at"]
    assert {"43214", "43200"} <= set(row["codes"])

    shown = run_cli(env, "show", str(case_id))
    assert shown.returncode == 0, shown.stderr
    assert "43214" in shown.stdout and "43200" in shown.stdout
    assert "ncci" in shown.stdout.lower()

    approved = run_cli(env, "approve", str(case_id))
    assert approved.returncode == 0, approved.stderr
    sent = run_cli(env, "send", "--once")
    assert "1 sent" in sent.stdout, sent.stdout + sent.stderr

    box = mailbox.Maildir(tmp_path / "home" / "outbox-maildir", create=False)
    replies = [message_from_bytes(m.as_bytes(), policy=policy.default) for m in box]
    assert len(replies) == 1
    reply = replies[0]
    assert reply["In-Reply-To"] == "<q1@clinic.example>"
    assert "<q1@clinic.example>" in reply["References"]
    assert reply["Subject"] == f"Re: 43214 with 43200 same day - modifier 59? [Case #{case_id}]"
    assert reply["Message-ID"].endswith("@consult.test>")
    assert reply["To"].addresses[0].addr_spec == "dana@clinic.example"
    text = reply.get_body(("plain",)).get_content()
    assert "43214" in text and "43200" in text
    assert reply.get_body(("html",)) is not None

    outbox = json.loads(run_cli(env, "outbox", "--json").stdout)
    assert [(o["case_id"], o["status"]) for o in outbox] == [(case_id, "sent")]
    status = json.loads(run_cli(env, "queue", "--json", "--all").stdout)
    assert status[0]["status"] == "sent"


def test_ingest_unknown_file_is_a_clear_error(tmp_path: Path, starter_kb_path: Path) -> None:
    env = {**os.environ, "CONSULT_HOME": str(tmp_path), "CONSULT_KB_PATH": str(starter_kb_path)}
    result = run_cli(env, "ingest", str(tmp_path / "missing.eml"))
    assert result.returncode != 0
    assert "missing.eml" in result.stderr
    assert "Traceback" not in result.stderr
