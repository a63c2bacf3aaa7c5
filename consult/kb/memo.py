"""Per-process memory of KB lookups.

A KB file is read-only and versioned, so the answer to ``kb.code("43239")`` never changes for
the life of a ``KnowledgeBase``. A mail asks the same few dozen questions of it (the codes it
names, their PFS rows, ICD-10-CM notes), and consecutive mails ask many of the same again: an
indexed SQLite query plus building the record costs 20-90 us, a cache hit well under 1 us. Each
KB instance has its own bounded caches (``functools.lru_cache``, thread-safe), so opening a new
KB file starts afresh and memory stays bounded.

Records are frozen dataclasses and can be shared; a list or dict result is copied on the way
out so that a caller that sorts or extends it cannot change what the next caller sees.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

#: entries per lookup and KB: the codes, pairs and notes a busy desk sees in a day fit, and
#: the largest records (a code's ICD-10-CM notes) keep the whole set to a few MB
MAXSIZE = 4096


class _HasMemos(Protocol):
    _memos: dict[str, Callable[..., Any]]


S = TypeVar("S", bound=_HasMemos)


def _as_is(value: Any) -> Any:
    return value


def copy_list(value: list[Any]) -> list[Any]:
    return list(value)


def copy_dict(value: dict[Any, Any]) -> dict[Any, Any]:
    return dict(value)


def copy_dict_of_lists(value: dict[Any, list[Any]]) -> dict[Any, list[Any]]:
    return {k: list(v) for k, v in value.items()}


def memo(copy: Callable[[Any], Any] = _as_is
         ) -> Callable[[Callable[Concatenate[S, P], R]], Callable[Concatenate[S, P], R]]:
    """Remember a read-only lookup method's results per instance (arguments must hash)."""

    def wrap(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
        name = method.__name__

        @functools.wraps(method)
        def cached(self: S, *args: P.args, **kwargs: P.kwargs) -> R:
            lookup: Callable[..., Any] | None = self._memos.get(name)
            if lookup is None:
                made: Callable[..., Any] = functools.lru_cache(MAXSIZE)(
                    functools.partial(method, self))
                lookup = self._memos[name] = made
            result: R = copy(lookup(*args, **kwargs))
            return result

        return cached

    return wrap
