"""How long the admin dashboard and a /metrics scrape take on a large desk; prints figures,
asserts nothing.

    .venv/bin/python bench/dashboard.py [--cases 30000] [--days 120] [--pg URL|--no-pg]

A desk of N cases over D days is written straight into a fresh database (Core inserts, the
rows the intake, review and sender write: a first draft with its analysis, a reply with its
raw MIME and diff for the answered ones, the audit trail), on SQLite and on PostgreSQL. Then:

- the dashboard's figures (``load_desk`` + ``summarize``) for 30 and 90 days, and the whole
  page (``GET /dashboard?days=90`` through the app, charts and template included);
- a /metrics scrape (the database series, uncached) and a /readyz.

Each figure is the median of five runs after one warm-up.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fastapi.testclient import TestClient  # noqa: E402
from prometheus_client import generate_latest  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from consult.config import Settings  # noqa: E402
from consult.desk_stats import load_desk, summarize  # noqa: E402
from consult.kb.build import build_kb  # noqa: E402
from consult.kb.store import KnowledgeBase  # noqa: E402
from consult.metrics import build_registry  # noqa: E402
from consult.web import accounts  # noqa: E402
from consult.web.app import create_app  # noqa: E402
from db.engine import make_engine, session, upgrade  # noqa: E402
from db.models import AuditEvent, Case, Draft, Outbox  # noqa: E402

NOW = datetime(2026, 11, 16, 15, 0, tzinfo=UTC)
CODES = ["43214", "43200", "45378", "45380", "45385", "20610", "J1030", "96372", "99213", "64483",
         "76000", "J1100", "K63.5", "Z12.11", "M17.11"]
TYPES = ["bill_together", "which_modifier", "units", "which_code", "payment", "coverage",
         "payer_policy", "documentation"]
REVIEWERS = [f"reviewer{n}@desk.example" for n in range(8)]
PASSWORD = "bench-password-0123"


def _analysis(rng: random.Random) -> str:
    """A first draft's analysis of realistic size: questions, findings, codes."""
    questions = [{"text": "Can we bill these together, and with which modifier?" * 2,
                  "type": t, "answer": "Yes, with modifier 59 when the sites differ. " * 4,
                  "answerable": t not in ("payer_policy", "documentation"), "reason": "",
                  "finding_ids": [1, 2]} for t in rng.sample(TYPES, rng.randint(1, 3))]
    findings = [{"id": k, "rule": "ncci_ptp", "codes": rng.sample(CODES, 2), "severity": "warn",
                 "confidence": 0.9, "detail": "Column 2 code bundled into column 1. " * 6,
                 "source": "NCCI PTP practitioner 2026Q4"} for k in range(rng.randint(2, 8))]
    return json.dumps({"questions": questions, "findings": findings, "codes": CODES[:4]})


def seed(engine: Engine, cases: int, days: int) -> None:
    rng = random.Random(14)
    start = NOW - timedelta(days=days)
    raw = (b"From: consult@desk.example\r\nTo: dana@clinic.example\r\nSubject: Re: [Case #1]\r\n"
           b"\r\n" + b"An answer of realistic length with citations. " * 140)
    diff = "--- draft v1\n+++ sent v2\n@@ -3,4 +3,5 @@\n ctx\n-old line\n+new line\n+added\n ctx\n"
    batch = 2000
    with session(engine) as s:
        for first in range(0, cases, batch):
            rows, drafts, replies, events = [], [], [], []
            ids = range(first + 1, min(cases, first + batch) + 1)
            for case_id in ids:
                arrived = start + timedelta(seconds=rng.uniform(0, days * 86400))
                answered = arrived + timedelta(hours=rng.lognormvariate(1.5, 1.0))
                status = ("sent" if answered < NOW and rng.random() < 0.85 else
                          rng.choice(["awaiting_review", "awaiting_info", "closed",
                                      "quarantined"]))
                rows.append({"id": case_id, "status": status, "subject": f"question {case_id}",
                             "sender": f"c{case_id % 500}@clinic.example", "sender_name": "",
                             "created_at": arrived, "updated_at": arrived, "reopen_count": 0,
                             "codes": " ".join(rng.sample(CODES, 3)), "row_version": 1,
                             "needs_expert": rng.random() < 0.2, "expert_reason": "",
                             "sender_auth": "",
                             "quarantine_reason": "auto reply: out of office"
                             if status == "quarantined" else None})
                drafts.append({"id": case_id, "case_id": case_id, "version": 1,
                               "author": "system", "body_text": "Draft " * 200,
                               "body_html": "", "kb_version": "bench",
                               "analysis_json": _analysis(rng), "created_at": arrived})
                events.append({"case_id": case_id, "at": arrived, "actor": "system",
                               "action": "received", "from_status": "received",
                               "to_status": "received", "reason": ""})
                events.append({"case_id": case_id, "at": arrived, "actor": "system",
                               "action": "drafted", "from_status": "received",
                               "to_status": "awaiting_review", "reason": ""})
                if status == "sent":
                    who = rng.choice(REVIEWERS)
                    edited = rng.random() < 0.4
                    replies.append({"case_id": case_id, "draft_id": case_id,
                                    "message_id": f"<{uuid.uuid4().hex}@desk.example>",
                                    "to_addr": "dana@clinic.example", "status": "sent",
                                    "attempts": 1, "created_at": answered,
                                    "next_attempt_at": answered, "deadline": answered,
                                    "sent_at": answered, "raw": raw, "purpose": "reply",
                                    "diff_text": diff if edited else ""})
                    events.append({"case_id": case_id, "at": answered, "actor": who,
                                   "action": "approve", "from_status": "awaiting_review",
                                   "to_status": "approved", "reason": ""})
                    events.append({"case_id": case_id, "at": answered, "actor": "sender",
                                   "action": "sent", "from_status": "approved",
                                   "to_status": "sent", "reason": ""})
            s.execute(insert(Case), rows)
            s.execute(insert(Draft), drafts)
            if replies:
                s.execute(insert(Outbox), replies)
            s.execute(insert(AuditEvent), events)
            s.commit()
        if engine.dialect.name == "postgresql":
            for table in ("cases", "drafts", "outbox", "audit_events"):
                s.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                               f"(SELECT max(id) FROM {table}))"))
            s.commit()


def timed(fn: Callable[[], object], runs: int = 5) -> float:
    fn()
    spent = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        spent.append(time.perf_counter() - started)
    return statistics.median(spent) * 1000


def run(label: str, url: str, kb: KnowledgeBase, home: Path, cases: int, days: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    started = time.perf_counter()
    seed(engine, cases, days)
    print(f"[{label}] seeded {cases:,} cases over {days} days in "
          f"{time.perf_counter() - started:.1f} s")
    settings = Settings(home=home, database_url=url, kb_path=kb.path,
                        secret_key="bench-secret-key-0123456789")

    def stats(window: int) -> object:
        with session(engine) as s:
            data = load_desk(s, now=NOW, days=window, sla_hours=24)
        return summarize(data, now=NOW, days=window, sla_hours=24)

    for window in (30, 90):
        spent = timed(lambda w=window: stats(w))  # type: ignore[misc]
        print(f"[{label}] dashboard figures, {window} days: {spent:.0f} ms")
    with session(engine) as s:
        accounts.add_user(s, "lead@desk.example", PASSWORD, role="admin", now=NOW)
        s.commit()
    app = create_app(settings, engine, kb=kb, clock=lambda: NOW)
    with TestClient(app) as client:
        form = client.get("/login").text
        nonce = form.split('name="login_csrf" value="')[1].split('"')[0]
        client.post("/login", data={"email": "lead@desk.example", "password": PASSWORD,
                                    "login_csrf": nonce, "next": "/"})

        def page() -> object:
            resp = client.get("/dashboard", params={"days": 90})
            assert resp.status_code == 200
            return resp

        print(f"[{label}] GET /dashboard?days=90 (whole page): {timed(page):.0f} ms, "
              f"{len(page().content) // 1024} KiB")
        print(f"[{label}] GET /readyz: {timed(lambda: client.get('/readyz')):.1f} ms")

    def scrape() -> object:
        return generate_latest(build_registry(engine, clock=lambda: NOW))  # uncached

    print(f"[{label}] /metrics scrape (database series, uncached): {timed(scrape):.1f} ms")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=30000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-pg", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        kb_path = folder / "kb.sqlite"
        build_kb(kb_path)
        kb = KnowledgeBase(kb_path)
        run("sqlite", f"sqlite:///{folder / 'desk.db'}", kb, folder / "home", args.cases,
            args.days)
        if not args.no_pg:
            from sqlalchemy import create_engine

            name = f"consult_bench_{uuid.uuid4().hex[:10]}"
            admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                run("postgres", args.pg.rsplit("/", 1)[0] + f"/{name}", kb, folder / "home2",
                    args.cases, args.days)
            finally:
                with admin.connect() as c:
                    c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()


if __name__ == "__main__":
    main()
