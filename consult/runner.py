"""One item at a time, each in its own failure boundary: Mailman's runner, written once.

Every worker handles a stream of items (stored mails, fetched IMAP mails, outbox rows), and one
bad item must never stop the others. ``Runner.run_one(item)`` calls the handler; when it raises,
the failure is logged (the class and the item's label, the traceback through the redacting
formatter), the item is *recorded* by ``on_failure`` (a mail is quarantined with its bytes and
the reason; an outbox row gets its attempt counted and a retry time) and the run goes on. A
failure that says the rest would fail too (the relay is down) stops the run: ``stops_run``.

If recording itself fails, the error propagates: that is the database being down, and the
caller's caller (the scheduler, the poller's reconnect loop) retries the whole run later.

``boundary`` wraps the handler and the recorder each (e.g. ``session.begin_nested``): a failed
item's half-done writes are undone before it is recorded, and the items before it keep theirs.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass
class RunReport(Generic[Item, Result]):
    """What a run did: a result per item handled or recorded, and the items it left (after a
    failure that stops the run), for the next run."""

    results: list[Result] = field(default_factory=list)
    left: list[Item] = field(default_factory=list)
    failures: int = 0


@dataclass
class Runner(Generic[Item, Result]):
    """Handles items one by one; see the module docstring.

    ``expected``: exception classes that are an ordinary outcome of an item (a relay's
    refusal); the recorder says what happened, the runner logs no traceback for them.
    """

    name: str
    handle: Callable[[Item], Result]
    on_failure: Callable[[Item, Exception], Result]
    label: Callable[[Item], str] = str
    boundary: Callable[[], AbstractContextManager[Any]] | None = None
    stops_run: Callable[[Exception], bool] = lambda _exc: False
    expected: tuple[type[Exception], ...] = ()
    #: Records a handled item (e.g. marks an outbox row sent), outside the failure boundary:
    #: an error here propagates, since the item's effect (a delivered mail) cannot be undone.
    on_success: Callable[[Item, Result], None] | None = None

    def _guard(self) -> AbstractContextManager[Any]:
        return self.boundary() if self.boundary is not None else contextlib.nullcontext()

    def run_one(self, item: Item) -> Result:
        """The item's result, or what ``on_failure`` recorded for it; raises only when
        recording fails (or with ``stopped``, see ``run``)."""
        result, _exc = self._run_one(item)
        return result

    def _run_one(self, item: Item) -> tuple[Result, Exception | None]:
        try:
            with self._guard():
                result = self.handle(item)
        except Exception as exc:
            if not isinstance(exc, self.expected):
                # the class in the message; the traceback goes through the redacting formatter
                log.error("%s: %s failed (%s); recorded, going on", self.name, self.label(item),
                          type(exc).__name__, exc_info=exc)
            with self._guard():
                return self.on_failure(item, exc), exc
        if self.on_success is not None:
            self.on_success(item, result)
        return result, None

    def run(self, items: Iterable[Item]) -> RunReport[Item, Result]:
        """Every item once, in order, until one fails in a way that ``stops_run``."""
        report: RunReport[Item, Result] = RunReport()
        pending = list(items)
        for number, item in enumerate(pending):
            result, exc = self._run_one(item)
            report.results.append(result)
            if exc is None:
                continue
            report.failures += 1
            if self.stops_run(exc):
                report.left = pending[number + 1:]
                break
        return report
