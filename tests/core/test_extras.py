"""The optional extras: without them, the parts that need them say which extra to install."""

from __future__ import annotations

import sqlite3
import sys

import pytest

from consult.errors import MissingExtra


def test_a_kb_build_without_the_kb_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from consult.kb.icd10cm import load_icd10cm
    from consult.kb.sources.files import load_openpyxl

    monkeypatch.setitem(sys.modules, "simple_icd_10_cm", None)  # import fails
    monkeypatch.setitem(sys.modules, "openpyxl", None)
    with pytest.raises(MissingExtra, match=r"pip install 'consult\[kb\]'"):
        load_icd10cm(sqlite3.connect(":memory:"))
    with pytest.raises(MissingExtra, match=r"openpyxl.*consult\[kb\]"):
        load_openpyxl()


def test_postgresql_without_the_postgres_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from db.engine import make_engine

    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(MissingExtra, match=r"pip install 'consult\[postgres\]'"):
        make_engine("postgresql+psycopg://consult@127.0.0.1/consult")
