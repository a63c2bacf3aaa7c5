"""IDLE arrival-to-draft figures against a private Dovecot; prints them, asserts nothing.

    .venv/bin/python bench/idle.py [--trickle 60] [--interval 1.0] [--burst 200] [--race 10]

One ``IdleWatcher`` (as ``consult serve`` runs it: SQLite, MOVE to a processed folder) waits in
IDLE; the bench appends mail from another connection. "Drafted" means "committed, so visible to
the review queue": a session hook notes the time of every commit (and the highest draft id it
made visible), and a thread that reads the drafts every ``--observe-ms`` tells which mail each
draft is. Not the ``created_at`` stamped before the commit, nor the observer's polling time; and
the observer polls slowly, because reading drafts while the watcher still writes a burst takes
CPU from it (a 2 ms observer made a chunked burst look ~50 ms slower than it is).

- trickle: one mail every ``--interval`` seconds. Arrival-to-draft p50/p95, split into the
  server's part (APPEND until the watcher has the EXISTS in hand, i.e. calls ``idle_done``:
  stock Dovecot holds IDLE notifications ~500 ms) and the service's own part (from there until
  the draft is visible).
- burst: ``--burst`` mails in one MULTIAPPEND, ``--bursts`` times; time from the APPEND to the
  first and the last visible draft, and the per-mail p50/p95; then the medians.
- race: mail A, and mail B appended from a hook in the watcher's thread, (1) right after it
  fetched A's body, so B lands while A is being handled and Dovecot reports it inside the reply
  to A's MOVE; (2) right before it enters IDLE, so Dovecot reports B in the same packet as the
  IDLE continuation. A trial passes when B is drafted within 1 s with no further mail;
  ``--race-wait`` is how long the bench waits before counting B lost (a lost B is swept up by
  the next trial's A).
"""

from __future__ import annotations

import argparse
import bisect
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from ingest import question_mail  # noqa: E402
from sqlalchemy import event, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from consult.clock import utcnow  # noqa: E402
from consult.config import ImapAccount, Settings  # noqa: E402
from consult.kb.build import build_kb  # noqa: E402
from consult.kb.store import KnowledgeBase  # noqa: E402
from db.engine import make_engine, upgrade  # noqa: E402
from workers.imap_connect import connect  # noqa: E402
from workers.imap_idle import IdleWatcher  # noqa: E402

RACE_DEADLINE = 1.0


def pct(values: list[float], q: float) -> float:
    """The q-th percentile, nearest rank (pure)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def ms(v: float) -> str:
    return f"{v * 1000:7.1f} ms"


def mail(tag: str, i: int) -> tuple[str, bytes]:
    """A realistic question with a Message-ID the observer can recognise."""
    mid = f"idle-{tag}-{i}.{uuid.uuid4().hex[:8]}@clinic.example"
    raw = question_mail(i)
    start = raw.index(b"Message-ID: <") + len(b"Message-ID: <")
    end = raw.index(b">", start)
    return mid, raw[:start] + mid.encode() + raw[end:]


class Commits:
    """When each commit became visible, and the highest draft id it made visible."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.tops: list[int] = []  # the highest draft id after each commit (never decreases)
        event.listen(Session, "before_commit", self._before)
        event.listen(Session, "after_commit", self._after)

    @staticmethod
    def _before(session: Session) -> None:
        session.info["max_draft"] = session.execute(text("SELECT max(id) FROM drafts")).scalar()

    def _after(self, session: Session) -> None:
        top = session.info.pop("max_draft", None) or 0
        self.times.append(time.monotonic())
        self.tops.append(max(top, self.tops[-1] if self.tops else 0))

    def visible(self, draft_id: int) -> float | None:
        """The time of the first commit after which ``draft_id`` was in the database."""
        at = bisect.bisect_left(self.tops, draft_id)
        return self.times[at] if at < len(self.times) else None

    def close(self) -> None:
        event.remove(Session, "before_commit", self._before)
        event.remove(Session, "after_commit", self._after)


class Observer:
    """Which draft id each Message-ID got; ``seen`` is when its commit became visible."""

    def __init__(self, engine: Any, interval: float, commits: Commits) -> None:
        self.engine, self.interval, self.commits = engine, interval, commits
        self.seen: dict[str, float] = {}
        self._last = 0
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        query = text("SELECT d.id, m.message_id FROM drafts d JOIN messages m "
                     "ON m.case_id = d.case_id AND m.direction = 'in' WHERE d.id > :last")
        with self.engine.connect() as conn:
            while not self._stop.is_set():
                rows = conn.execute(query, {"last": self._last}).all()
                conn.rollback()
                now = time.monotonic()
                if rows:
                    with self._cond:
                        for draft_id, mid in rows:
                            self._last = max(self._last, draft_id)
                            at = self.commits.visible(draft_id) or now
                            self.seen.setdefault((mid or "").strip("<>"), min(at, now))
                        self._cond.notify_all()
                time.sleep(self.interval)

    def wait(self, mids: list[str], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not all(m in self.seen for m in mids):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


class Hooks:
    """Wraps the watcher's connections: notes when it leaves IDLE (``idle_done``) and runs a
    one-shot hook right after a body FETCH or right before IDLE. Works on any watcher that uses
    imapclient's ``fetch``, ``idle`` and ``idle_done``."""

    def __init__(self) -> None:
        self.woken: list[float] = []
        self.armed: dict[str, Callable[[], None]] = {}
        self.lock = threading.Lock()

    def _fire(self, where: str) -> None:
        with self.lock:
            hook = self.armed.pop(where, None)
        if hook is not None:
            hook()

    def factory(self, account: ImapAccount) -> Any:
        client = connect(account)
        idle, idle_done, fetch = client.idle, client.idle_done, client.fetch

        def timed_idle_done() -> Any:
            self.woken.append(time.monotonic())
            return idle_done()

        def hooked_idle() -> Any:
            self._fire("before idle")
            return idle()

        def hooked_fetch(messages: Any, data: Any, *args: Any, **kw: Any) -> Any:
            out = fetch(messages, data, *args, **kw)
            if any(b"BODY" in (d if isinstance(d, bytes) else d.encode()) for d in data):
                self._fire("after fetch")
            return out

        client.idle, client.idle_done, client.fetch = (  # type: ignore[method-assign]
            hooked_idle, timed_idle_done, hooked_fetch)
        return client

    def woken_after(self, t: float) -> float | None:
        return next((w for w in self.woken if w >= t), None)


def wait_idling(watcher: IdleWatcher, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not watcher.idling.is_set():
        if time.monotonic() > deadline:
            raise SystemExit("the watcher did not enter IDLE")
        time.sleep(0.002)


def trickle(n: int, interval: float, dv: Any, watcher: IdleWatcher, hooks: Hooks,
            obs: Observer) -> None:
    client = dv.client()
    rows: list[tuple[float, float, float]] = []
    lost = 0
    try:
        for i in range(n):
            wait_idling(watcher)
            mid, raw = mail("t", i)
            t0 = time.monotonic()
            client.append("INBOX", raw)
            if not obs.wait([mid], 10):
                lost += 1
                continue
            drafted = obs.seen[mid]
            woken = hooks.woken_after(t0) or drafted
            rows.append((drafted - t0, woken - t0, drafted - woken))
            time.sleep(max(0.0, t0 + interval - time.monotonic()))
    finally:
        client.logout()
    total, server, own = ([r[k] for r in rows] for k in range(3))
    print(f"trickle  {len(rows)} mails, one per {interval:.1f} s ({lost} not drafted in 10 s)")
    for label, values in (("end to end", total), ("server's notification", server),
                          ("service's own part", own)):
        print(f"  {label:<22} p50 {ms(statistics.median(values))}  p95 {ms(pct(values, .95))}"
              f"  max {ms(max(values))}")


def burst(n: int, each: bool, dv: Any, watcher: IdleWatcher, obs: Observer) -> tuple[float, float]:
    wait_idling(watcher)
    mails = [mail("b" + "e" * each, i) for i in range(n)]
    client = dv.client()
    try:
        t0 = time.monotonic()
        if each:
            for _mid, raw in mails:
                client.append("INBOX", raw)
        else:
            client.multiappend("INBOX", [raw for _mid, raw in mails])
        appended = time.monotonic() - t0
    finally:
        client.logout()
    mids = [mid for mid, _raw in mails]
    ok = obs.wait(mids, 120)
    times = sorted(obs.seen[m] - t0 for m in mids if m in obs.seen)
    how = "APPENDs one after the other" if each else "one MULTIAPPEND"
    print(f"burst    {n} mails in {how} ({ms(appended).strip()}){'' if ok else ' TIMED OUT'}")
    print(f"  first draft {ms(times[0])}   last draft {ms(times[-1])}   per mail "
          f"p50 {ms(statistics.median(times))}  p95 {ms(pct(times, .95))}")
    if times[-1] > times[0]:
        print(f"  {n / (times[-1] - times[0]):.0f} mails/s from the first draft to the last")
    return times[0], times[-1]


def race(n: int, where: str, wait: float, dv: Any, watcher: IdleWatcher, hooks: Hooks,
         obs: Observer) -> None:
    """Mail A, and mail B appended by the watcher's own thread at ``where`` (after A's body
    FETCH: Dovecot reports B inside the MOVE reply; before IDLE: in the packet of "+ idling")."""
    client = dv.client()
    hook_client = dv.client()
    delays: list[float | None] = []
    try:
        for i in range(n):
            wait_idling(watcher)
            mid_a, raw_a = mail("ra", i)
            mid_b, raw_b = mail("rb", i)
            appended: list[float] = []

            def append_b(raw: bytes = raw_b, at: list[float] = appended) -> None:
                at.append(time.monotonic())
                hook_client.append("INBOX", raw)

            hooks.armed[where] = append_b
            client.append("INBOX", raw_a)
            obs.wait([mid_a], 10)
            deadline = time.monotonic() + 5
            while not appended and time.monotonic() < deadline:
                time.sleep(0.002)
            got = obs.wait([mid_b], wait) if appended else False
            delays.append(obs.seen[mid_b] - appended[0] if got and appended else None)
            hooks.armed.pop(where, None)
            # a lost B is taken in with the next trial's A; let the watcher settle in IDLE
            time.sleep(0.2)
    finally:
        client.logout()
        hook_client.logout()
    ok = [d for d in delays if d is not None and d <= RACE_DEADLINE]
    shown = " ".join("lost" if d is None else f"{d:.2f}s" for d in delays)
    print(f"race     B appended {where + ' of A' if where == 'after fetch' else where}: "
          f"{len(ok)}/{n} drafted within {RACE_DEADLINE:.0f} s without another mail  [{shown}]")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trickle", type=int, default=60)
    ap.add_argument("--interval", type=float, default=1.0)
    ap.add_argument("--burst", type=int, default=200)
    ap.add_argument("--bursts", type=int, default=3, help="repeat the burst (machine noise)")
    ap.add_argument("--burst-each", action="store_true",
                    help="also a burst of separate APPENDs (a busy relay) after the MULTIAPPEND")
    ap.add_argument("--race", type=int, default=10)
    ap.add_argument("--race-wait", type=float, default=3.0)
    ap.add_argument("--observe-ms", type=float, default=200.0)
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores at the start")

    from support.servers import start_dovecot

    home = Path(tempfile.mkdtemp(prefix="bench-idle-"))
    kb_path = home / "kb.sqlite"
    build_kb(kb_path)
    kb = KnowledgeBase(kb_path)
    url = f"sqlite:///{home / 'idle.db'}"
    engine = make_engine(url)
    upgrade(engine)
    dv = start_dovecot()
    settings = Settings(home=home, kb_path=kb_path, database_url=url,
                        from_address="consult@consult.test", imap_host="127.0.0.1",
                        imap_port=dv.port, imap_user=dv.user, imap_password=dv.password,
                        imap_ssl="none", imap_processed_folder="Processed",
                        imap_poll_seconds=3600)
    account = settings.imap_all_accounts[0]
    hooks = Hooks()
    watcher = IdleWatcher(settings, engine, kb, account, "INBOX", clock=utcnow,
                          client_factory=hooks.factory)
    thread = threading.Thread(target=watcher.run_forever, daemon=True)
    thread.start()
    commits = Commits()
    obs = Observer(engine, args.observe_ms / 1000, commits)
    try:
        wait_idling(watcher)
        if args.trickle:
            trickle(args.trickle, args.interval, dv, watcher, hooks, obs)
        if args.burst:
            runs = [burst(args.burst, False, dv, watcher, obs) for _ in range(args.bursts)]
            if len(runs) > 1:
                print(f"burst    median of {len(runs)}: first draft "
                      f"{ms(statistics.median(r[0] for r in runs))}   last draft "
                      f"{ms(statistics.median(r[1] for r in runs))}")
            if args.burst_each:
                burst(args.burst, True, dv, watcher, obs)
        if args.race:
            for where in ("after fetch", "before idle"):
                race(args.race, where, args.race_wait, dv, watcher, hooks, obs)
    finally:
        obs.stop()
        commits.close()
        watcher.stop()
        thread.join(10)
        dv.stop()
        engine.dispose()


if __name__ == "__main__":
    main()
