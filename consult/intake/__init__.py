"""Intake: store the raw bytes first, then parse, thread, analyse and put a draft in the queue.

Nothing is ever lost: the exact bytes are stored before anything can fail, and a mail that
cannot be handled becomes a quarantined case with the reason, never an exception that stops the
worker and never an automatic answer. Callers own the transaction (commit after a batch).

| module | does |
|---|---|
| ``store`` | the raw bytes, the per-sender quota, stored mail still to process |
| ``thread`` | which case a mail answers (reply token, thread headers, authenticated tag) |
| ``plan`` | ``plan_new_case``: the rows a mail that starts a case writes (pure) |
| ``process`` | one mail at a time in the per-message runner (ORM): ``ingest``, the processor |
| ``batch`` | ``ingest_batch``: a chunk's new cases in multi-row Core inserts (the poller) |
"""

from consult.intake.batch import Arrival, ingest_batch
from consult.intake.plan import IntakeResult, NewCase, Outcome, plan_new_case
from consult.intake.process import (
    BatchAnalyzer,
    in_process,
    ingest,
    own_addresses,
    process_message,
    process_parsed,
    process_pending,
    quarantine_raw,
)
from consult.intake.store import check_quota, has_pending, pending, store_raw, stored_bytes

__all__ = [
    "Arrival",
    "BatchAnalyzer",
    "IntakeResult",
    "NewCase",
    "Outcome",
    "check_quota",
    "has_pending",
    "in_process",
    "ingest",
    "ingest_batch",
    "own_addresses",
    "pending",
    "plan_new_case",
    "process_message",
    "process_parsed",
    "process_pending",
    "quarantine_raw",
    "store_raw",
    "stored_bytes",
]
