"""Jinja2 environments for mail and pages: autoescaping HTML, StrictUndefined.

``page_environment`` (the review web app) also neutralises every value it prints
(``consult.display.neutralize``): a name or subject with a bidirectional override or control
characters shows them as visible markers instead of reordering or hiding the text around it.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from consult.display import neutralize


def templates_dir() -> Path:
    """The templates folder: the top-level ``templates`` package, shipped in the wheel (a
    checkout and an editable install find the same folder)."""
    return Path(str(resources.files("templates")))


@lru_cache(maxsize=1)
def environment() -> Environment:
    """Autoescape for .html/.html.j2 templates; text templates render as written.

    The templates ship with the package and do not change while a process runs, so Jinja is
    told not to stat each one again before every draft (two stats per mail)."""
    return Environment(
        loader=FileSystemLoader(str(templates_dir())),
        auto_reload=False,
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2", "htm")),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _neutralized(value: Any) -> Any:
    if isinstance(value, Markup):  # our own markup around escaped mail text
        return Markup(neutralize(str(value)))
    if isinstance(value, str):
        return neutralize(value)
    return value


@lru_cache(maxsize=1)
def page_environment() -> Environment:
    """The pages' environment: as ``environment`` plus neutralised output."""
    env = environment().overlay(finalize=_neutralized)
    return env
