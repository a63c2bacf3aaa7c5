"""`consult serve` itself (issue 13): CONSULT_SECRET_KEY is required outside --demo (12),
CONSULT_LOG_LEVEL is honoured and uvicorn's lines are redacted too (9), and X-Forwarded-For from
a client is not trusted, so the per-IP login limit holds (15)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from support.servers import free_port


def _env(tmp_path: Path, kb: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSULT_")}
    env.update({"CONSULT_HOME": str(tmp_path / "home"), "CONSULT_KB_PATH": str(kb),
                "CONSULT_LISTEN_HTTP": f"127.0.0.1:{free_port()}",
                "CONSULT_LISTEN_SMTP": f"127.0.0.1:{free_port()}", "PYTHONUNBUFFERED": "1",
                "CONSULT_ANALYSIS_WORKERS": "0"})
    env.update(extra)
    return env


def test_serve_refuses_to_start_without_a_secret_key(tmp_path: Path,
                                                     starter_kb_path: Path) -> None:
    env = _env(tmp_path, starter_kb_path)
    try:
        done = subprocess.run([sys.executable, "-m", "consult", "serve"], env=env,
                              capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError("serve started without CONSULT_SECRET_KEY") from exc
    assert done.returncode == 1
    assert "CONSULT_SECRET_KEY is not set" in done.stderr


def test_serve_logs_at_the_level_set_redacts_uvicorn_and_ignores_forwarded_for(
        tmp_path: Path, starter_kb_path: Path) -> None:
    env = _env(tmp_path, starter_kb_path, CONSULT_SECRET_KEY="serve-test-secret-0123456789",
               CONSULT_LOG_LEVEL="INFO")
    subprocess.run([sys.executable, "-m", "consult", "user", "add", "rita@consult.test"],
                   env=env, input="correct-horse-battery\n", text=True, check=True, timeout=60)
    http = env["CONSULT_LISTEN_HTTP"]
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "consult", "serve"], env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text(errors="replace")
            try:
                if httpx.get(f"http://{http}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.2)
        with httpx.Client(base_url=f"http://{http}", timeout=10) as web:
            web.get("/login", params={"next": "/?q=jane.doe@home.example"})

            def login(email: str, password: str, forwarded: str) -> httpx.Response:
                form = web.get("/login").text
                nonce = re.search(r'name="login_csrf" value="([^"]+)"', form)
                assert nonce
                return web.post("/login", headers={"X-Forwarded-For": forwarded},
                                data={"email": email, "password": password,
                                      "login_csrf": nonce[1], "next": "/"})

            for n in range(20):  # one client guessing across accounts, "from" 20 addresses
                assert login(f"user{n}@consult.test", "wrong-password-1",
                             f"10.0.0.{n}").status_code == 401
            assert login("rita@consult.test", "correct-horse-battery",
                         "10.0.1.1").status_code == 429
        time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    text = log.read_text(errors="replace")
    assert "INFO workers.smtp_inbound: SMTP listener on" in text, text
    access = [line for line in text.splitlines() if "GET /login?" in line]
    assert access, text
    assert "jane.doe" not in text and "GET /login?[query]" in access[0], access
