"""Pages of a listing: a caller asks for ``limit`` rows from ``offset`` and is told whether more
follow, so no listing is ever cut without saying so.

The rows are fetched with one extra (``limit + 1``): the extra row says "there is more" without
a second ``count(*)`` query over the same filters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

#: The largest page a caller may ask for (CLI and API); a listing is never unbounded.
MAX_LIMIT = 10_000


@dataclass(frozen=True)
class Page(Generic[T]):
    """``limit`` rows at most from ``offset``; ``more``: rows follow after these."""

    items: list[T]
    offset: int
    limit: int
    more: bool

    @property
    def next_offset(self) -> int | None:
        """Where the next page starts, or None on the last page."""
        return self.offset + len(self.items) if self.more else None

    def notice(self, noun: str = "cases") -> str:
        """One line saying the listing was cut and how to get the rest ('' when it was not)."""
        if not self.more:
            return ""
        first, last = self.offset + 1, self.offset + len(self.items)
        return (f"Showing {noun} {first}-{last}; more follow: add --offset {self.next_offset} "
                f"for the next {self.limit} (or a larger --limit).")


def fetch_size(limit: int) -> int:
    """How many rows to fetch for a page of ``limit``: one more, to know whether more follow."""
    return limit + 1


def page_of(rows: Sequence[T], *, limit: int, offset: int) -> Page[T]:
    """The page from rows fetched with ``fetch_size(limit)`` at ``offset`` (pure)."""
    return Page(list(rows[:limit]), offset, limit, len(rows) > limit)
