"""The README is the contract for users: every setting documented, the two commands up front."""

from __future__ import annotations

from pathlib import Path

from consult.config import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_every_setting_has_a_row() -> None:
    missing = [f"CONSULT_{n.upper()}" for n in Settings.model_fields
               if f"`CONSULT_{n.upper()}`" not in README and f"CONSULT_{n.upper()}`" not in README]
    assert not missing, f"add these to the README settings table: {missing}"


def test_first_screen_gives_the_two_commands() -> None:
    first_screen = "\n".join(README.splitlines()[:25])
    assert "make run" in first_screen and "make test" in first_screen


def test_every_cli_command_is_in_the_readme() -> None:
    from consult.cli import cli

    for name in cli.commands:
        assert f"`consult {name}" in README, f"document `consult {name}` in the README"


def test_draft_json_keys_are_documented(starter_kb_path: Path) -> None:
    """Every top-level key of `consult draft --json` has its place in the README."""
    from consult.kb.store import KnowledgeBase
    from consult.pipeline import analyze

    raw = (b"From: A <a@b.example>\r\nTo: consult@consult.test\r\nSubject: q\r\n"
           b"Date: Mon, 16 Nov 2026 09:00:00 -0500\r\nMessage-ID: <r@b.example>\r\n\r\n"
           b"Can we bill 43214 with 43200, 59 or XS?\r\n")
    data = analyze(raw, KnowledgeBase(starter_kb_path)).to_json()
    missing = [k for k in data if f"`{k}`" not in README]
    assert not missing, f"document these `consult draft --json` keys in the README: {missing}"
