"""Fixtures for the mail tests: the shared corpus (read in place, never copied) and builders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CORPUS = Path(os.environ.get("CONSULT_MAIL_CORPUS", "/work/shared/data/mail-corpus"))


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The shared robustness corpus; tests that need it skip when it is absent."""
    if not (CORPUS / "MANIFEST.tsv").exists():
        pytest.skip(f"mail corpus not found at {CORPUS} (set CONSULT_MAIL_CORPUS)")
    return CORPUS
