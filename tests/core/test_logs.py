"""Log records never carry patient identifiers through."""

from __future__ import annotations

import logging

import pytest

from consult.logs import RedactingFilter, redact


def test_redact_masks_identifiers() -> None:
    line = ("mail from jane.doe@clinic.example about MRN: 448812, DOB 03/14/1961, "
            "ssn 123-45-6789, call (217) 555-0142")
    out = redact(line)
    for secret in ("jane.doe@clinic.example", "448812", "03/14/1961", "123-45-6789", "555-0142"):
        assert secret not in out
    assert "43214" in redact("codes 43214 and 43200")


def test_filter_masks_formatted_arguments(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("consult.test.redaction")
    handler = caplog.handler
    handler.addFilter(RedactingFilter())
    try:
        with caplog.at_level(logging.INFO, logger="consult.test.redaction"):
            logger.info("quarantined mail from %s", "pat@home.example")
    finally:
        handler.filters.clear()
    assert "pat@home.example" not in caplog.text and "[email]" in caplog.text
