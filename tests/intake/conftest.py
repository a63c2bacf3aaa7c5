"""Helpers for the IMAP and intake tests: settings pointing at a private Dovecot, counters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from support.servers import Dovecot

from consult.config import Settings


@pytest.fixture
def imap_settings(make_settings: Callable[..., Settings]) -> Callable[..., Settings]:
    """Settings for one Dovecot and one database; keyword overrides on top."""

    def make(dovecot: Dovecot, db_url: str, **extra: Any) -> Settings:
        values: dict[str, Any] = dict(
            database_url=db_url, imap_host="127.0.0.1", imap_port=dovecot.port,
            imap_user=dovecot.user, imap_password=dovecot.password, imap_ssl="none",
            imap_processed_folder="Processed", secret_key="test-signing-key-0123456789",
            imap_backoff_max_seconds=1.0)
        values.update(extra)
        return make_settings(**values)

    return make
