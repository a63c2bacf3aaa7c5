"""`consult user add|passwd|list|token|disable|enable`: accounts for the review web UI and API."""

from __future__ import annotations

import sys

import click

from consult.cli.common import CliState, echo
from consult.clock import utcnow


def _read_password(confirm: bool = True) -> str:
    """From stdin when piped (scripts, tests), else asked twice without echo."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=confirm))


@click.group("user")
def user_group() -> None:
    """Manage the accounts of the review web UI and API."""


@user_group.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(["reviewer", "admin"]), default="reviewer",
              show_default=True, help="Admins also see the quarantine and can release.")
@click.pass_obj
def add_cmd(state: CliState, email: str, role: str) -> None:
    """Create an account; the password is asked for (or read from stdin when piped)."""
    from consult import accounts
    from db.engine import session

    password = _read_password()
    with session(state.engine) as s:
        user = accounts.add_user(s, email, password, role=role, now=utcnow())
        s.commit()
    click.echo(f"Added {user.email} ({user.role}).")


@user_group.command("passwd")
@click.argument("email")
@click.pass_obj
def passwd_cmd(state: CliState, email: str) -> None:
    """Set a new password (asked for, or read from stdin when piped)."""
    from consult import accounts
    from db.engine import session

    password = _read_password()
    with session(state.engine) as s:
        accounts.set_password(s, email, password)
        s.commit()
    click.echo(f"Password changed for {accounts.normalize_email(email)}.")


@user_group.command("list")
@click.pass_obj
def list_cmd(state: CliState) -> None:
    """List the accounts, their roles, and whether they have an API token."""
    from consult import accounts
    from db.engine import session

    with session(state.engine) as s:
        users = accounts.list_users(s)
    if not users:
        click.echo("No accounts yet: `consult user add EMAIL --role admin`.")
    for u in users:
        flags = ("" if u.active else " disabled") + (" api-token" if u.api_token_hash else "")
        echo(f"{u.email:40} {u.role:9}{flags}")


@user_group.command("token")
@click.argument("email")
@click.pass_obj
def token_cmd(state: CliState, email: str) -> None:
    """Issue a new API token for EMAIL (replaces the old one); printed once, store it safely."""
    from consult import accounts
    from db.engine import session

    with session(state.engine) as s:
        token = accounts.new_api_token(s, email)
        s.commit()
    click.echo(token)


@user_group.command("disable")
@click.argument("email")
@click.pass_obj
def disable_cmd(state: CliState, email: str) -> None:
    """Disable an account: its sessions and API token stop working at once."""
    _set_active(state, email, active=False)


@user_group.command("enable")
@click.argument("email")
@click.pass_obj
def enable_cmd(state: CliState, email: str) -> None:
    """Enable a disabled account again."""
    _set_active(state, email, active=True)


def _set_active(state: CliState, email: str, *, active: bool) -> None:
    from consult import accounts
    from db.engine import session

    with session(state.engine) as s:
        accounts.set_active(s, email, active)
        s.commit()
    click.echo(f"{'Enabled' if active else 'Disabled'} {accounts.normalize_email(email)}.")


def register(group: click.Group) -> None:
    group.add_command(user_group)
