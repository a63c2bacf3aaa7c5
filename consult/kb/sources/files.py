"""Finding and opening source files: plain, gzipped, or members of a zip as CMS ships them.

Reading is strict: text is decoded line by line in the file's documented encoding, and a
decoding error, a truncated gzip or a broken zip becomes a ``SourceFileError`` naming the file
and the line, so a bad download stops the build instead of giving a half KB.
"""

from __future__ import annotations

import gzip
import io
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import IO

from consult.errors import MissingExtra, SourceFileError


def load_openpyxl() -> ModuleType:
    """openpyxl, which reads the CMS .xlsx files (the ``kb`` extra)."""
    try:
        import openpyxl
    except ImportError as exc:
        raise MissingExtra("kb", "openpyxl", "Reading a CMS .xlsx file") from exc
    return openpyxl


@dataclass(frozen=True)
class SourceFile:
    """One input: a file on disk, or a member of a zip on disk."""

    path: Path
    member: str = ""

    @property
    def name(self) -> str:
        """The base name the file is recognized by (``.gz`` removed)."""
        base = Path(self.member).name if self.member else self.path.name
        return base[:-3] if base.lower().endswith(".gz") else base

    @property
    def label(self) -> str:
        """How errors and the summary name the file."""
        return f"{self.path.name}:{self.member}" if self.member else self.path.name

    @property
    def gzipped(self) -> bool:
        return (self.member or self.path.name).lower().endswith(".gz")

    @contextmanager
    def open(self) -> Iterator[IO[bytes]]:
        """The file's bytes, decompressed."""
        try:
            if self.member and self.gzipped:
                with (zipfile.ZipFile(self.path) as zf, zf.open(self.member) as raw,
                      gzip.open(raw) as unzipped):
                    yield unzipped  # type: ignore[misc]
            elif self.member:
                with zipfile.ZipFile(self.path) as zf, zf.open(self.member) as raw:
                    yield raw
            elif self.gzipped:
                with gzip.open(self.path, "rb") as gz:
                    yield gz  # type: ignore[misc]
            else:
                with open(self.path, "rb") as fh:
                    yield fh
        except (zipfile.BadZipFile, OSError) as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            raise SourceFileError(
                f"{self.label}: cannot read the file ({exc}). Download it again."
            ) from exc

    def read_bytes(self) -> bytes:
        with self.open() as fh:
            return _read_all(fh, self.label)

    def seekable(self) -> IO[bytes]:
        """A seekable copy for readers that need one (openpyxl)."""
        if not self.member and not self.gzipped:
            return open(self.path, "rb")
        return io.BytesIO(self.read_bytes())

    def lines(self, encoding: str) -> Iterator[str]:
        """Decoded lines, each with its line ending, decoded strictly."""
        n = 0
        try:
            with self.open() as fh:
                for n, raw in enumerate(fh, 1):
                    try:
                        yield raw.decode(encoding)
                    except UnicodeDecodeError as exc:
                        raise SourceFileError(
                            f"{self.label}, line {n}: not valid {encoding} text ({exc.reason} "
                            f"at byte {exc.start}). Expected the file as CMS ships it."
                        ) from exc
        except (EOFError, zlib.error, gzip.BadGzipFile, zipfile.BadZipFile) as exc:
            raise SourceFileError(
                f"{self.label}: the file ends early or is corrupt after line {n} ({exc}). "
                "Download it again."
            ) from exc


def _read_all(fh: IO[bytes], label: str) -> bytes:
    try:
        return fh.read()
    except (EOFError, zlib.error, gzip.BadGzipFile, zipfile.BadZipFile) as exc:
        raise SourceFileError(
            f"{label}: the file ends early or is corrupt ({exc}). Download it again."
        ) from exc


def _whole_zip(name: str) -> bool:
    """Zips read as one source (the MCD downloads: relational CSVs that belong together)."""
    low = name.lower()
    return low.startswith(("current_article", "current_lcd", "all_article", "all_lcd"))


def discover(root: Path) -> list[SourceFile]:
    """Every file under ``root`` (recursively) and every member of the zips there, by name
    (an MCD download zip is one source: its members are read together)."""
    found: list[SourceFile] = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        if path.suffix.lower() == ".zip" and not _whole_zip(path.name):
            try:
                with zipfile.ZipFile(path) as zf:
                    members = [i.filename for i in zf.infolist() if not i.is_dir()]
            except zipfile.BadZipFile as exc:
                raise SourceFileError(
                    f"{path.name}: not a valid zip file ({exc}). Download it again."
                ) from exc
            found.extend(SourceFile(path, m) for m in members)
        else:
            found.append(SourceFile(path))
    return found
