"""Item 8: data at rest is private to the service's user: CONSULT_HOME 0700, the database with its
-wal/-shm, the KB and the outbound Maildir 0600, whatever the umask the service started with."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from support.mails import consultation


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _consult(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "consult", *args], env=env, capture_output=True,
                          text=True, timeout=120, preexec_fn=lambda: os.umask(0o022))
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_home_database_and_maildir_are_private(tmp_path: Path, starter_kb_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "CONSULT_HOME": str(home), "CONSULT_KB_PATH": str(starter_kb_path),
           "CONSULT_FROM_ADDRESS": "consult@consult.test"}
    mail = tmp_path / "q.eml"
    mail.write_bytes(consultation())
    case_id = _consult(env, "ingest", str(mail)).strip()
    _consult(env, "approve", case_id)
    _consult(env, "send", "--once")
    assert _mode(home) == 0o700
    db_files = [home / n for n in ("consult.db", "consult.db-wal", "consult.db-shm")]
    assert [p.name for p in db_files if p.exists()][:1] == ["consult.db"]
    for path in db_files:
        if path.exists():
            assert _mode(path) == 0o600, f"{path.name} is {oct(_mode(path))}"
    maildir = home / "outbox-maildir"
    sent = [p for p in maildir.rglob("*") if p.is_file()]
    assert sent, "the reply was not delivered to the Maildir"
    for path in [maildir, *maildir.rglob("*")]:
        assert _mode(path) == (0o700 if path.is_dir() else 0o600), path


def test_an_existing_open_home_is_tightened(tmp_path: Path, starter_kb_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "CONSULT_HOME": str(home), "CONSULT_KB_PATH": str(starter_kb_path)}
    _consult(env, "queue")  # creates the database
    os.chmod(home, 0o755)
    os.chmod(home / "consult.db", 0o644)  # as an older version left them
    _consult(env, "queue")
    assert _mode(home) == 0o700 and _mode(home / "consult.db") == 0o600
