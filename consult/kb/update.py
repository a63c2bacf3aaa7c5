"""`consult kb update`: download the current CMS releases and build a KB from them.

The list of files is a small TOML manifest (``starter/releases.toml`` by default, or one the
user gives) with names relative to ``CONSULT_KB_BASE_URL``. Files holding CPT codes are only
downloaded when the user accepts the AMA license (``--accept-ama-license``), as CMS asks.
Downloads go to a temporary folder next to the KB; the build is atomic, so a failed download
or import keeps the current KB.
"""

from __future__ import annotations

import shutil
import tempfile
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path, PurePosixPath
from urllib.parse import quote

import httpx

from consult.errors import ConfigError, SourceDownloadError
from consult.kb.build import BuildReport, ProgressBar, build_kb


@dataclass(frozen=True)
class Release:
    """One file to download: its name under the base URL, and whether it holds CPT codes."""

    name: str
    cpt: bool


@dataclass
class DownloadReport:
    downloaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "name: why"
    bytes: int = 0


def load_manifest(path: Path | None = None) -> list[Release]:
    """The releases to download (the packaged manifest when ``path`` is None)."""
    if path is None:
        text = resources.files("consult.kb").joinpath("starter", "releases.toml").read_text(
            encoding="utf-8"
        )
    else:
        text = Path(path).read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
        return [Release(str(f["name"]), bool(f.get("cpt", True))) for f in data["file"]]
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"The release manifest {path or 'releases.toml'} is not valid: {exc}. Each "
            "[[file]] needs a name (and cpt = true/false)."
        ) from exc


def _url(base_url: str, name: str) -> str:
    return base_url.rstrip("/") + "/" + quote(name)


def download_releases(
    base_url: str,
    dest: Path,
    releases: list[Release],
    *,
    accept_ama_license: bool,
    client: httpx.Client | None = None,
    say: Callable[[str], None] = lambda _m: None,
) -> DownloadReport:
    """Download each release into ``dest`` (by base name); CPT files only with the license."""
    report = DownloadReport()
    own = client is None
    http = client or httpx.Client(timeout=httpx.Timeout(60.0), follow_redirects=True)
    try:
        for rel in releases:
            if rel.cpt and not accept_ama_license:
                report.skipped.append(
                    f"{rel.name}: contains CPT codes; pass --accept-ama-license to accept the "
                    "AMA license and download it"
                )
                continue
            url = _url(base_url, rel.name)
            target = dest / PurePosixPath(rel.name).name
            say(f"downloading {url}")
            try:
                with http.stream("GET", url) as resp:
                    if resp.status_code != 200:
                        raise SourceDownloadError(
                            f"{url} answered HTTP {resp.status_code}. Check "
                            "CONSULT_KB_BASE_URL and the release manifest."
                        )
                    with open(target, "wb") as fh:
                        for chunk in resp.iter_bytes(1 << 20):
                            fh.write(chunk)
                            report.bytes += len(chunk)
            except httpx.HTTPError as exc:
                raise SourceDownloadError(
                    f"Downloading {url} failed ({exc}). Check the network and "
                    "CONSULT_KB_BASE_URL, then run `consult kb update` again."
                ) from exc
            report.downloaded.append(rel.name)
    finally:
        if own:
            http.close()
    return report


def update_kb(
    out: Path,
    base_url: str,
    *,
    accept_ama_license: bool,
    manifest: Path | None = None,
    progress: Callable[[str], None] | None = None,
    bar: ProgressBar | None = None,
    client: httpx.Client | None = None,
) -> tuple[DownloadReport, BuildReport]:
    """Download the releases and build ``out`` from them (atomically)."""
    say = progress or (lambda _m: None)
    releases = load_manifest(manifest)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".kb-download-", dir=out.parent))
    try:
        dl = download_releases(base_url, work, releases,
                               accept_ama_license=accept_ama_license, client=client, say=say)
        built = build_kb(out, sources_dir=work, progress=say, bar=bar)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dl, built
