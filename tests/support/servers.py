"""Real servers for tests: a private Dovecot, an aiosmtpd sink, a PostgreSQL database.

Each test gets its own instance on a free loopback port, so the suite runs in parallel. When a
server's software is missing, the test skips locally but FAILS when CI is set: CI must never
report green for a test that did not run.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from support.paths import REPO

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PG_ADMIN_URL = os.environ.get("CONSULT_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def require(condition: bool, what: str) -> None:
    """Skip locally, fail in CI, when a server the test needs is missing."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{what} is missing in CI: install it (make test does, as root)")
    pytest.skip(f"{what} is not available here")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- Dovecot ---------------------------------------------------------------------------------------
DOVECOT_BIN = shutil.which("dovecot") or "/usr/sbin/dovecot"
DOVECOT_CONF = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
instance_name = consult-test-{port}
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# no pause after a refused login (a real server's brute-force brake; tests refuse on purpose)
auth_failure_delay = 0
mail_location = maildir:{root}/mail/%u
mail_fsync = never
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/users
}}
userdb {{
  driver = static
  args = home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


@dataclass
class Dovecot:
    """A running private Dovecot: ``host``, ``port``, one user, and its process."""

    root: Path
    port: int
    user: str = "coder"
    password: str = "s3cret-test-pass"
    proc: subprocess.Popen[bytes] | None = None
    run_as: tuple[int, int] | None = None
    #: set by start_dovecot(ssl=...): the implicit-TLS port, and the certificate of the test CA
    #: that signed the server's (trust it to verify the server)
    imaps_port: int | None = None
    cert: Path | None = None

    @property
    def conf(self) -> Path:
        return self.root / "dovecot.conf"

    def start(self) -> None:
        kwargs: dict[str, object] = {}
        if self.run_as:
            kwargs = {"user": self.run_as[0], "group": self.run_as[1], "extra_groups": []}
        self.proc = subprocess.Popen(
            [DOVECOT_BIN, "-F", "-c", str(self.conf)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)  # type: ignore[arg-type]
        deadline = time.monotonic() + 15
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(256).startswith(b"* OK"):
                        return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"dovecot did not start: {self.log()}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else "(no log)"

    def client(self):  # type: ignore[no-untyped-def]
        from imapclient import IMAPClient

        if self.cert is not None and self.imaps_port is not None:
            import ssl

            ctx = ssl.create_default_context(cafile=str(self.cert))
            c = IMAPClient("127.0.0.1", port=self.imaps_port, ssl=True, ssl_context=ctx,
                           timeout=30)
        else:
            c = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=30)
        c.login(self.user, self.password)
        return c

    def _children(self) -> list[int]:
        """PIDs of the master's child processes (imap, imap-login, auth...)."""
        if self.proc is None:
            return []
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid:
                found.append(int(stat.parent.name))
        return found

    def restart(self, pause: float = 0.0, *, drop_clients: bool = True) -> None:
        """Stop and start again on the same port and mail: a server restart under a client.

        Dovecot's imap processes outlive a stopped master, so with ``drop_clients`` they are
        killed too and every open connection breaks, as on a real server restart or crash."""
        children = self._children() if drop_clients else []
        self.stop()
        for pid in children:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(pause)
        self.start()

    def append(self, *raws: bytes, folder: str = "INBOX") -> None:
        c = self.client()
        try:
            for raw in raws:
                c.append(folder, raw)
        finally:
            c.logout()

    def count(self, folder: str = "INBOX") -> int:
        c = self.client()
        try:
            if not c.folder_exists(folder):
                return 0
            return int(c.folder_status(folder, [b"MESSAGES"])[b"MESSAGES"])
        finally:
            c.logout()


def test_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate it signed for localhost / 127.0.0.1 (trustme):
    (CA certificate, server certificate chain, server key), as PEM files."""
    import trustme

    ca = trustme.CA()
    server = ca.issue_cert("localhost", "127.0.0.1")
    ca_pem, chain, key = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca.cert_pem.write_to_path(str(ca_pem))
    server.private_key_pem.write_to_path(str(key))
    for n, blob in enumerate(server.cert_chain_pems):
        blob.write_to_path(str(chain), append=n > 0)
    return ca_pem, chain, key


def start_dovecot(*, ssl: str = "no", mechanisms: str = "plain login") -> Dovecot:
    """A private Dovecot. ``ssl="required"`` (or ``"yes"``) adds a certificate from a test CA
    (``Dovecot.cert`` is the CA's), STARTTLS on ``port`` and implicit TLS on ``imaps_port``;
    ``mechanisms`` are the SASL mechanisms (``"plain login xoauth2"`` for OAuth2 tests: Dovecot
    2.3 checks an XOAUTH2 token against the passdb like a password)."""
    require(os.access("/usr/lib/dovecot/imap", os.X_OK), "Dovecot (Debian package dovecot-imapd)")
    root = Path(tempfile.mkdtemp(prefix="dovecot-"))
    os.chmod(root, 0o755)
    port = free_port()
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        user, group = "nobody", "nogroup"
        run_as: tuple[int, int] | None = (nobody.pw_uid, nobody.pw_gid)
    else:
        user = pwd.getpwuid(os.geteuid()).pw_name
        import grp

        group = grp.getgrgid(os.getegid()).gr_name
        run_as = None
    dv = Dovecot(root=root, port=port, run_as=run_as)
    (root / "mail").mkdir()
    (root / "users").write_text(f"{dv.user}:{{PLAIN}}{dv.password}\n")
    conf = DOVECOT_CONF.format(root=root, port=port, user=user, group=group)
    conf = conf.replace("auth_mechanisms = plain login", f"auth_mechanisms = {mechanisms}")
    if ssl != "no":
        dv.cert, chain, key = test_certificates(root)
        dv.imaps_port = free_port()
        conf = conf.replace("ssl = no", f"ssl = {ssl}\nssl_cert = <{chain}\nssl_key = <{key}")
        conf = conf.replace("  inet_listener imaps {\n    port = 0",
                            f"  inet_listener imaps {{\n    address = 127.0.0.1\n"
                            f"    port = {dv.imaps_port}")
    dv.conf.write_text(conf)
    if run_as:
        for path in [root, *root.rglob("*")]:
            os.chown(path, *run_as)
    dv.start()
    return dv


@pytest.fixture
def dovecots() -> Iterator[Callable[..., Dovecot]]:
    """``start(**kw)`` -> another private Dovecot (``start_dovecot``'s options), stopped and
    removed after the test. Tests that need Dovecot use this or ``dovecot`` (the markers come
    from these fixtures)."""
    started: list[Dovecot] = []

    def start(**kw: Any) -> Dovecot:
        dv = start_dovecot(**kw)
        started.append(dv)
        return dv

    try:
        yield start
    finally:
        for dv in started:
            dv.stop()
            shutil.rmtree(dv.root, ignore_errors=True)


@pytest.fixture
def dovecot(dovecots: Callable[..., Dovecot]) -> Dovecot:
    return dovecots()


# -- SMTP sink -------------------------------------------------------------------------------------
@dataclass
class SmtpSink:
    """An aiosmtpd server that keeps what it receives (a stand-in for the coder's mail server)."""

    host: str
    port: int
    received: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        with self._cond:
            self.received.append((envelope.mail_from, list(envelope.rcpt_tos),
                                  envelope.original_content or envelope.content))
            self._cond.notify_all()
        return "250 OK"

    def wait(self, count: int = 1, timeout: float = 15) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"sink got {len(self.received)} mails, wanted {count}")
                self._cond.wait(left)
        return [message_from_bytes(r[2], policy=policy.default) for r in self.received]  # type: ignore[misc]


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    port = free_port()
    sink = SmtpSink("127.0.0.1", port)
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


# -- PostgreSQL ------------------------------------------------------------------------------------
def pg_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


def _template_name() -> str:
    """The template's name: a hash of the migrations, so a changed migration gets its own."""
    digest = hashlib.sha256()
    for path in sorted((REPO / "db" / "migrations").rglob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return f"consult_tpl_{digest.hexdigest()[:16]}"


def _ensure_template(admin: Any) -> str:
    """A database migrated to head, made once (by whichever test worker comes first, under an
    advisory lock) and kept between runs while the migrations are the same."""
    from sqlalchemy import text

    from db.engine import make_engine, upgrade

    name = _template_name()
    with admin.connect() as c:
        c.execute(text("SELECT pg_advisory_lock(1515)"))
        try:
            if c.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                         {"n": name}).first() is None:
                building = f"{name}_new"
                c.execute(text(f'DROP DATABASE IF EXISTS "{building}"'))
                c.execute(text(f'CREATE DATABASE "{building}"'))
                engine = make_engine(_url_of(building))
                try:
                    upgrade(engine)
                finally:
                    engine.dispose()
                c.execute(text(f'ALTER DATABASE "{building}" RENAME TO "{name}"'))
        finally:
            c.execute(text("SELECT pg_advisory_unlock(1515)"))
    return name


def _url_of(database: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{database}"


@pytest.fixture
def pg_databases() -> Iterator[Callable[[], str]]:
    """``make()`` -> the URL of a fresh PostgreSQL database, already migrated (a clone of the
    template), dropped after the test."""
    require(pg_available(), "PostgreSQL on 127.0.0.1:5432")
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    made: list[str] = []

    def make() -> str:
        template = _ensure_template(admin)
        name = f"consult_test_{uuid.uuid4().hex[:12]}"
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        made.append(name)
        return _url_of(name)

    try:
        yield make
    finally:
        with admin.connect() as c:
            for name in made:
                c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE datname = :n"), {"n": name})
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture
def pg_url(pg_databases: Callable[[], str]) -> str:
    """A fresh, migrated PostgreSQL database for one test, dropped afterwards."""
    return pg_databases()
