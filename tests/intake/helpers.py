"""Small helpers shared by the intake tests."""

from __future__ import annotations

from typing import Any

from sqlmodel import func, select

from db.engine import session


def count(engine: Any, model: Any, *where: Any) -> int:
    """Rows of ``model`` matching ``where``."""
    with session(engine) as s:
        query = select(func.count()).select_from(model)
        for cond in where:
            query = query.where(cond)
        return int(s.exec(query).one())
