"""Item 9: no patient identifier reaches a log line: tracebacks and SQL errors are redacted by the
formatter, and the poller's chunk failure names the error class, not the statement."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError
from support.mails import consultation
from support.servers import Dovecot

from consult.clock import utcnow
from consult.kb.store import KnowledgeBase
from consult.phi_patterns import SAFETY_NET_KINDS, mask, redact
from workers.imap_poller import ImapPoller

PHI = ("Jane Doe", "03/14/1961", "jane.doe@home.example", "555-123-4567", "123-45-6789",
       "448812", "12 Main Street")
LINE = ("patient Jane Doe, DOB 03/14/1961, jane.doe@home.example, (217) 555-123-4567, "
        "SSN 123-45-6789, MRN: 448812, lives at 12 Main Street")


def test_the_shared_patterns_mask_every_kind() -> None:
    out = redact(LINE)
    assert not [p for p in PHI if p in out], out
    assert "43214" in redact("codes 43214 and 43200, modifier 59")
    assert redact("failed [parameters: ('Jane Doe', 42)]") == "failed [sql_parameters]"
    netted = mask("call 217-555-0142 or mail jane@x.example", SAFETY_NET_KINDS, "[removed]")
    assert netted == "call [removed] or mail [removed]"
    for label in ("MR# 12345", "D.O.B.: 01/02/1960", "acct 9981", "member id A1234"):
        assert mask(label, SAFETY_NET_KINDS, "[removed]") == "[removed]", label


def test_tracebacks_and_sql_errors_are_redacted(tmp_path: Any) -> None:
    script = textwrap.dedent(f'''
        import logging
        from sqlalchemy import text
        from consult.logs import configure
        from db.engine import make_engine

        configure("INFO")
        log = logging.getLogger("consult.test")
        try:
            raise ValueError({LINE!r})
        except ValueError:
            log.exception("intake failed on a mail")
        engine = make_engine("sqlite:///{tmp_path / 'x.db'}")
        with engine.begin() as conn:
            conn.execute(text("create table t (name text unique)"))
        try:
            with engine.begin() as conn:
                for _ in range(2):
                    conn.execute(text("insert into t values (:n)"), {{"n": "Jane Doe 03/14/1961"}})
        except Exception:
            log.exception("could not store")
        log.info("mail from %s", "jane.doe@home.example")
    ''')
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, env={**os.environ})
    err = done.stderr
    assert "ValueError" in err and "IntegrityError" in err and "[email]" in err, err
    leaked = [p for p in PHI if p in err]
    assert not leaked, err


def test_a_failed_chunk_logs_the_error_class_not_the_statement(
        imap_settings: Any, engine_for: Any, starter_kb: KnowledgeBase, dovecot: Dovecot,
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    settings, engine = imap_settings(dovecot, url), engine_for(url)
    dovecot.append(consultation(subject="Jane Doe DOB 03/14/1961: 43214?"))

    def broken_batch(*_a: Any, **_k: Any) -> Any:  # the database refuses the chunk
        raise OperationalError("INSERT INTO cases (subject) VALUES (?)",
                               ("Jane Doe DOB 03/14/1961: 43214?",), Exception("disk I/O"))

    monkeypatch.setattr("workers.imap_poller.ingest_batch", broken_batch)
    with caplog.at_level(logging.WARNING, logger="workers.imap_poller"), \
            ImapPoller(settings, engine, starter_kb, clock=utcnow, analysis_workers=0) as poller:
        report = poller.run_once()
    assert report.cases == 1  # taken in one at a time instead
    warning = [r.getMessage() for r in caplog.records if "failed as a whole" in r.getMessage()]
    assert warning and "OperationalError" in warning[0]
    assert "Jane Doe" not in warning[0] and "INSERT" not in warning[0], warning[0]
