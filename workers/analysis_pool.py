"""Worker processes that parse and analyse mail, each mail within a time and memory budget.

Parsing and analysis need only the raw bytes, our own addresses and the KB file, and they are
where a hostile mail hurts: a .docx or PDF bomb, HTML that is quadratic for ``html.parser``, a
list of thousands of codes. So the intake never runs them in its own process when a pool is
there: each mail goes to a worker process with

- a CPU-time limit (``RLIMIT_CPU`` set per mail; the SIGXCPU it raises ends the analysis),
- an address-space limit (``RLIMIT_AS``: what the worker had after start-up plus the budget),
- a wall-clock limit, enforced here: a worker still busy at the deadline is killed.

A mail over budget comes back as ``AnalyzedMail(None, over_budget=<why>)``; the intake quarantines
it with that reason (raw bytes kept) and goes on, and the worker is replaced. A worker that dies
on a mail (a crash in a C parser) counts the same way: the mail is quarantined, never retried in
the intake's own process. The pool never decides anything else: when it cannot start (three
workers in a row die before they are ready), it yields None and the intake analyses in process,
as without a pool, so a broken pool costs the budget and speed, never mail.

Edges only: the dispatcher is one thread of this process; workers are started by a forkserver
(the service runs threads, so plain fork is unsafe), which preloads the analysis modules.
"""

from __future__ import annotations

import contextlib
import logging
import math
import multiprocessing
import os
import resource
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any

from consult.config import Settings
from workers.memory import trim, tune

if TYPE_CHECKING:
    from consult.analyzed import AnalyzedMail

log = logging.getLogger(__name__)

#: Kept for callers of the first pool: every chunk now goes through the workers.
MIN_BATCH = 1
#: Mails queued on one worker at once (the next one waits in its pipe, no round-trip gap).
DEPTH = 2
#: After this many workers in a row die before they are ready, the pool stops trying.
MAX_FAILURES = 3
#: Modules the forkserver imports once, so a worker starts fast. The PDF and Word readers are
#: left to the first worker that meets such an attachment (about 0.1 s then): preloaded, they
#: cost every start 0.13 s of CPU and put 25 MB in the forkserver and in each worker's RSS,
#: for the few mails that carry one.
PRELOAD = ["consult.pipeline", "consult.kb.store"]
#: A worker gives its free memory back to the system after a mail at least this big.
BIG_MAIL = 1024 * 1024
#: Seconds a new worker may take to open the KB and say it is ready.
START_TIMEOUT = 60.0


@dataclass(frozen=True)
class Budget:
    """What one mail's parse and analysis may use in a worker."""

    cpu_seconds: float = 2.0
    wall_seconds: float = 3.0
    memory_mb: int = 256

    @classmethod
    def from_settings(cls, settings: Settings) -> Budget:
        return cls(settings.analysis_cpu_seconds, settings.analysis_wall_seconds,
                   settings.analysis_memory_mb)

    def reason(self, what: str) -> str:
        """The quarantine reason for a mail that went over ``what`` (cpu, wall, memory)."""
        if what == "cpu":
            return (f"over the analysis budget: more than {self.cpu_seconds:g} s of CPU time "
                    "(CONSULT_ANALYSIS_CPU_SECONDS)")
        if what == "wall":
            return (f"over the analysis budget: not done within {self.wall_seconds:g} s "
                    "(CONSULT_ANALYSIS_WALL_SECONDS)")
        if what == "memory":
            return (f"over the analysis budget: needed more than {self.memory_mb} MB of memory "
                    "(CONSULT_ANALYSIS_MEMORY_MB)")
        return f"over the analysis budget: {what}"


# -- the worker process ------------------------------------------------------------------------
class _OverCpu(BaseException):
    """Raised by the SIGXCPU handler; a BaseException so no ``except Exception`` swallows it."""


def _on_sigxcpu(_signum: int, _frame: object) -> None:
    raise _OverCpu()


def _statm() -> tuple[int, int]:
    """This process's address space and resident size, in bytes."""
    with open("/proc/self/statm") as fh:
        size, rss = fh.read().split()[:2]
    page = os.sysconf("SC_PAGE_SIZE")
    return int(size) * page, int(rss) * page


def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _memory_error(result: AnalyzedMail) -> bool:
    """Whether a MemoryError was caught on the way (the parser turns errors into text)."""
    texts = [result.parse_error, result.analysis_error]
    if result.mail is not None:
        texts.append(result.mail.unusable)
    if result.digest is not None:
        texts.append(result.digest.draft_error)
    return any("MemoryError" in t for t in texts)


def _worker_main(conn: Connection, kb_path: str, budget: Budget) -> None:
    """Open the KB, set the limits, then analyse mails until the pipe closes.

    Sends ("ready", pid) once, then ("done", job_id, AnalyzedMail, leaving) per mail; ``leaving``
    says this worker exits after the mail (it went over budget or grew too big), so the
    dispatcher starts a fresh one.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    tune()
    from consult.analyzed import AnalyzedMail
    from consult.kb.store import KnowledgeBase
    from consult.pipeline import analyze_raw

    kb = KnowledgeBase(kb_path)
    memory = budget.memory_mb * 1024 * 1024
    base_size, base_rss = _statm()
    hard_as = resource.getrlimit(resource.RLIMIT_AS)[1]
    limit_as = base_size + memory
    if hard_as != resource.RLIM_INFINITY:
        limit_as = min(limit_as, hard_as)
    resource.setrlimit(resource.RLIMIT_AS, (limit_as, hard_as))
    signal.signal(signal.SIGXCPU, _on_sigxcpu)
    hard_cpu = resource.getrlimit(resource.RLIMIT_CPU)[1]
    try:
        conn.send(("ready", os.getpid()))
    except OSError:  # the pool closed while this worker was starting: nothing to do
        return
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        except MemoryError:  # the mail itself does not fit: it is the head of our queue
            with contextlib.suppress(Exception):
                conn.send(("done", None, AnalyzedMail(None, over_budget=budget.reason("memory")),
                           True))
            return
        if job is None:
            return
        job_id, raw, own = job
        soft = math.ceil(_cpu_used() + budget.cpu_seconds)
        if hard_cpu != resource.RLIM_INFINITY:
            soft = min(soft, hard_cpu)
        leaving = False
        try:
            resource.setrlimit(resource.RLIMIT_CPU, (soft, hard_cpu))
            try:
                result = analyze_raw(raw, kb, own_addresses=own)
            finally:
                resource.setrlimit(resource.RLIMIT_CPU, (hard_cpu, hard_cpu))
            if _memory_error(result):
                result, leaving = AnalyzedMail(None, over_budget=budget.reason("memory")), True
        except _OverCpu:
            result, leaving = AnalyzedMail(None, over_budget=budget.reason("cpu")), True
        except MemoryError:
            result, leaving = AnalyzedMail(None, over_budget=budget.reason("memory")), True
        if not leaving and len(raw) >= BIG_MAIL:
            trim()  # a big mail's pages back to the system before measuring what is left
        if not leaving and _statm()[1] > base_rss + memory // 2:
            leaving = True  # fragmented after a big mail: start afresh
        try:
            conn.send(("done", job_id, result, leaving))
        except (OSError, ValueError):
            return
        if leaving:
            return


# -- the dispatcher (in the service's process) -------------------------------------------------
@dataclass
class _Job:
    id: int
    raw: bytes
    own: frozenset[str]
    future: Future[AnalyzedMail | None]
    deadline: float = 0.0


@dataclass
class _Worker:
    proc: Any
    conn: Connection
    started: float
    ready: bool = False
    jobs: deque[_Job] = field(default_factory=deque)


class AnalysisPool:
    """Prepares mail in ``workers`` budgeted processes; see the module docstring.

    ``start(raws, own)`` queues a chunk and returns at once (the workers run ahead while the
    caller fetches and writes); ``analyze`` is ``start`` plus every result, in order, as a
    ``consult.intake.BatchAnalyzer``. Thread-safe: the processor and every IMAP watcher may
    share one.
    """

    def __init__(self, kb_path: Path | str, *, workers: int = 2, min_batch: int = MIN_BATCH,
                 task_mails: int = DEPTH, timeout: float | None = None,
                 budget: Budget | None = None) -> None:
        self.kb_path = str(kb_path)
        self.workers, self.min_batch = max(1, workers), max(1, min_batch)
        self.depth = max(1, min(task_mails, DEPTH))
        base = budget or Budget()
        self.budget = base if timeout is None else Budget(base.cpu_seconds, timeout,
                                                          base.memory_mb)
        self.failures = 0  # workers in a row that died before they were ready
        self.broken = False
        self.over_budget = 0  # mails answered over budget (tests, bench)
        self._lock = threading.Lock()
        self._queue: deque[_Job] = deque()
        self._pool: list[_Worker] = []
        self._next_id = 0
        self._thread: threading.Thread | None = None
        self._closing = False
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._ctx: Any = None
        self._warm = 1  # workers kept started with nothing queued (``warm_up``)

    # -- public ---------------------------------------------------------------------------------
    def start(self, raws: Sequence[bytes], own: frozenset[str]) -> QueuedChunk:
        """Queue a chunk; never raises for a pool problem (the chunk is then done in process)."""
        futures: list[Future[AnalyzedMail | None]] = []
        if len(raws) >= self.min_batch and not self.broken:
            with self._lock:
                for raw in raws:
                    future: Future[AnalyzedMail | None] = Future()
                    self._next_id += 1
                    self._queue.append(_Job(self._next_id, raw, own, future))
                    futures.append(future)
            try:
                self._ensure_thread()
            except Exception as exc:
                self.fail(exc)
        return QueuedChunk(self, raws if futures else [], futures)

    def analyze(self, raws: Sequence[bytes], own: frozenset[str]) -> Iterator[AnalyzedMail | None]:
        """``start`` and take every result, in order (a ``consult.intake.BatchAnalyzer``)."""
        ahead = self.start(raws, own)
        try:
            yield from ahead.results(raws)
        finally:
            ahead.close()

    def warm_up(self, workers: int = 1) -> None:
        """Start ``workers`` workers now (at most the pool's size), so the first mail does not
        wait for them: serve starts one (an idle service keeps one worker's memory), `consult
        poll --once` all of them while it opens the database and fetches the first chunk."""
        if not self.broken:
            self._warm = max(1, min(workers, self.workers))
            self._ensure_thread()
            self._wake()

    def fail(self, exc: BaseException, _executor: object = None) -> None:
        """Give up on the pool: every queued and later mail is done in process."""
        if not self.broken:
            log.warning("analysis pool failed (%s: %s); analysing in process from now on",
                        type(exc).__name__, exc)
        self.broken = True
        self._drain(None)
        self._wake()

    def close(self) -> None:
        """Stop the workers (with the service); queued mails get None (done in process)."""
        self._closing = True
        self._wake()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(10)
        for worker in list(self._pool):
            for job in worker.jobs:  # nobody may wait for these forever
                self._finish(job, None)
            worker.jobs.clear()
            # one still starting holds no mail: waiting for it to finish starting up (the
            # forkserver's imports, the KB) would only delay the exit of an idle poll
            self._stop(worker, kill=not worker.ready)
        self._pool.clear()
        self._drain(None)

    # -- dispatcher -------------------------------------------------------------------------------
    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._closing = False
                self._thread = threading.Thread(target=self._run, name="analysis-pool",
                                                daemon=True)
                self._thread.start()
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    def _context(self) -> Any:
        if self._ctx is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(PRELOAD)
            self._ctx = ctx
        return self._ctx

    def _spawn(self) -> None:
        ctx = self._context()
        parent, child = ctx.Pipe(duplex=True)
        proc = ctx.Process(target=_worker_main, args=(child, self.kb_path, self.budget),
                           name="consult-analysis", daemon=True)
        proc.start()
        child.close()
        self._pool.append(_Worker(proc, parent, time.monotonic()))

    def _stop(self, worker: _Worker, *, kill: bool) -> None:
        with contextlib.suppress(Exception):
            if kill:
                worker.proc.kill()
            else:
                worker.conn.send(None)
        with contextlib.suppress(Exception):
            worker.conn.close()
        with contextlib.suppress(Exception):
            worker.proc.join(0 if kill else 2)
            if worker.proc.is_alive():
                worker.proc.kill()
                worker.proc.join(1)
        if worker in self._pool:
            self._pool.remove(worker)

    def _drain(self, value: AnalyzedMail | None) -> None:
        """Answer every queued (not yet sent) mail with ``value``."""
        with self._lock:
            jobs, self._queue = list(self._queue), deque()
        for job in jobs:
            self._finish(job, value)

    def _next_job(self) -> _Job | None:
        with self._lock:
            while self._queue:
                job = self._queue.popleft()
                if not job.future.cancelled():
                    return job
        return None

    def _finish(self, job: _Job, result: AnalyzedMail | None) -> None:
        if result is not None and result.over_budget and not job.future.done():
            self.over_budget += 1
        if not job.future.done():
            with contextlib.suppress(InvalidStateError):  # cancelled meanwhile
                job.future.set_result(result)

    def _lost(self, worker: _Worker, why: str, *, charge: bool = True) -> None:
        """A worker died or was killed: its current mail is answered over budget (``charge``),
        the mails queued behind it go back to the queue, and the worker is gone."""
        jobs = list(worker.jobs)
        worker.jobs.clear()
        if jobs:
            head, rest = jobs[0], jobs[1:]
            if not worker.ready or not charge:
                rest = jobs  # not the mail's fault
            else:
                from consult.analyzed import AnalyzedMail  # the caller has it loaded already

                log.warning("analysis worker %s: %s", worker.proc.pid, why)
                self._finish(head, AnalyzedMail(None, over_budget=why))
            with self._lock:
                self._queue.extendleft(reversed(rest))
        self._stop(worker, kill=True)

    def _fill(self) -> None:
        """Start workers as needed and give every ready one mails up to ``depth``."""
        while (not self.broken and len(self._pool) < self.workers
               and (self._queue or len(self._pool) < self._warm)):
            try:
                self._spawn()
            except Exception as exc:
                self.fail(exc)
                return
        now = time.monotonic()
        for worker in self._pool:
            if not worker.ready:
                continue
            while len(worker.jobs) < self.depth:
                job = self._next_job()
                if job is None:
                    return
                if not worker.jobs:
                    job.deadline = now + self.budget.wall_seconds
                try:
                    worker.conn.send((job.id, job.raw, job.own))
                except (OSError, ValueError):
                    worker.jobs.append(job)
                    # a worker that could not take a mail may have said why before it went
                    # (the mail did not fit its memory budget): that answer comes first
                    with contextlib.suppress(Exception):
                        if worker.conn.poll():
                            self._receive(worker)
                    if worker in self._pool:
                        self._lost(worker, "the analysis worker could not be reached")
                    self._wake()  # the next pass starts a worker for the mails sent back
                    return
                worker.jobs.append(job)

    def _run(self) -> None:
        try:
            while not self._closing:
                self._fill()
                deadlines = [w.jobs[0].deadline for w in self._pool if w.jobs]
                deadlines += [w.started + START_TIMEOUT for w in self._pool if not w.ready]
                timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
                readable = wait([self._wake_r, *[w.conn for w in self._pool]], timeout)
                if self._wake_r in readable:
                    with contextlib.suppress(OSError):
                        self._wake_r.recv(4096)
                for worker in list(self._pool):
                    if worker.conn in readable:
                        self._receive(worker)
                now = time.monotonic()
                for worker in list(self._pool):
                    if worker.jobs and worker.jobs[0].deadline <= now:
                        self._lost(worker, self.budget.reason("wall"))
                    elif not worker.ready and now - worker.started > START_TIMEOUT:
                        self._startup_failed(worker, "did not start in time")
        except Exception as exc:  # a bug here must not leave callers waiting forever
            log.exception("analysis pool dispatcher failed")
            self.fail(exc)
            for worker in list(self._pool):
                for job in worker.jobs:
                    self._finish(job, None)
                worker.jobs.clear()
                self._stop(worker, kill=True)

    def _startup_failed(self, worker: _Worker, why: str) -> None:
        self.failures += 1
        log.warning("analysis worker %s %s (%s of %s)", worker.proc.pid, why, self.failures,
                    MAX_FAILURES)
        self._lost(worker, why)
        if self.failures >= MAX_FAILURES:
            self.fail(RuntimeError(f"{MAX_FAILURES} analysis workers in a row failed to start"))

    def _receive(self, worker: _Worker) -> None:
        try:
            message = worker.conn.recv()
        except (EOFError, OSError):
            with contextlib.suppress(Exception):
                worker.proc.join(1)
            code = worker.proc.exitcode
            if not worker.ready:
                self._startup_failed(worker, f"exited before it was ready (code {code})")
            else:
                self._lost(worker, "over the analysis budget: the analysis worker died on this "
                                   f"mail (exit code {code}; out of memory, or a parser crash)")
            return
        if message[0] == "ready":
            worker.ready = True
            self.failures = 0
            return
        _, job_id, result, leaving = message
        if worker.jobs and job_id in (None, worker.jobs[0].id):  # None: the one it was on
            job = worker.jobs.popleft()
            self._finish(job, result)
            if worker.jobs:
                worker.jobs[0].deadline = time.monotonic() + self.budget.wall_seconds
        if leaving:
            self._lost(worker, "replaced", charge=False)


class QueuedChunk:
    """One chunk queued in the pool: its results, looked up by the mail's bytes."""

    def __init__(self, pool: AnalysisPool, raws: Sequence[bytes],
                 futures: list[Future[AnalyzedMail | None]]) -> None:
        self.pool, self.futures = pool, futures
        self.where: dict[bytes, int] = {}
        for pos, raw in enumerate(raws):
            self.where.setdefault(raw, pos)

    def results(self, raws: Sequence[bytes]) -> Iterator[AnalyzedMail | None]:
        """One result per mail of ``raws``, in order; None for a mail the pool was not given
        or could not do (the caller does it itself)."""
        for raw in raws:
            pos = self.where.get(raw)
            if pos is None:
                yield None
                continue
            future = self.futures[pos]
            try:
                yield future.result()
            except Exception:  # cancelled: the caller does it itself
                yield None

    def close(self) -> None:
        """Drop what nobody asked for (mail the database already had)."""
        for future in self.futures:
            future.cancel()
