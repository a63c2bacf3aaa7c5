"""A small process pool for the CPU-heavy, pure part of intake (parse, extract, evaluate).

The intake of a chunk is CPU-bound and Python runs it on one core; parsing and analysis need
only the raw bytes, our own addresses and the KB file, so worker processes can do them while the
poller's process does the database work, threading and the draft (which needs the case id).

Edges only: each worker opens the KB read-only once (the initializer), and the pool is made on
the first chunk big enough to pay for it, then kept until ``close``. It never decides anything:
a chunk too small, a pool that cannot start, breaks, or does not answer in time yields None for
the mails concerned, and the intake does them in its own process, as without a pool. So a broken
pool costs speed, never mail.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from consult.kb.store import KnowledgeBase
from consult.pipeline import Prepared, prepare

log = logging.getLogger(__name__)

#: Fewer new mails than this in a chunk: not worth the round trips, done in process.
MIN_BATCH = 32
#: Mails per task: big enough to amortise pickling, small enough to stream results early.
TASK_MAILS = 16
#: Seconds a task may take before the pool counts as hung (a task is ~16 x 2 ms).
TASK_TIMEOUT = 120.0
#: After this many failures the pool is not made again; the poller goes on in process.
MAX_FAILURES = 3

# The worker's KB, set by ``_init_worker`` in each worker process (never in the poller's).
_worker_kb: KnowledgeBase | None = None


def _init_worker(kb_path: str) -> None:
    """Open the KB once per worker, read-only, instead of once per task."""
    global _worker_kb
    _worker_kb = KnowledgeBase(kb_path)


def _prepare_many(raws: list[bytes], own: frozenset[str]) -> list[Prepared]:
    """Worker side: ``consult.pipeline.prepare`` on each mail (it never raises for a mail)."""
    assert _worker_kb is not None, "worker started without _init_worker"
    return [prepare(raw, _worker_kb, own_addresses=own) for raw in raws]


class AnalysisPool:
    """Prepares chunks of mail in ``workers`` processes; see the module docstring."""

    def __init__(self, kb_path: Path | str, *, workers: int = 2, min_batch: int = MIN_BATCH,
                 task_mails: int = TASK_MAILS, timeout: float = TASK_TIMEOUT) -> None:
        self.kb_path = str(kb_path)
        self.workers, self.min_batch, self.task_mails = workers, min_batch, task_mails
        self.timeout = timeout
        self.failures = 0
        self._executor: ProcessPoolExecutor | None = None

    def _ensure(self) -> ProcessPoolExecutor | None:
        if self._executor is None and self.failures < MAX_FAILURES:
            # forkserver, not fork: the poller may run threads (IDLE, scheduler, DB pools)
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["consult.pipeline", "consult.kb.store"])
            self._executor = ProcessPoolExecutor(
                self.workers, mp_context=ctx, initializer=_init_worker, initargs=(self.kb_path,))
        return self._executor

    def start(self, raws: Sequence[bytes], own: frozenset[str]) -> Ahead:
        """Submit a chunk now, so the workers run ahead while the poller fetches, writes and
        moves; ``Ahead.results`` hands out what the intake asks for. Never raises for a pool
        problem: it logs, drops the pool, and the chunk is then analysed in process."""
        futures: list[Future[list[Prepared]]] = []
        executor = None
        if len(raws) >= self.min_batch:
            try:
                executor = self._ensure()
                if executor is not None:
                    for begin in range(0, len(raws), self.task_mails):
                        futures.append(executor.submit(
                            _prepare_many, list(raws[begin:begin + self.task_mails]), own))
            except Exception as exc:
                self.fail(exc, executor)
                for future in futures:
                    future.cancel()
                futures = []
        return Ahead(self, executor, raws if futures else [], futures)

    def prepare(self, raws: Sequence[bytes], own: frozenset[str]) -> Iterator[Prepared | None]:
        """``start`` and take every result, in order (a ``consult.intake.Preparer``)."""
        ahead = self.start(raws, own)
        try:
            yield from ahead.results(raws)
        finally:
            ahead.close()

    def fail(self, exc: BaseException, executor: ProcessPoolExecutor | None) -> None:
        """Drop the pool (killing a hung worker); the next big chunk makes a new one.

        Only when ``executor`` is still the current pool: a chunk submitted to a pool already
        dropped fails too, and must neither count again nor stop its successor."""
        if executor is None or executor is not self._executor:
            return
        self.failures += 1
        log.warning("analysis pool failed (%s: %s); analysing in process%s",
                    type(exc).__name__, exc,
                    "" if self.failures < MAX_FAILURES else " from now on")
        self._shutdown(kill=True)

    def _shutdown(self, *, kill: bool) -> None:
        executor, self._executor = self._executor, None
        if executor is None:
            return
        if kill:  # a hung worker would keep shutdown waiting; it only held pure work
            for proc in list(getattr(executor, "_processes", {}).values()):
                proc.kill()
        executor.shutdown(wait=not kill, cancel_futures=True)

    def close(self) -> None:
        """Stop the workers (with the poller)."""
        self._shutdown(kill=False)


class Ahead:
    """One chunk submitted to the pool: its results, looked up by the mail's bytes."""

    def __init__(self, pool: AnalysisPool, executor: ProcessPoolExecutor | None,
                 raws: Sequence[bytes], futures: list[Future[list[Prepared]]]) -> None:
        self.pool, self.executor, self.futures = pool, executor, futures
        self.where: dict[bytes, int] = {}
        for pos, raw in enumerate(raws):
            self.where.setdefault(raw, pos)
        self.done: dict[int, list[Prepared]] = {}
        self.broken = not futures

    def _task(self, number: int) -> list[Prepared] | None:
        if number not in self.done and not self.broken:
            try:
                self.done[number] = self.futures[number].result(timeout=self.pool.timeout)
            except Exception as exc:
                self.pool.fail(exc, self.executor)
                self.broken = True
        return self.done.get(number)

    def results(self, raws: Sequence[bytes]) -> Iterator[Prepared | None]:
        """One result per mail of ``raws``, in order; None for a mail the pool was not given
        or could not do (the caller does it itself)."""
        for raw in raws:
            pos = self.where.get(raw)
            task = None if pos is None else self._task(pos // self.pool.task_mails)
            yield None if task is None or pos is None else task[pos % self.pool.task_mails]

    def close(self) -> None:
        """Drop what nobody asked for (mail the database already had)."""
        for future in self.futures:
            future.cancel()
