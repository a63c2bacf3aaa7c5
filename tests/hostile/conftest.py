"""Fixtures for the hostile-mail tests (issue 13): settings with budgets, a listener, a pool."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from intake.conftest import imap_settings  # noqa: F401  (the IMAP tests' fixture, shared)

from workers.analysis_pool import AnalysisPool, Budget


@pytest.fixture
def make_pool(starter_kb_path: Path) -> Iterator[Callable[..., AnalysisPool]]:
    """Budgeted analysis pools on the starter KB, closed after the test."""
    pools: list[AnalysisPool] = []

    def make(**budget: Any) -> AnalysisPool:
        pool = AnalysisPool(starter_kb_path, workers=budget.pop("workers", 1),
                            budget=Budget(**budget))
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.close()
