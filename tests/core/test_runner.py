"""The per-message runner: a failing item is recorded and the run goes on; a failure that
stops the run leaves the rest for the next one; recording errors are never swallowed."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import pytest

from consult.runner import Runner


class Relay(Exception):
    pass


def test_a_failing_item_is_recorded_and_the_next_one_runs(
        caplog: pytest.LogCaptureFixture) -> None:
    done: list[int] = []

    def handle(n: int) -> str:
        if n == 2:
            raise ValueError("Jane Doe's mail broke the parser")
        done.append(n)
        return f"ok {n}"

    runner = Runner("test", handle=handle, on_failure=lambda n, exc: f"quarantined {n}",
                    label=lambda n: f"item #{n}")
    with caplog.at_level(logging.ERROR, logger="consult.runner"):
        report = runner.run([1, 2, 3])
    assert report.results == ["ok 1", "quarantined 2", "ok 3"]
    assert done == [1, 3] and report.failures == 1 and report.left == []
    assert [r.getMessage() for r in caplog.records] == [
        "test: item #2 failed (ValueError); recorded, going on"]


def test_the_boundary_undoes_a_failed_item_before_it_is_recorded() -> None:
    state: list[str] = []

    @contextlib.contextmanager
    def savepoint() -> Iterator[None]:
        mark = len(state)
        try:
            yield
        except Exception:
            del state[mark:]
            raise

    def handle(n: int) -> int:
        state.append(f"half-written {n}")
        if n == 2:
            raise RuntimeError("constraint")
        return n

    def record(n: int, exc: Exception) -> int:
        state.append(f"quarantined {n}")
        return -n

    report = Runner("test", handle=handle, on_failure=record, boundary=savepoint).run([1, 2, 3])
    assert report.results == [1, -2, 3]
    assert state == ["half-written 1", "quarantined 2", "half-written 3"]


def test_a_failure_that_stops_the_run_leaves_the_rest(caplog: pytest.LogCaptureFixture) -> None:
    def handle(n: int) -> int:
        if n == 2:
            raise Relay("421 closing")
        return n

    runner = Runner("test", handle=handle, on_failure=lambda n, exc: 0,
                    stops_run=lambda exc: isinstance(exc, Relay), expected=(Relay,))
    with caplog.at_level(logging.ERROR, logger="consult.runner"):
        report = runner.run([1, 2, 3, 4])
    assert report.results == [1, 0] and report.left == [3, 4]
    assert not caplog.records  # an expected failure is the recorder's to report


def test_recording_errors_propagate() -> None:
    def broken_record(n: int, exc: Exception) -> int:
        raise ConnectionError("database down")

    runner = Runner("test", handle=lambda n: 1 / 0, on_failure=broken_record)
    with pytest.raises(ConnectionError):
        runner.run_one(1)
    sent: list[int] = []

    def mark_sent(n: int, _result: int) -> None:
        sent.append(n)
        raise ConnectionError("database down after the delivery")

    runner = Runner("test", handle=lambda n: n, on_failure=lambda n, exc: 0, on_success=mark_sent)
    with pytest.raises(ConnectionError):  # never counted as a failed delivery (no resend)
        runner.run([5, 6])
    assert sent == [5]
