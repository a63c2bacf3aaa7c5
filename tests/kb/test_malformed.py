"""A malformed input stops the build with the file, the line and what was expected; no KB is
written and an existing KB is kept."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import pytest

from consult.errors import SourceFileError
from consult.kb.build import build_kb
from consult.kb.sources import ptp
from tests.kb.conftest import MUE_PRAC, cms

HEADER = ",".join(ptp.CSV_HEADER) + "\n"


def _build_fails(tmp_path: Path, folder: Path) -> SourceFileError:
    out = tmp_path / "out" / "kb.sqlite"
    out.parent.mkdir()
    out.write_bytes(b"the old KB")
    with pytest.raises(SourceFileError) as err:
        build_kb(out, sources_dir=folder)
    assert out.read_bytes() == b"the old KB"  # untouched
    assert [p.name for p in out.parent.iterdir()] == ["kb.sqlite"]  # no temp file left
    return err.value


def test_wrong_columns(tmp_path: Path, sources_dir: Callable[..., Path]) -> None:
    folder = sources_dir()
    (folder / "x_ptp.csv").write_text(HEADER + "43214,43200,,,0,ok\n43214,43200,,0,why\n")
    msg = str(_build_fails(tmp_path, folder))
    assert "x_ptp.csv, line 3: expected 6 fields" in msg


def test_wrong_header(tmp_path: Path, sources_dir: Callable[..., Path]) -> None:
    folder = sources_dir()
    (folder / "x_ptp.csv").write_text("a,b,c\n1,2,3\n")
    assert "x_ptp.csv, line 1: expected the header column1,column2" in str(
        _build_fails(tmp_path, folder))


def test_bad_date_and_indicator(tmp_path: Path, sources_dir: Callable[..., Path]) -> None:
    folder = sources_dir()
    (folder / "x_ptp.csv").write_text(HEADER + "43214,43200,01/01/2024,,0,r\n")
    assert "line 2" in str(_build_fails(tmp_path, folder))
    rows = ptp.parse_csv([HEADER, "43214,43200,,,5,r\n"], "y_ptp.csv")
    with pytest.raises(SourceFileError, match=r"y_ptp\.csv, line 2"):
        list(rows)


def test_wrong_encoding(tmp_path: Path, sources_dir: Callable[..., Path]) -> None:
    folder = sources_dir()
    (folder / "x_ptp.csv").write_bytes(
        HEADER.encode() + b"43214,43200,,,0,ok\n43214,43197,,,0,Caf\xe9\n")
    msg = str(_build_fails(tmp_path, folder))
    assert "x_ptp.csv, line 3: not valid utf-8" in msg


def test_utf16_mue_is_refused(tmp_path: Path, sources_dir: Callable[..., Path]) -> None:
    folder = sources_dir()
    text = gzip.decompress(cms(MUE_PRAC).read_bytes()).decode("latin-1")
    (folder / "MCR_MUE_PractitionerServices_Eff_04-01-2026.csv").write_bytes(
        text[:5000].encode("utf-16"))
    assert "expected the MUE header" in str(_build_fails(tmp_path, folder))


def test_truncated_gzip(tmp_path: Path, sources_dir: Callable[..., Path]) -> None:
    folder = sources_dir()
    whole = cms(MUE_PRAC).read_bytes()
    (folder / MUE_PRAC).write_bytes(whole[: len(whole) // 2])
    msg = str(_build_fails(tmp_path, folder))
    assert MUE_PRAC in msg and "ends early" in msg


def test_truncated_last_line(tmp_path: Path, sources_dir: Callable[..., Path]) -> None:
    folder = sources_dir()
    text = gzip.decompress(cms(MUE_PRAC).read_bytes()).decode("latin-1")
    cut = text[: text.index("\n43214,") + 4]  # the 43214 row cut after "432"
    (folder / "MCR_MUE_PractitionerServices_Eff_04-01-2026.csv").write_text(cut,
                                                                           encoding="latin-1")
    msg = str(_build_fails(tmp_path, folder))
    assert "MCR_MUE_PractitionerServices_Eff_04-01-2026.csv, line" in msg
    assert "MUE value" in msg


def test_ccipra_text_bad_row_names_line() -> None:
    lines = ["Column 1\tColumn 2\tEffective Date\n",
             "43214\t43200\t\t20140101\t*\t0\tr\n",
             "43214\t43200\t\t2014-01-01\t*\t0\tr\n"]
    with pytest.raises(SourceFileError, match=r"f1.txt, line 3: expected a tab-delimited row"):
        list(ptp.parse_cms_text(lines, "ccipra-v321r0-f1.txt"))
    with pytest.raises(SourceFileError, match="CMS header lines"):
        list(ptp.parse_cms_text(lines[1:], "ccipra-v321r0-f1.txt"))


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(SourceFileError, match="is not a folder"):
        build_kb(tmp_path / "kb.sqlite", sources_dir=tmp_path / "nope")
    assert not (tmp_path / "kb.sqlite").exists()


def test_rvu_row_with_a_bad_indicator(tmp_path: Path, sources_dir: Callable[..., Path]) -> None:
    folder = sources_dir()
    with gzip.open(cms("PPRRVU2025_Oct.csv.gz"), "rt", encoding="latin-1") as fh:
        lines = [next(fh) for _ in range(12)]
    assert lines[11].startswith("0005F,") and ",9,9,9,9,9," in lines[11]
    lines[11] = lines[11].replace(",9,9,9,9,9,", ",9,X,9,9,9,", 1)  # bilateral "X"
    bad = "".join(lines)
    (folder / "PPRRVU2025_Oct.csv").write_text(bad, encoding="latin-1")
    msg = str(_build_fails(tmp_path, folder))
    assert "PPRRVU2025_Oct.csv, line 12: expected 31 comma-separated fields" in msg
