"""Item 4: the SMTP listener never waits on the database in its event loop: while one client's
mail waits for the database, every other client is greeted at once."""

from __future__ import annotations

import smtplib
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from support.mails import consultation
from support.servers import free_port

from consult.clock import utcnow
from consult.config import Settings
from workers.smtp_inbound import start_listener


def _greeting_ms(port: int) -> float:
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        assert sock.recv(512).startswith(b"220")
    return (time.perf_counter() - started) * 1000


def test_greeting_is_immediate_while_a_store_waits_for_the_database(
        make_settings: Callable[..., Settings], engine_for: Any, tmp_path: Path) -> None:
    path = tmp_path / "consult.db"
    url = f"sqlite:///{path}"
    settings = make_settings(database_url=url, listen_smtp=f"127.0.0.1:{free_port()}")
    engine = engine_for(url)
    host, port = settings.smtp_listen
    controller = start_listener(settings, engine, clock=utcnow)
    locker = sqlite3.connect(path, isolation_level=None, timeout=1)
    results: list[str] = []
    try:
        locker.execute("BEGIN IMMEDIATE")  # another writer holds the database for a while

        def send() -> None:
            with smtplib.SMTP(host, port, timeout=60) as client:
                client.sendmail("dana@clinic.example", ["consult@consult.test"], consultation())
            results.append("250")

        sender = threading.Thread(target=send)
        sender.start()
        time.sleep(0.5)  # its DATA has arrived; the store waits for the lock
        latencies = [_greeting_ms(port) for _ in range(5)]
        assert max(latencies) < 500, f"greetings waited {latencies} ms for the database"
        assert results == []
        locker.execute("ROLLBACK")
        sender.join(30)
        assert results == ["250"]
    finally:
        locker.close()
        controller.stop()
