"""Every CLI command explains itself: a command without help text is a defect."""

from __future__ import annotations

import click
from click.testing import CliRunner

from consult.cli import cli


def _walk(group: click.Group, prefix: str = ""):  # type: ignore[no-untyped-def]
    for name, cmd in group.commands.items():
        yield f"{prefix}{name}", cmd
        if isinstance(cmd, click.Group):
            yield from _walk(cmd, f"{prefix}{name} ")


def test_every_command_has_help() -> None:
    commands = dict(_walk(cli))
    for expected in ("ingest", "poll", "extract", "draft", "suggest", "serve", "queue", "show",
                     "approve", "close", "outbox", "kb build"):
        assert expected in commands, expected
    runner = CliRunner()
    for name, cmd in commands.items():
        assert cmd.help and cmd.help.strip(), f"`consult {name}` has no help text"
        result = runner.invoke(cli, [*name.split(), "--help"])
        assert result.exit_code == 0, name
        for param in cmd.params:
            if isinstance(param, click.Option) and not param.hidden:
                assert param.help, f"`consult {name}` option {param.name} has no help"
