"""Whole-process figures: `consult poll --once`, `consult send --once` and `consult serve`'s
memory, each run as its own process (exec to exit, start-up included); prints, asserts nothing.

    .venv/bin/python bench/scaleout.py [--mails 1000] [--replies 300] [--pg URL|--no-pg]
                                       [--kb PATH] [--instances 3] [--no-serve]

- poll, one instance: ``--mails`` mails (the mix of bench/ingest.py) in one Dovecot mailbox,
  one `consult poll --once` on a case database migrated beforehand (as deploy/ does), timed
  from exec to exit; on SQLite and on PostgreSQL (a fresh database per run on ``--pg``).
- poll, N instances: N processes at once, each on its own mailbox (one Dovecot user each, all
  mail in one case database: N x ``--mails`` mails), and N processes on one shared mailbox
  (``--mails`` mails: the mailbox lease lets one take it in, the others leave it to that one
  and say so; the cases, duplicates and exit codes are printed as they come out). Ratio =
  N-instance rate / 1. Each poll line also gives the machine's CPU over the run (every
  process, per mail, and how many cores were busy): when one instance keeps the cores busy,
  N instances cannot go faster on this machine, only spend about the same CPU a mail.
- send: ``--replies`` cases approved, then `consult send --once` run again and again until a
  run sends nothing (one sender), and the same with N senders at once, to an aiosmtpd sink in
  this process; the sink's count shows a reply delivered twice.
- RSS: peak VmRSS of each poll process and of its analysis workers (sampled every 50 ms).
- serve: `consult serve` (SQLite, IDLE on a mailbox) with the KB of ``--kb``: RSS and PSS of
  the serve process and of its analysis workers idle, after ``--mails`` mails, after a burst of
  a few big mails, and after a few seconds of quiet.

The KB is var/bench/kb-full.sqlite (the full KB of bench/answers.py, built once when missing).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from ingest import corpus  # noqa: E402

KB_DEFAULT = ROOT / "var" / "bench" / "kb-full.sqlite"
CONSULT = Path(sys.executable).with_name("consult")


# -- processes and their memory ------------------------------------------------------------------
def _children_of() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        out.setdefault(ppid, []).append(int(stat.parent.name))
    return out


def workers_of(pid: int) -> tuple[list[int], list[int]]:
    """(the forkserver(s) below ``pid``, the analysis workers they started)."""
    tree = _children_of()
    servers = [c for c in tree.get(pid, []) if "forkserver" in comm(c)]
    return servers, [w for fs in servers for w in tree.get(fs, [])]


def _proc_kb(path: Path, key: str) -> int:
    """The ``key:`` line of a /proc file, in kB (0 when the process is gone)."""
    try:
        for line in path.read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def status_kb(pid: int, key: str) -> int:
    """A ``/proc/PID/status`` figure in kB (0 when the process is gone)."""
    return _proc_kb(Path(f"/proc/{pid}/status"), key)


def pss_kb(pid: int) -> int:
    """Proportional set size (shared pages split between their users), in kB."""
    return _proc_kb(Path(f"/proc/{pid}/smaps_rollup"), "Pss")


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:80]
    except OSError:
        return "?"


@dataclass
class Peaks:
    """Peak RSS of a process and of its descendants, sampled from a thread."""

    pid: int
    main_kb: int = 0
    children_kb: dict[int, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Peaks:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        # finding the workers scans all of /proc (~3 ms): done every 0.5 s, not at each sample,
        # so the sampler takes almost no CPU from the processes it measures on this 2-core box
        kids: list[int] = []
        tick = 0
        while not self._stop.is_set():
            self.main_kb = max(self.main_kb, status_kb(self.pid, "VmHWM"))
            if tick % 10 == 0:
                kids = workers_of(self.pid)[1]
            tick += 1
            for child in kids:
                rss = status_kb(child, "VmRSS")
                if rss:
                    self.children_kb[child] = max(self.children_kb.get(child, 0), rss)
            self._stop.wait(0.05)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)

    def text(self) -> str:
        kids = sorted(self.children_kb.values(), reverse=True)
        shown = ", ".join(f"{k / 1024:.0f}" for k in kids[:4]) or "none"
        return f"peak RSS main {self.main_kb / 1024:.0f} MB, workers [{shown}] MB"


@dataclass
class Run:
    """One finished process: its wall time from exec to exit, exit code, output, memory."""

    seconds: float
    code: int
    out: str
    peaks: Peaks


def start(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[str], float, Peaks]:
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(CONSULT), *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    return proc, t0, Peaks(proc.pid).start()


def finish(proc: subprocess.Popen[str], t0: float, peaks: Peaks) -> Run:
    out, _ = proc.communicate()
    seconds = time.perf_counter() - t0
    peaks.stop()
    return Run(seconds, proc.returncode, out.strip(), peaks)


def run_all(argvs: list[tuple[list[str], dict[str, str]]]) -> list[Run]:
    """Start every command at once; wait for all of them."""
    started = [start(a, e) for a, e in argvs]
    return [finish(*s) for s in started]


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy (all cores: /proc/stat minus idle, iowait)."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def cpu_text(busy: float, wall: float, mails: int) -> str:
    """What the machine spent: every process (the polls, their workers, Dovecot, the database
    server, this bench's sampler), per mail and as busy cores out of all of them. A rate that
    cannot grow with more instances shows here as all cores busy."""
    return (f"machine CPU {busy:.2f} s = {busy * 1000 / mails:.2f} ms a mail, "
            f"{busy / wall:.2f} of {os.cpu_count()} cores busy")


# -- servers -------------------------------------------------------------------------------------
class Mailboxes:
    """One private Dovecot; each ``new_user`` is a fresh, empty mailbox."""

    def __init__(self) -> None:
        from support.servers import start_dovecot

        self.dv = start_dovecot()
        self.password = self.dv.password
        # every user is written before the first login: Dovecot rereads a passwd-file on a
        # changed mtime, which misses a second write within the same second
        self.free = [f"u{k}x{uuid.uuid4().hex[:6]}" for k in range(24)]
        with (self.dv.root / "users").open("a") as fh:
            fh.writelines(f"{name}:{{PLAIN}}{self.password}\n" for name in self.free)

    def new_user(self, mails: list[bytes]) -> str:
        name = self.free.pop(0)
        self.append(name, mails)
        return name

    def append(self, name: str, mails: list[bytes]) -> None:
        """Put ``mails`` in ``name``'s INBOX, a hundred per MULTIAPPEND."""
        from imapclient import IMAPClient

        client = IMAPClient("127.0.0.1", port=self.dv.port, ssl=False, timeout=60)
        client.login(name, self.password)
        try:
            for i in range(0, len(mails), 100):
                client.multiappend("INBOX", mails[i:i + 100])
        finally:
            client.logout()

    def stop(self) -> None:
        self.dv.stop()
        shutil.rmtree(self.dv.root, ignore_errors=True)


@contextmanager
def database(kind: str, home: Path, pg: str) -> Iterator[str]:
    """A fresh, migrated case database URL."""
    from db.engine import make_engine, upgrade

    if kind == "sqlite":
        url = f"sqlite:///{home / f'scale-{uuid.uuid4().hex[:8]}.db'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
        return
    from sqlalchemy import create_engine, text

    name = f"scale_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = pg.rsplit("/", 1)[0] + f"/{name}"
    try:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def env_for(home: Path, kb: Path, url: str, port: int, user: str, password: str,
            **extra: str) -> dict[str, str]:
    # PYTHONDONTWRITEBYTECODE (set on the dev machine) would compile every module of the
    # editable install at each start, which an installed wheel (compiled at install) never does
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CONSULT_") and k != "PYTHONDONTWRITEBYTECODE"}
    env.update({
        "CONSULT_HOME": str(home), "CONSULT_KB_PATH": str(kb), "CONSULT_DATABASE_URL": url,
        "CONSULT_FROM_ADDRESS": "consult@consult.test", "CONSULT_IMAP_HOST": "127.0.0.1",
        "CONSULT_IMAP_PORT": str(port), "CONSULT_IMAP_USER": user,
        "CONSULT_IMAP_PASSWORD": password, "CONSULT_IMAP_SSL": "none",
        "CONSULT_IMAP_PROCESSED_FOLDER": "Processed",
        "CONSULT_SECRET_KEY": "bench-secret-key-not-for-production-use-0123456789",
    })
    env.update({f"CONSULT_{k.upper()}": v for k, v in extra.items()})
    return env


def count_rows(url: str, sql: str) -> int:
    from sqlalchemy import text

    from db.engine import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as c:
            return int(c.execute(text(sql)).scalar() or 0)
    finally:
        engine.dispose()


# -- the figures ---------------------------------------------------------------------------------
def poll_one(label: str, box: Mailboxes, mails: list[bytes], kb: Path, home: Path,
             url: str) -> float:
    user = box.new_user(mails)
    busy = machine_busy()
    run = run_all([(["poll", "--once"], env_for(home, kb, url, box.dv.port, user,
                                                box.password))])[0]
    busy = machine_busy() - busy
    rate = len(mails) / run.seconds
    print(f"poll   {label:<10} 1 instance : {len(mails)} mails in {run.seconds:6.2f} s = "
          f"{rate:6.1f} mails/s  (exit {run.code}: {run.out.splitlines()[-1][:70]!r}); "
          f"{run.peaks.text()}", flush=True)
    print(f"         {cpu_text(busy, run.seconds, len(mails))}")
    return rate


def poll_many(label: str, box: Mailboxes, mails: list[bytes], kb: Path, home: Path,
              url: str, n: int, *, shared: bool) -> float:
    if shared:
        users = [box.new_user(mails)] * n
        total = len(mails)
    else:
        users = [box.new_user([m.replace(b"Message-ID: <", f"Message-ID: <i{k}.".encode(), 1)
                               for m in mails]) for k in range(n)]
        total = n * len(mails)
    busy = machine_busy()
    runs = run_all([(["poll", "--once"], env_for(home, kb, url, box.dv.port, u, box.password))
                    for u in users])
    busy = machine_busy() - busy
    wall = max(r.seconds for r in runs)
    rate = total / wall
    stored = count_rows(url, "SELECT count(*) FROM messages WHERE direction = 'in'")
    how = f"one mailbox, {total} mails" if shared else f"{n} mailboxes, {total} mails"
    print(f"poll   {label:<10} {n} instances: {how} in {wall:6.2f} s = {rate:6.1f} mails/s; "
          f"{stored} stored; exits {[r.code for r in runs]}", flush=True)
    for r in runs:
        last = r.out.splitlines()[-1][:90] if r.out else ""
        print(f"         {r.seconds:6.2f} s  {r.peaks.text()}  {last!r}")
    print(f"         {cpu_text(busy, wall, total)}")
    return rate


def approve(url: str, count: int) -> int:
    """Approve ``count`` cases awaiting review (their outbox rows become due)."""
    from pydantic import SecretStr
    from sqlmodel import col, select

    from consult.clock import utcnow
    from consult.config import Settings
    from consult.review import approve as approve_case
    from db.engine import make_engine, session
    from db.models import Case

    settings = Settings(database_url=url, from_address="consult@consult.test",
                        secret_key=SecretStr("bench-secret-key-not-for-production-use-0123456789"))
    engine = make_engine(url)
    done = 0
    with session(engine) as s:
        ids = s.exec(select(Case.id).where(Case.status == "awaiting_review")
                     .order_by(col(Case.id)).limit(count)).all()
        for case_id in ids:
            assert case_id is not None
            approve_case(s, case_id, settings, actor="bench", now=utcnow())
            done += 1
        s.commit()
    engine.dispose()
    return done


class Sink:
    """An aiosmtpd server counting what it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller
        from support.servers import free_port

        self.count = 0
        self.port = free_port()
        self._lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.count += 1
        return "250 OK"

    def stop(self) -> None:
        self.controller.stop()


def send_loop(env: dict[str, str]) -> Callable[[], tuple[int, float, int]]:
    """`consult send --once` until a run sends nothing: (sent, seconds, runs)."""
    def go() -> tuple[int, float, int]:
        sent, runs, t0 = 0, 0, time.perf_counter()
        while True:
            proc = subprocess.run([str(CONSULT), "send", "--once"], env=env, text=True,
                                  capture_output=True)
            runs += 1
            try:
                got = int(proc.stdout.split()[0])
            except (IndexError, ValueError):
                got = 0
            sent += got
            if got == 0 or runs > 500:
                return sent, time.perf_counter() - t0, runs
    return go


def senders(label: str, url: str, kb: Path, home: Path, replies: int, n: int,
            box: Mailboxes) -> None:
    sink = Sink()
    try:
        env = env_for(home, kb, url, box.dv.port, "nobody", "x", smtp_host="127.0.0.1",
                      smtp_port=str(sink.port), smtp_starttls="false")
        for count in (1, n):
            rows = approve(url, replies)
            before = sink.count
            out: list[tuple[int, float, int]] = []
            loops = [send_loop(env) for _ in range(count)]
            threads = [threading.Thread(target=lambda f=f, o=out: o.append(f())) for f in loops]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - t0
            got = sink.count - before
            print(f"send   {label:<10} {count} sender{'s' if count > 1 else ' '}: {rows} approved "
                  f"-> {got} delivered to the sink ({sum(o[0] for o in out)} counted sent, "
                  f"{sum(o[2] for o in out)} runs of `send --once`) in {wall:6.2f} s = "
                  f"{rows / wall:6.1f} replies/s", flush=True)
    finally:
        sink.stop()


def big_mail(i: int, mb: int) -> bytes:
    """A consultation with a large text attachment and a long HTML part."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = f"Big {i} <big{i}@clinic.example>"
    msg["To"] = "consult@consult.test"
    msg["Subject"] = f"Chart notes for 43239 with 43235 (big {i})"
    msg["Message-ID"] = f"<big{i}.{uuid.uuid4().hex[:8]}@clinic.example>"
    msg["Date"] = "Mon, 16 Nov 2026 10:00:00 +0000"
    msg.set_content("Can 43239 and 43235 be billed together for Medicare? Notes attached.\n")
    line = "Encounter note: EGD with biopsy 43239, diagnostic 43235, K22.2, 99213-25.\n"
    msg.add_attachment(line * (mb * 1024 * 1024 // len(line)), subtype="plain",
                       filename=f"notes{i}.txt")
    msg.add_attachment(("<p>" + line + "</p>") * (mb * 512 * 1024 // len(line)),
                       subtype="html", filename=f"chart{i}.html")
    return msg.as_bytes()


def memory_line(label: str, pid: int) -> str:
    fs, kids = workers_of(pid)
    rss = [status_kb(c, "VmRSS") / 1024 for c in kids]
    pss = [pss_kb(c) / 1024 for c in kids]
    fs_text = f"; forkserver {status_kb(fs[0], 'VmRSS') / 1024:.0f}" if fs else ""
    return (f"serve  {label:<22} serve RSS {status_kb(pid, 'VmRSS') / 1024:6.1f} MB "
            f"(PSS {pss_kb(pid) / 1024:6.1f}); workers RSS "
            f"[{', '.join(f'{r:.0f}' for r in rss)}] PSS [{', '.join(f'{p:.0f}' for p in pss)}]"
            f"{fs_text} MB")


def serve_memory(box: Mailboxes, mails: list[bytes], kb: Path, home: Path) -> None:
    from support.servers import free_port

    url = f"sqlite:///{home / 'serve.db'}"
    from db.engine import make_engine, upgrade

    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    user = box.new_user([])
    http = free_port()
    env = env_for(home, kb, url, box.dv.port, user, box.password,
                  listen_http=f"127.0.0.1:{http}", listen_smtp=f"127.0.0.1:{free_port()}",
                  log_level="WARNING")
    proc = subprocess.Popen([str(CONSULT), "serve"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{http}/healthz", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    print("serve  did not start")
                    return
                time.sleep(0.2)
        time.sleep(3)
        print(memory_line("idle", proc.pid), flush=True)

        def wait_for(total: int, limit: float) -> float:
            t0 = time.monotonic()
            while count_rows(url, "SELECT count(*) FROM messages WHERE processed") < total:
                if time.monotonic() - t0 > limit:
                    break
                time.sleep(0.5)
            return time.monotonic() - t0

        def deliver(raws: list[bytes]) -> None:
            box.append(user, raws)

        deliver(mails)
        took = wait_for(len(mails), 120)
        print(memory_line(f"after {len(mails)} mails", proc.pid) + f"  ({took:.1f} s)",
              flush=True)
        burst = [big_mail(i, 6) for i in range(4)]
        deliver(burst)
        took = wait_for(len(mails) + len(burst), 120)
        print(memory_line(f"after {len(burst)} x {len(burst[0]) >> 20} MB", proc.pid)
              + f"  ({took:.1f} s)", flush=True)
        time.sleep(10)
        print(memory_line("10 s later", proc.pid), flush=True)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def full_kb(path: Path) -> Path:
    if not path.exists():
        from sources import all_sources

        from consult.kb.build import build_kb

        print(f"building the full KB into {path} (once)...", file=sys.stderr, flush=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as work:
            build_kb(path, sources_dir=all_sources(ROOT.parent / "shared" / "data" / "cms",
                                                   ROOT.parent / "shared" / "data" / "mcd",
                                                   Path(work)))
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mails", type=int, default=1000)
    ap.add_argument("--replies", type=int, default=300)
    ap.add_argument("--instances", type=int, default=3)
    ap.add_argument("--kb", type=Path, default=KB_DEFAULT)
    ap.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--no-serve", action="store_true")
    ap.add_argument("--only-serve", action="store_true", help="only the serve memory figures")
    args = ap.parse_args()

    kb = full_kb(args.kb)
    home = Path(tempfile.mkdtemp(prefix="bench-scaleout-"))
    mails = corpus(args.mails)
    n = args.instances
    print(f"corpus: {len(mails)} mails, {sum(map(len, mails)) / len(mails) / 1024:.1f} KB avg; "
          f"KB {kb.name} ({kb.stat().st_size >> 20} MB); {os.cpu_count()} CPUs", flush=True)
    box = Mailboxes()
    try:
        kinds = [] if args.only_serve else ["sqlite"] + ([] if args.no_pg else ["postgresql"])
        for kind in kinds:
            label = "SQLite" if kind == "sqlite" else "PostgreSQL"
            with database(kind, home, args.pg) as url:
                one = poll_one(label, box, mails, kb, home, url)
                senders(label, url, kb, home, args.replies, n, box)
            with database(kind, home, args.pg) as url:
                many = poll_many(label, box, mails, kb, home, url, n, shared=False)
            print(f"poll   {label:<10} ratio {n} instances / 1 = {many / one:.2f}")
            with database(kind, home, args.pg) as url:
                poll_many(label, box, mails, kb, home, url, n, shared=True)
        if not args.no_serve:
            serve_memory(box, mails, kb, home)
    finally:
        box.stop()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
