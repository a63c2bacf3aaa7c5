"""`consult serve --demo` (what `make run` starts): listener, processor, web UI, demo mail."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from support.servers import free_port


def test_serve_with_demo_mail(tmp_path: Path, starter_kb_path: Path) -> None:
    http, smtp = free_port(), free_port()
    env = {**os.environ, "CONSULT_HOME": str(tmp_path / "home"),
           "CONSULT_KB_PATH": str(starter_kb_path), "CONSULT_LISTEN_HTTP": f"127.0.0.1:{http}",
           "CONSULT_LISTEN_SMTP": f"127.0.0.1:{smtp}", "PYTHONUNBUFFERED": "1"}
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "consult", "serve", "--demo"], env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while "Delivered" not in log.read_text(errors="replace"):
            assert proc.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.2)
        text = log.read_text()
        assert f"http://127.0.0.1:{http}/" in text and "consult queue" in text

        with urllib.request.urlopen(f"http://127.0.0.1:{http}/healthz", timeout=10) as r:
            assert json.load(r) == {"status": "ok"}

        # the demo made a login; with it the queue page lists the demo cases
        import httpx

        found = re.search(r"log in as (\S+) / (\S+)", text)
        assert found, text
        with httpx.Client(base_url=f"http://127.0.0.1:{http}", timeout=10) as web:
            assert web.get("/").status_code in (302, 303, 307)
            form = web.get("/login").text
            nonce = re.search(r'name="login_csrf" value="([^"]+)"', form)
            assert nonce
            login = web.post("/login", data={"email": found[1], "password": found[2],
                                             "login_csrf": nonce[1], "next": "/"})
            assert login.status_code in (302, 303), login.text
            page = web.get("/")
            assert page.status_code == 200 and "43214" in page.text

        queue = subprocess.run([sys.executable, "-m", "consult", "queue", "--json"], env=env,
                               capture_output=True, text=True, timeout=60, check=True)
        rows = json.loads(queue.stdout)
        demo_count = len(list((Path(__file__).parents[2] / "consult" / "demo").glob("*.eml")))
        assert len(rows) == demo_count >= 3
        assert {r["status"] for r in rows} == {"awaiting_review"}
        assert any("43214" in r["codes"] for r in rows)

        # operations: ready, and the metrics of this very process (hooks in the listener and
        # the processor), no session needed
        from support.prom import samples, value

        with urllib.request.urlopen(f"http://127.0.0.1:{http}/readyz", timeout=10) as r:
            ready = json.load(r)
        assert ready["status"] == "ready" and ready["checks"]["kb"]["ok"]
        with urllib.request.urlopen(f"http://127.0.0.1:{http}/metrics", timeout=10) as r:
            found = samples(r.read().decode())
        assert value(found, "consult_mails_received_total", transport="smtp") == demo_count
        assert value(found, "consult_draft_latency_seconds_count", transport="smtp") == demo_count
        assert value(found, "consult_cases", status="awaiting_review") == demo_count
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
