"""`consult migrate`: bring the case database to the current schema, once, before instances
start (deploy/ runs it as a one-shot step, so several processes never race to migrate)."""

from __future__ import annotations

import click

from consult.cli.common import CliState, echo


@click.command("migrate")
@click.pass_obj
def migrate_cmd(state: CliState) -> None:
    """Migrate the case database to this version's schema and print its revision.

    Every command that opens the database does this on first use; run it on its own before
    starting several instances on one PostgreSQL (the systemd units and the compose file do).
    """
    from sqlalchemy import text

    with state.engine.connect() as conn:  # opening the engine runs the migrations
        revisions = sorted(r[0] for r in conn.execute(text(
            "SELECT version_num FROM alembic_version")))
    echo(f"Case database at schema revision {', '.join(revisions)}.")


def register(group: click.Group) -> None:
    group.add_command(migrate_cmd)
