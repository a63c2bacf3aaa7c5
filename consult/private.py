"""Data at rest is private to the service's user: every mail may hold PHI.

``make_private`` runs at start-up (every CLI command, `consult serve`): umask 077, so whatever
the process creates afterwards (the SQLite file and its -wal/-shm, Maildir messages, logs) is
0600 and folders 0700; CONSULT_HOME is created 0700, and an existing one left group- or
world-readable by an older version is tightened, with the database files in it.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

#: Files in CONSULT_HOME that hold mail, accounts or the KB.
DATA_FILES = ("consult.db", "consult.db-wal", "consult.db-shm", "consult.db-journal",
              "kb.sqlite")
#: Folders in CONSULT_HOME whose content is mail.
DATA_FOLDERS = ("outbox-maildir",)


def _tighten(path: Path, mode: int) -> None:
    """chmod ``path`` to ``mode`` when it is ours and more open than that (never raises)."""
    with contextlib.suppress(OSError):
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode) or info.st_uid != os.geteuid():
            return
        if stat.S_IMODE(info.st_mode) & ~mode:
            path.chmod(stat.S_IMODE(info.st_mode) & mode)


def make_private(home: Path) -> None:
    """umask 077 for this process; ``home`` created 0700 (or tightened), its data files 0600."""
    os.umask(0o077)
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    _tighten(home, 0o700)
    for name in DATA_FILES:
        _tighten(home / name, 0o600)
    for name in DATA_FOLDERS:
        folder = home / name
        if folder.is_dir() and not folder.is_symlink():
            _tighten(folder, 0o700)
            for path in folder.rglob("*"):
                _tighten(path, 0o700 if path.is_dir() else 0o600)


def private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 when it does not exist (whatever the umask)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
