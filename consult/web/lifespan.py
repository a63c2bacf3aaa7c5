"""The lifespan both apps use: a worker process's background jobs start with the app and stop
with it, whether it serves the pages (``consult.web.app``) or only the ops endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI


def hooked(on_startup: Callable[[], None] | None,
           on_shutdown: Callable[[], None] | None) -> Callable[[FastAPI], Any]:
    """A lifespan that calls ``on_startup`` before serving and ``on_shutdown`` after, even when
    serving fails."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if on_startup:
            on_startup()
        try:
            yield
        finally:
            if on_shutdown:
                on_shutdown()

    return lifespan
