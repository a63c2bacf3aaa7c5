"""What every command shares: settings, the KB and the database, made once per invocation;
``echo`` for lines that carry mail text (names, addresses, subjects, bodies)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from consult.display import neutralize

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from consult.config import Settings
    from consult.kb.store import KnowledgeBase


@dataclass
class CliState:
    """Lazily built resources; a command that needs no DB never opens one."""

    settings_factory: Callable[[], Settings]
    _settings: Settings | None = None
    _kb: KnowledgeBase | None = None
    _engine: Engine | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from consult.private import make_private

            self._settings = self.settings_factory()
            make_private(self._settings.home)
        return self._settings

    @property
    def kb(self) -> KnowledgeBase:
        if self._kb is None:
            from consult.kb.locate import ensure_kb

            self._kb = ensure_kb(self.settings,
                                 notify=lambda message: click.echo(f"consult: {message}",
                                                                   err=True))
        return self._kb

    @property
    def engine(self) -> Engine:
        """The case database, migrated to the current schema on first use."""
        if self._engine is None:
            from db.engine import make_engine, upgrade

            self._engine = make_engine(self.settings.resolved_database_url)
            upgrade(self._engine)
        return self._engine

    def close(self) -> None:
        """Close the database connections and the KB this command opened (click calls it when
        the command is done): a SQLite file is checkpointed and a PostgreSQL session ends
        cleanly, not by the process going away."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        if self._kb is not None:
            self._kb.close()
            self._kb = None


def echo(line: str = "", *, err: bool = False) -> None:
    """``click.echo`` for text from mail: bidirectional and control characters (a terminal
    escape sequence in a subject) are printed as visible markers, never sent to the terminal."""
    click.echo(neutralize(line), err=err)
