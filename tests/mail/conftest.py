"""Fixtures for the mail tests: the shared corpus (read in place, never copied) and builders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support.paths import MAIL_CORPUS
from support.servers import require

CORPUS = Path(os.environ.get("CONSULT_MAIL_CORPUS", MAIL_CORPUS))


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The shared robustness corpus; tests that need it skip when it is absent."""
    if not (CORPUS / "MANIFEST.tsv").exists():
        require(False, f"the mail corpus at {CORPUS} (set CONSULT_MAIL_CORPUS)")
    return CORPUS
