"""End-to-end IMAP ingest figures; prints them, asserts nothing.

    .venv/bin/python bench/ingest.py [--mails 1000] [--latency-mails 100] [--pg URL|--no-pg]

- Throughput: N realistic mails appended to a private Dovecot, then taken in by
  ``ImapPoller.run_once`` (fetch, parse, extract, findings, draft, commit, move), on SQLite and
  on PostgreSQL (a fresh database on ``--pg``, default the test server on 127.0.0.1:5432).
- Arrival-to-draft latency with IDLE: one mail at a time appended while an ``IdleWatcher``
  waits in IDLE; latency = the draft's ``created_at`` minus the moment the APPEND started.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from parse import consultation_mail  # noqa: E402
from sqlmodel import func, select  # noqa: E402

from consult.clock import utcnow  # noqa: E402
from consult.config import Settings  # noqa: E402
from consult.kb.build import build_kb  # noqa: E402
from consult.kb.store import KnowledgeBase  # noqa: E402
from db.engine import make_engine, session, upgrade  # noqa: E402
from db.models import Draft, Message  # noqa: E402
from workers.imap_idle import IdleWatcher  # noqa: E402
from workers.imap_poller import ImapPoller  # noqa: E402

QUESTIONS = [
    ("43214 with 43200 same day?", "Can we bill 43214 with 43200 on the same day for Medicare, "
     "office setting? Should 43200 get modifier 59 or XS?"),
    ("Fluoro with dilation", "Can 76000 be billed with 43214? Hospital outpatient, Medicare, "
     "DOS 11/02/2026."),
    ("Injection units", "Patient got 96372 x3 and J1100 12 units today, commercial payer. Is the "
     "MUE a problem for J1100?"),
    ("Colonoscopy biopsy and polypectomy", "45380 and 45385 same session, different polyps. "
     "Modifier 59 on 45380? Dx K63.5 and Z12.11."),
    ("E/M with procedure", "99213-25 with 20610 same day, knee injection, established patient. "
     "ICD-10 M17.11. Is the 25 modifier supported?"),
]


def question_mail(i: int) -> bytes:
    """A new consultation: text + HTML alternative, signature, a few hundred words of context."""
    subject, body = QUESTIONS[i % len(QUESTIONS)]
    context = " ".join(f"Context line {k} about the encounter and the payer policy."
                       for k in range(12))
    text = f"Hi team,\n\n{body}\n\n{context}\n\nThanks,\nCoder {i}\nBilling office\n"
    msg = EmailMessage(policy=SMTP)
    msg["From"] = f"Coder {i} <coder{i % 97}@clinic{i % 7}.example>"
    msg["To"] = "Coding Desk <consult@consult.test>"
    msg["Subject"] = f"{subject} (ref {i})"
    msg["Date"] = format_datetime(datetime(2026, 11, 16, tzinfo=UTC) + timedelta(minutes=i))
    msg["Message-ID"] = f"<bench{i}.{uuid.uuid4().hex[:8]}@clinic.example>"
    msg["Received"] = "from mx.clinic.example by mx.consult.test; Mon, 16 Nov 2026 10:00 +0000"
    msg.set_content(text)
    msg.add_alternative("<html><body><p>" + text.replace("\n", "<br>") + "</p></body></html>",
                        subtype="html")
    return msg.as_bytes()


def corpus(n: int) -> list[bytes]:
    """70% new questions, 30% ~10 KB Outlook-style replies with quoted history."""
    return [consultation_mail(i).replace(b"<msg", f"<{uuid.uuid4().hex[:6]}.msg".encode(), 1)
            if i % 10 >= 7 else question_mail(i) for i in range(n)]


def settings_for(dv, url: str, kb: Path, home: Path) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(home=home, kb_path=kb, database_url=url, from_address="consult@consult.test",
                    imap_host="127.0.0.1", imap_port=dv.port, imap_user=dv.user,
                    imap_password=dv.password, imap_ssl="none",
                    imap_processed_folder="Processed", imap_poll_seconds=3600)


def throughput(label: str, url: str, kb_path: Path, kb: KnowledgeBase, mails: list[bytes],
               home: Path) -> None:
    from support.servers import start_dovecot

    dv = start_dovecot()
    try:
        dv.append(*mails)
        engine = make_engine(url)
        upgrade(engine)
        poller = ImapPoller(settings_for(dv, url, kb_path, home), engine, kb, clock=utcnow)
        start = time.perf_counter()
        report = poller.run_once()
        elapsed = time.perf_counter() - start
        with session(engine) as s:
            stored = s.exec(select(func.count()).select_from(Message)).one()
        engine.dispose()
        print(f"throughput {label:<10} {len(mails)} mails in {elapsed:6.2f} s = "
              f"{len(mails) / elapsed:7.1f} mails/s  ({report.summary()}; {stored} stored, "
              f"{dv.count('Processed')} moved)")
    finally:
        dv.stop()


def latency(n: int, kb_path: Path, kb: KnowledgeBase, home: Path) -> None:
    from support.servers import start_dovecot

    dv = start_dovecot()
    url = f"sqlite:///{home / 'latency.db'}"
    engine = make_engine(url)
    upgrade(engine)
    settings = settings_for(dv, url, kb_path, home)
    account = settings.imap_all_accounts[0]
    watcher = IdleWatcher(settings, engine, kb, account, "INBOX", clock=utcnow)
    thread = threading.Thread(target=watcher.run_forever, daemon=True)
    thread.start()
    client = dv.client()
    samples: list[float] = []
    try:
        for i in range(n):
            deadline = time.monotonic() + 10
            while not watcher.idling.is_set() and time.monotonic() < deadline:
                time.sleep(0.005)
            raw = question_mail(10_000 + i)
            appended = utcnow()
            client.append("INBOX", raw)
            while True:
                with session(engine) as s:
                    done = s.exec(select(func.count()).select_from(Draft)).one()
                if done > i or time.monotonic() > deadline:
                    break
                time.sleep(0.005)
            with session(engine) as s:
                draft = s.exec(select(Draft).order_by(Draft.id.desc())).first()  # type: ignore[union-attr]
            created = draft.created_at if draft else utcnow()
            if created.tzinfo is None:
                created = created.replace(tzinfo=UTC)
            samples.append((created - appended).total_seconds())
    finally:
        client.logout()
        watcher.stop()
        thread.join(10)
        dv.stop()
        engine.dispose()
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * len(samples)) - 1)]
    print(f"latency    IDLE       arrival-to-draft over {len(samples)} mails: "
          f"p50 {statistics.median(samples) * 1000:6.1f} ms, p95 {p95 * 1000:6.1f} ms, "
          f"max {samples[-1] * 1000:6.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mails", type=int, default=1000)
    ap.add_argument("--latency-mails", type=int, default=100)
    ap.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ap.add_argument("--no-pg", action="store_true")
    args = ap.parse_args()

    home = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    kb_path = home / "kb.sqlite"
    build_kb(kb_path)
    kb = KnowledgeBase(kb_path)
    mails = corpus(args.mails)
    print(f"corpus: {len(mails)} mails, {sum(map(len, mails)) / len(mails) / 1024:.1f} KB avg")
    throughput("SQLite", f"sqlite:///{home / 'bench.db'}", kb_path, kb, mails, home)
    if not args.no_pg:
        from sqlalchemy import create_engine, text

        name = f"consult_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as c:
                c.execute(text(f'CREATE DATABASE "{name}"'))
        except Exception as exc:
            print(f"throughput PostgreSQL skipped: {exc.__class__.__name__}: {exc}")
        else:
            try:
                throughput("PostgreSQL", args.pg.rsplit("/", 1)[0] + f"/{name}", kb_path, kb,
                           mails, home)
            finally:
                with admin.connect() as c:
                    c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    if args.latency_mails:
        latency(args.latency_mails, kb_path, kb, home)


if __name__ == "__main__":
    main()
