"""Give freed memory back to the system after a burst (glibc only; a no-op elsewhere).

A long-running worker that took in a few big mails keeps their peak: CPython frees the
buffers, but glibc keeps freed heap pages, and after freeing one big mmapped buffer it raises
its mmap threshold (up to 32 MB), so the next big buffers come from the heap and stay there.
Each thread that allocates also gets its own arena (up to 8 per core), each keeping its own
free pages. ``tune`` fixes the mmap threshold (a buffer of 1 MiB or more is its own mapping,
unmapped when freed) and caps the arenas, before the service starts its threads; ``trim``
hands free heap pages back (``malloc_trim``) after a batch of mail.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from functools import cache
from typing import Any

log = logging.getLogger(__name__)

#: mallopt parameters (malloc.h)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8
#: Buffers this big or bigger are mapped on their own and unmapped when freed.
MMAP_THRESHOLD = 1024 * 1024
#: Arenas for the service's threads (web, watchers, scheduler, listener): their allocations
#: are short-lived, so sharing costs little and every arena's free pages are memory kept.
ARENA_MAX = 2


@cache
def _libc() -> Any:
    """glibc, or None (musl, macOS: nothing to tune)."""
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim, libc.mallopt  # noqa: B018 - glibc has both
    except (OSError, AttributeError):
        return None
    return libc


def tune() -> bool:
    """Fix the mmap threshold and cap the arenas; call before starting threads. Whether done."""
    libc = _libc()
    if libc is None:
        return False
    ok = bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    ok = bool(libc.mallopt(M_TRIM_THRESHOLD, 2 * MMAP_THRESHOLD)) and ok
    return bool(libc.mallopt(M_ARENA_MAX, ARENA_MAX)) and ok


def trim() -> None:
    """Return free heap pages to the system (a few ms; after a batch, not per mail)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
