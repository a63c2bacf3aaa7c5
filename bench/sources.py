"""One folder of links to every shared source file, for the benches that build the full KB."""

from __future__ import annotations

from pathlib import Path


def all_sources(cms: Path, mcd: Path, work: Path) -> Path:
    """One folder linking every CMS file and the MCD document list."""
    folder = work / "all-sources"
    folder.mkdir()
    for entry in cms.rglob("*"):
        if entry.is_file():
            target = folder / entry.relative_to(cms)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(entry)
    if mcd.is_dir():
        (folder / "mcd").mkdir()
        for entry in mcd.glob("*.csv"):
            (folder / "mcd" / entry.name).symlink_to(entry)
    return folder
