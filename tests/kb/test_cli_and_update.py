"""`consult kb build/show/update/sources` and `consult suggest`, run as a user would; the
updater downloads from a loopback HTTP server serving the shared CMS folder."""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.servers import require

from consult.cli import cli
from consult.errors import ConsultError
from consult.kb.store import KnowledgeBase
from tests.kb.conftest import CMS_DIR, MUE_PRAC


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


@pytest.fixture
def cms_server() -> Iterator[str]:
    if not CMS_DIR.is_dir():
        require(False, "the CMS data in ../shared/data/cms")
    handler = functools.partial(_QuietHandler, directory=str(CMS_DIR))
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


def test_update_without_license_downloads_only_hcpcs(
    tmp_path: Path, env: dict[str, str], cms_server: str
) -> None:
    out_kb = tmp_path / "kb.sqlite"
    code, out, err = _run(["kb", "update", "--base-url", cms_server, "--out", str(out_kb)], env)
    assert code == 0
    assert "downloaded 1 files" in out and "--accept-ama-license" in err
    kb = KnowledgeBase(out_kb)
    assert kb.sources()["hcpcs"].version == "2025-01"
    assert kb.sources()["mue_practitioner"].version.startswith("starter-")


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
