"""`consult kb build/show/update/sources` and `consult suggest`, run as a user would; the
updater downloads from a loopback HTTP server serving the shared CMS folder."""

from __future__ import annotations

import functools
import gzip
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from support.servers import require

from consult.cli import cli
from consult.errors import ConsultError
from consult.kb.store import KnowledgeBase
from tests.kb.conftest import CMS_DIR, MCD_DIR, MCD_LIST, MUE_PRAC
from tests.kb.mcd_fixture import write_mcd_zips


def _run(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """Like `consult.cli.main`: a ConsultError becomes exit code 1 and its message."""
    result = CliRunner().invoke(cli, args, env=env)
    if isinstance(result.exception, ConsultError):
        return 1, result.stdout, result.stderr + str(result.exception)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def env(tmp_path: Path, starter_kb_path: Path) -> dict[str, str]:
    return {"CONSULT_HOME": str(tmp_path / "home"), "CONSULT_KB_PATH": str(starter_kb_path)}


def test_every_kb_command_has_help_text() -> None:
    group = cli.commands["kb"]
    for name, cmd in [*group.commands.items(), ("suggest", cli.commands["suggest"])]:  # type: ignore[attr-defined]
        assert cmd.help and len(cmd.help) > 20, name


def test_show_puts_a_deleted_code_first(env: dict[str, str]) -> None:
    code, out, _ = _run(["kb", "show", "43456"], env)
    assert code == 0
    assert out.splitlines()[0] == (
        "!! 43456 is deleted (last valid 2013-12-31); report 43213 instead.")


def test_show_json_for_a_procedure(env: dict[str, str]) -> None:
    _, out, _ = _run(["kb", "show", "43214", "--json"], env)
    data = json.loads(out)
    assert data["status"] == "active" and data["pfs"]["global_days"] == "000"
    assert data["ptp"]["practitioner_as_column1"]["count"] >= 5
    assert data["mue"]["practitioner"]["value"] == 1
    _, out, _ = _run(["kb", "show", "k21"], env)
    assert "not billable" in out and "excludes1: newborn esophageal reflux" in out


def test_suggest_json(env: dict[str, str]) -> None:
    _, out, _ = _run(["suggest", "colonoscopy snare polyp removal", "--json", "--limit", "3"],
                     env)
    got = json.loads(out)
    assert got[0]["code"] == "45385" and set(got[0]) == {"system", "code", "description",
                                                         "score"}


def test_build_from_folder_prints_summary(tmp_path: Path, env: dict[str, str],
                                          sources_dir: Callable[..., Path]) -> None:
    folder = sources_dir(MUE_PRAC)
    out_kb = tmp_path / "built.sqlite"
    code, out, _ = _run(["kb", "build", "--from", str(folder), "--out", str(out_kb)], env)
    assert code == 0 and "mue_practitioner" in out and "15095" in out
    assert KnowledgeBase(out_kb).sources()["mue_practitioner"].version == "2026Q2"


# A hospital PTP table for the loopback mirror: the shared data holds no hospital table in a
# layout the KB reads, so the test writes these few rows (test content, not a CMS release).
HOSPITAL_PTP_ROWS = (
    "column1,column2,effective_date,deletion_date,modifier_indicator,rationale\n"
    "43214,43200,2014-01-01,,0,CPT Separate procedure definition\n"
    "45378,45330,1996-01-01,,0,More extensive procedure\n"
)


#: Rows of each practitioner PTP table the mirror serves: the update's point is that every
#: file of the manifest is fetched and imported; importing all 2.5 million rows is tested once,
#: by the real_kb fixture (tests/kb/test_importers.py).
PTP_MIRROR_ROWS = 20_000


def mirror(root: Path) -> Path:
    """A folder laid out as `consult kb update` expects its base URL: the shared CMS files
    (linked; the practitioner PTP table cut to its first rows), the MCD document list (linked),
    the invented MCD download zips and the test hospital PTP table (written)."""
    if not CMS_DIR.is_dir() or not (MCD_DIR / MCD_LIST).exists():
        require(False, "the CMS and MCD data in ../shared/data")
    for entry in CMS_DIR.iterdir():
        if entry.name != "ptp":
            (root / entry.name).symlink_to(entry)
    (root / "ptp").mkdir()
    for entry in (CMS_DIR / "ptp").glob("*.csv.gz"):  # the first rows of each table: the full
        with gzip.open(entry, "rt", encoding="utf-8", newline="") as fh:  # import is real_kb's
            head = "".join(line for _n, line in zip(range(PTP_MIRROR_ROWS + 1), fh, strict=False))
        (root / "ptp" / entry.name).write_bytes(gzip.compress(head.encode(), compresslevel=1))
    (root / "ptp" / "ncci_ptp_hospital_v30.1_2024-04-01.csv.gz").write_bytes(
        gzip.compress(HOSPITAL_PTP_ROWS.encode()))
    (root / "mcd").mkdir()
    (root / "mcd" / MCD_LIST).symlink_to(MCD_DIR / MCD_LIST)
    write_mcd_zips(root / "mcd")
    return root


@pytest.fixture
def cms_server(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "mirror"
    root.mkdir()
    mirror(root)
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def test_update_without_license_downloads_only_files_without_cpt(
    tmp_path: Path, env: dict[str, str], cms_server: str
) -> None:
    out_kb = tmp_path / "kb.sqlite"
    code, out, err = _run(["kb", "update", "--base-url", cms_server, "--out", str(out_kb)], env)
    assert code == 0
    assert "downloaded 2 files" in out and "--accept-ama-license" in err
    kb = KnowledgeBase(out_kb)
    assert kb.sources()["hcpcs"].version == "2025-01"
    assert kb.sources()["mcd_documents"].rows == 3133
    assert kb.coverage_loaded() == {"documents": True, "code_lists": False}
    assert kb.sources()["mue_practitioner"].version.startswith("starter-")


@pytest.mark.slow
def test_update_fetches_every_table_of_the_manifest(
    tmp_path: Path, env: dict[str, str], cms_server: str
) -> None:
    """The packaged manifest: PTP practitioner and hospital, MUE x3, AOC, RVU, HCPCS, MCD."""
    out_kb = tmp_path / "kb.sqlite"
    code, out, _ = _run(["kb", "update", "--accept-ama-license", "--base-url", cms_server,
                         "--out", str(out_kb)], env)
    assert code == 0 and "downloaded 11 files" in out
    kb = KnowledgeBase(out_kb)
    src = kb.sources()
    assert src["ncci_ptp_practitioner"].rows == PTP_MIRROR_ROWS
    assert src["ncci_ptp_hospital"].rows == 2
    assert kb.ptp("43214", "43200", setting="hospital") is not None
    assert (src["mue_hospital"].rows, src["mue_dme"].rows, src["aoc"].rows) == (15045, 3083,
                                                                               9000)
    assert src["rvu"].version == "RVU25D" and src["hcpcs"].version == "2025-01"
    assert src["mcd_documents"].version == "2025-08-17"
    assert src["mcd_articles"].rows == 3 and src["mcd_lcds"].rows == 1
    assert kb.diagnosis_coverage("A99901", "Z12.11").status == "covered"
    code, out, _ = _run(["kb", "sources"], {**env, "CONSULT_KB_PATH": str(out_kb)})
    assert "ncci_ptp_hospital" in out and "2024 Q2" in out and "as of 2025-08-17" in out


def test_sources_say_which_period_each_table_is(env: dict[str, str]) -> None:
    code, out, _ = _run(["kb", "sources"], env)
    assert code == 0
    line = next(x for x in out.splitlines() if x.strip().startswith("rvu "))
    assert "starter-RVU25D" in line and "2025 Q4" in line and "2025-10-01 to 2025-12-31" in line
    code, out, _ = _run(["kb", "sources", "--on", "2026-05-01"], env)
    ptp = next(x for x in out.splitlines() if "ncci_ptp_practitioner" in x and "after" in x)
    assert "in the newest table we hold" in ptp
    assert any("mue_practitioner" in x and "covers" in x for x in out.splitlines())
    code, out, _ = _run(["kb", "sources", "--on", "2026-05-01", "--json"], env)
    data = json.loads(out)
    by_name = {s["name"]: s for s in data["sources"]}
    assert by_name["icd10cm"]["period"] == "FY2026" and by_name["icd10cm"]["status"] == "covers"
    assert by_name["modifiers"]["status"] == "undated"
    code, _, err = _run(["kb", "sources", "--on", "May 1"], env)
    assert code == 1 and "YYYY-MM-DD" in err


def test_an_old_schema_kb_is_refused_with_what_to_run(tmp_path: Path,
                                                      starter_kb_path: Path) -> None:
    old = tmp_path / "old.sqlite"
    old.write_bytes(starter_kb_path.read_bytes())
    with sqlite3.connect(old) as conn:
        conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema'")
    with pytest.raises(ConsultError) as err:
        KnowledgeBase(old)
    msg = str(err.value)
    assert "schema '2'" in msg and "`consult kb build --from DIR`" in msg
    assert "`consult kb update`" in msg
    code, _, err_text = _run(["kb", "show", "43214"], {"CONSULT_KB_PATH": str(old),
                                                       "CONSULT_HOME": str(tmp_path)})
    assert code == 1 and "consult kb update" in err_text


def test_update_with_license_end_to_end(tmp_path: Path, env: dict[str, str],
                                        cms_server: str) -> None:
    manifest = tmp_path / "releases.toml"
    manifest.write_text(
        "".join(f'[[file]]\nname = "{n}"\ncpt = {c}\n\n' for n, c in [
            (MUE_PRAC, "true"), ("AOC_V2026Q2-MCR.xlsx", "true"),
            ("PPRRVU2025_Oct.csv.gz", "true"), ("hcpcs-2025.zip", "false")]))
    out_kb = tmp_path / "kb.sqlite"
    code, out, _ = _run(["kb", "update", "--accept-ama-license", "--base-url", cms_server,
                         "--manifest", str(manifest), "--out", str(out_kb)], env)
    assert code == 0 and "downloaded 4 files" in out
    src = KnowledgeBase(out_kb).sources()
    assert (src["mue_practitioner"].rows, src["aoc"].rows, src["rvu"].rows) == (15095, 9000,
                                                                                19090)
    assert not list(tmp_path.glob(".kb-download-*"))  # downloads cleaned up


def test_update_reports_a_missing_file(tmp_path: Path, env: dict[str, str],
                                       cms_server: str) -> None:
    manifest = tmp_path / "releases.toml"
    manifest.write_text('[[file]]\nname = "nope.zip"\ncpt = false\n')
    out_kb = tmp_path / "kb.sqlite"
    code, _, err = _run(["kb", "update", "--base-url", cms_server, "--manifest",
                         str(manifest), "--out", str(out_kb)], env)
    assert code != 0 and "HTTP 404" in err
    assert not out_kb.exists()


def _old_kb(path: Path, starter_kb_path: Path, *, version: str) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(starter_kb_path.read_bytes())
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema'")
        conn.execute("UPDATE meta SET value = ? WHERE key = 'kb_version'", (version,))
    return path.read_bytes()


def test_the_default_kb_is_never_downgraded_to_the_starter_set(
        tmp_path: Path, starter_kb_path: Path, make_settings: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An unreadable KB built from the CMS files stays as it is (an error says how to rebuild
    it); an old starter KB, or an empty file, is rebuilt: nothing is lost."""
    from consult.kb.locate import ensure_kb

    builds: list[Path] = []

    def build(path: Path) -> None:  # the starter build itself is tested elsewhere
        builds.append(path)
        path.write_bytes(starter_kb_path.read_bytes())

    monkeypatch.setattr("consult.kb.build.build_kb", build)
    settings = make_settings(home=tmp_path / "home", kb_path=None)
    default = settings.resolved_kb_path
    said: list[str] = []
    cms = _old_kb(default, starter_kb_path, version="cms-2025-11-02-9src")
    with pytest.raises(ConsultError) as err:
        ensure_kb(settings, notify=said.append)
    assert "`consult kb build --from DIR`" in str(err.value)
    assert "`consult kb update`" in str(err.value)
    assert default.read_bytes() == cms and builds == [] and said == []

    _old_kb(default, starter_kb_path, version="starter-2025.09")
    assert ensure_kb(settings, notify=said.append).version.startswith("starter-")
    assert builds == [default] and "older version" in said[0]

    default.write_bytes(b"")
    ensure_kb(settings, notify=said.append)
    assert len(builds) == 2
