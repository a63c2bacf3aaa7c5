"""`consult kb ...` and `consult suggest`: build, update and inspect the knowledge base."""

from __future__ import annotations

import json
from pathlib import Path

import click

from consult.cli.common import CliState


@click.group("kb")
def kb_group() -> None:
    """Build, update and inspect the code knowledge base."""


@kb_group.command("build")
@click.option("--out", "out", type=click.Path(path_type=Path), help="KB file to write.")
@click.pass_obj
def kb_build(state: CliState, out: Path | None) -> None:
    """Build the starter KB (atomically) and print a summary."""
    from consult.kb.build import build_kb

    target = out or state.settings.resolved_kb_path
    report = build_kb(target, progress=lambda m: click.echo(f"  {m}", err=True))
    for s in report.sources:
        click.echo(f"{s.name:24} {s.version:18} {s.rows:>9} rows")
    click.echo(f"KB written to {report.path}")


@click.command("suggest")
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--limit", default=10, show_default=True, help="How many candidates.")
@click.pass_obj
def suggest(state: CliState, text: str, as_json: bool, limit: int) -> None:
    """Ranked candidate codes for a free-text narrative."""
    results = state.kb.suggest(text, limit=limit)
    if as_json:
        click.echo(json.dumps([
            {"system": s.system, "code": s.code, "description": s.description, "score": s.score}
            for s in results
        ], indent=2))
        return
    for s in results:
        click.echo(f"{s.score:8.3f}  {s.system:8} {s.code:9} {s.description}")


def register(group: click.Group) -> None:
    group.add_command(kb_group)
    group.add_command(suggest)
