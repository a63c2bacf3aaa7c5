"""`consult extract` and `consult draft`: run the core on a mail file without touching the DB."""

from __future__ import annotations

import json
from pathlib import Path

import click

from consult.cli.common import CliState, echo


def _read(path: Path) -> bytes:
    if str(path) == "-":
        import sys

        return sys.stdin.buffer.read()
    return path.read_bytes()


@click.command("extract")
@click.argument("file", type=click.Path(path_type=Path, allow_dash=True))
@click.option("--json", "as_json", is_flag=True, help="Print the DESIGN.md JSON shape.")
@click.pass_obj
def extract_cmd(state: CliState, file: Path, as_json: bool) -> None:
    """Print the codes, question, date of service and payer found in FILE (an .eml)."""
    from consult.pipeline import analyze

    result = analyze(_read(file), state.kb, with_draft=False)
    data = result.extraction.to_json(result.mail.kind)
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    echo(f"kind: {data['kind']}")
    for c in data["codes"]:
        mods = "-" + "-".join(c["modifiers"]) if c["modifiers"] else ""
        flag = "" if c["known"] else "  (not in KB)"
        echo(f"  {c['system']:8} {c['code']}{mods} x{c['units']} [{c['where']}] "
                   f"{c['description']}{flag}")
    echo(f"question: {data['question']}")
    echo(f"date of service: {data['date_of_service']}  payer: {data['payer']}")


@click.command("draft")
@click.argument("file", type=click.Path(path_type=Path, allow_dash=True))
@click.option("--json", "as_json", is_flag=True, help="Print extraction, findings, reply_text.")
@click.pass_obj
def draft_cmd(state: CliState, file: Path, as_json: bool) -> None:
    """Print the findings and the drafted reply for FILE (an .eml)."""
    from consult.pipeline import analyze

    result = analyze(_read(file), state.kb)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
        return
    for f in result.findings:
        echo(f"[{f.severity}] {f.rule} {', '.join(f.codes)}: {f.detail} ({f.source})")
    echo()
    echo(result.draft.text if result.draft else f"(no draft: {result.mail.kind})")


def register(group: click.Group) -> None:
    group.add_command(extract_cmd)
    group.add_command(draft_cmd)
