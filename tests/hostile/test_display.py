"""Item 17 in the terminal: `consult queue` and `consult show` never send a mail's escape
sequences or direction overrides to the terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from support.mails import consultation

from consult.display import neutralize

EVIL_SUBJECT = "Re: 43214 \x1b]8;;http://evil.example\x07click\x1b]8;;\x07 \u202egnp.exe"


def test_neutralize_marks_what_it_replaces() -> None:
    assert neutralize("a\u202eb\x1b[2Jc\x00d\x7f\x85") == (
        "a[U+202E]b\u241b[2Jc\u2400d\u2421[U+0085]")
    assert neutralize("line one\n\tline two") == "line one\n\tline two"
    assert neutralize("Zoë 43214 – ok") == "Zoë 43214 – ok"


def test_cli_output_is_neutralised(tmp_path: Path, starter_kb_path: Path) -> None:
    env = {**os.environ, "CONSULT_HOME": str(tmp_path / "home"),
           "CONSULT_KB_PATH": str(starter_kb_path)}
    mail = tmp_path / "evil.eml"
    mail.write_bytes(consultation(subject=EVIL_SUBJECT, name="Dana \u202eWhitfield"))

    def run(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "consult", *args], env=env,
                              capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout.decode("utf-8")

    case_id = run("ingest", str(mail)).strip()
    for out in (run("queue"), run("show", case_id)):
        assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out, out
        assert "[U+202E]gnp.exe" in out and "\u241b]8;;" in out
