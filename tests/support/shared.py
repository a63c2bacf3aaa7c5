"""Things built once per test run and shared by the xdist workers (a lock file decides who
builds; the others wait and reuse the file)."""

from __future__ import annotations

import fcntl
from collections.abc import Callable
from pathlib import Path

import pytest


def run_folder(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """The folder of this test run, the same for every xdist worker."""
    root = tmp_path_factory.getbasetemp()
    return root.parent if worker_id != "master" else root


def built_once(tmp_path_factory: pytest.TempPathFactory, worker_id: str, name: str,
               build: Callable[[Path], object]) -> Path:
    """``name`` in the run's folder, made by ``build(path)`` by the first worker to ask."""
    root = run_folder(tmp_path_factory, worker_id)
    path = root / name
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not path.exists():
                build(path)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return path
