"""Build a KB file: the starter data the project ships, ICD-10-CM from its package, and, when a
folder of source files is given, the CMS releases found there (see ``consult.kb.sources``).

The file is written under a temporary name and renamed into place, so a failed build (a
malformed file, a full disk, Ctrl-C) never leaves half a KB behind: the old KB stays.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Protocol

from consult.errors import SourceFileError
from consult.kb.doses import parse_dose_unit
from consult.kb.icd10cm import load_icd10cm
from consult.kb.model import SourceVersion
from consult.kb.sources import cms_tables, hcpcs, mcd, ptp
from consult.kb.sources.detect import Detected, detect, version_key
from consult.kb.sources.files import SourceFile, discover
from consult.kb.starter import STARTER_VERSION, apply_code_history, load_starter
from consult.kb.store import SCHEMA_VERSION
from consult.kb.tables import insert_mcd, insert_pfs, insert_ptp, ptp_source_name, ptp_table
from consult.suggest.index import build_index

Progress = Callable[[str], None]

__all__ = ["STARTER_VERSION", "BuildReport", "ProgressBar", "build_kb", "create_schema"]


class ProgressBar(Protocol):
    """What a long import reports to (the CLI draws it with rich)."""

    def start(self, label: str, total: int | None = None) -> None: ...

    def update(self, done: int) -> None: ...

    def finish(self) -> None: ...


@dataclass
class BuildReport:
    """What a build wrote: rows per source and their versions, for the summary."""

    path: Path
    sources: list[SourceVersion] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "file: why"
    seconds: float = 0.0
    size_bytes: int = 0


def create_schema(conn: sqlite3.Connection) -> None:
    sql = resources.files("consult.kb").joinpath("schema.sql").read_text(encoding="utf-8")
    conn.executescript(sql)


@dataclass
class _Job:
    detected: Detected
    files: list[SourceFile]


def plan_sources(
    files: Iterable[SourceFile], *, ptp_setting: str | None = None
) -> tuple[list[_Job], list[str]]:
    """Which files to import, grouped into jobs, and which to skip (with the reason).

    One job per table: the newest release of each PTP setting (all its parts), of each MUE
    setting, of the AOC, RVU and CPT files. HCPCS releases are all kept, oldest first, so codes
    terminated years ago stay known; a release shipped both as text and xlsx is read once.
    """
    skipped: list[str] = []
    groups: dict[tuple[str, str], dict[str, list[tuple[Detected, SourceFile]]]] = {}
    for sf in files:
        det = detect(sf.name)
        if det is None:
            skipped.append(f"{sf.label}: not a recognized source file")
            continue
        if det.kind == "ptp_csv":
            low = sf.name.lower()
            setting = ptp_setting or (
                "hospital" if "hospital" in low or "outpatient" in low else "practitioner"
            )
            det = Detected(det.kind, setting, det.version, det.effective, det.fmt)
        key = (det.kind if det.kind != "ptp_csv" else "ptp_cms", det.setting)
        if det.kind == "hcpcs":
            key = ("hcpcs", det.version)
        groups.setdefault(key, {}).setdefault(f"{det.kind}|{det.version}|{det.fmt}", []).append(
            (det, sf)
        )
    jobs: list[_Job] = []
    for (kind, _sub), versions in sorted(groups.items()):
        if kind == "hcpcs":
            # one release: prefer the text form, then the one with most files' worth of data
            order = sorted(versions, key=lambda k: (k.endswith("|txt"), k), reverse=True)
        else:
            order = sorted(versions, key=lambda k: version_key(k.split("|")[1]), reverse=True)
        chosen = order[0]
        for other in order[1:]:
            for _det, sf in versions[other]:
                skipped.append(f"{sf.label}: superseded by {versions[chosen][0][1].label}")
        entries = versions[chosen]
        if kind != "ptp_cms":
            # several copies of one release (a zip and its extracted member): read one
            for _det, sf in entries[1:]:
                skipped.append(f"{sf.label}: same release as {entries[0][1].label}")
            entries = entries[:1]
        entries.sort(key=lambda e: (e[0].part, e[1].name))
        jobs.append(_Job(entries[0][0], [sf for _d, sf in entries]))
    jobs.sort(key=lambda j: (j.detected.kind != "hcpcs", j.detected.kind, j.detected.version))
    return jobs, skipped


class _Importer:
    """Runs the import jobs against one open build connection."""

    def __init__(self, conn: sqlite3.Connection, say: Progress, bar: ProgressBar | None) -> None:
        self.conn = conn
        self.say = say
        self.bar = bar
        self.sources: dict[str, SourceVersion] = {}
        self.hcpcs_modifiers: dict[str, str] = {}
        self.hcpcs_releases: list[SourceVersion] = []
        self.mcd: list[mcd.McdBundle] = []

    def _bar(self, label: str) -> Callable[[int], None]:
        if self.bar is None:
            return lambda _n: None
        self.bar.start(label)
        return self.bar.update

    def _done(self) -> None:
        if self.bar is not None:
            self.bar.finish()

    def run(self, job: _Job) -> None:
        det = job.detected
        names = ", ".join(sf.label for sf in job.files)
        self.say(f"{det.kind} {det.setting} {det.version}: {names}".replace("  ", " "))
        getattr(self, f"_{det.kind}")(job)

    # -- PTP ------------------------------------------------------------------------------------
    def _ptp_cms(self, job: _Job) -> None:
        det = job.detected
        tid = ptp_table(self.conn, det.setting)
        tick = self._bar(f"PTP {det.setting} {det.version}".strip())
        total = 0
        for sf in job.files:
            fmt = sf.name.rsplit(".", 1)[-1].lower()
            if detect(sf.name) and detect(sf.name).kind == "ptp_csv":  # type: ignore[union-attr]
                rows: Iterable = ptp.parse_csv(sf.lines("utf-8"), sf.label)
            elif fmt == "xlsx":
                rows = ptp.parse_cms_xlsx(sf.seekable(), sf.label)
            else:
                rows = ptp.parse_cms_text(sf.lines("latin-1"), sf.label)
            base = total
            def tick_from(n: int, b: int = base) -> None:
                tick(b + n)

            total += insert_ptp(self.conn, tid, rows, tick=tick_from)
        self._done()
        name = ptp_source_name(det.setting)
        effective = det.effective
        if not effective:
            top = self.conn.execute("SELECT max(effective) FROM ptp WHERE tbl = ?",
                                    (tid,)).fetchone()[0]
            effective = f"{top // 10000:04d}-{top // 100 % 100:02d}-{top % 100:02d}" if top else ""
        self.sources[name] = SourceVersion(
            name, det.version or "unversioned", effective,
            ", ".join(sf.label for sf in job.files), total,
        )

    _ptp_csv = _ptp_cms

    # -- MUE, AOC, RVU ----------------------------------------------------------------------------
    def _mue(self, job: _Job) -> None:
        sf = job.files[0]
        setting, rows = cms_tables.parse_mue(sf.lines("latin-1"), sf.label)
        if job.detected.setting and setting != job.detected.setting:
            raise SourceFileError(
                f"{sf.label}: the name says {job.detected.setting} but the header says "
                f"{setting}. Check the file."
            )
        self.conn.execute("DELETE FROM mue WHERE setting = ?", (setting,))
        data = [(r.code, setting, r.value, r.adjudication, r.rationale) for r in rows]
        self.conn.executemany("INSERT OR REPLACE INTO mue VALUES (?,?,?,?,?)", data)
        name = f"mue_{setting}"
        self.sources[name] = SourceVersion(name, job.detected.version, job.detected.effective,
                                           sf.label, len(data))

    def _aoc(self, job: _Job) -> None:
        sf = job.files[0]
        data = []
        for r in cms_tables.parse_aoc_xlsx(sf.seekable(), sf.label):
            ends = sorted(d for d in (r.deleted, r.addon_deleted, r.primary_deleted) if d)
            data.append((r.addon, r.primary, r.edit_type, r.effective, ends[0] if ends else "",
                         r.note))
        self.conn.execute("DELETE FROM addon")
        self.conn.executemany("INSERT OR REPLACE INTO addon VALUES (?,?,?,?,?,?)", data)
        self.sources["aoc"] = SourceVersion("aoc", job.detected.version, job.detected.effective,
                                            sf.label, len(data))

    def _rvu(self, job: _Job) -> None:
        sf = job.files[0]
        rows = list(cms_tables.parse_rvu(sf.lines("latin-1"), sf.label))
        self.conn.execute("DELETE FROM pfs")
        insert_pfs(self.conn, rows)
        # codes the KB knows from no other source (CPT without a licensed file)
        self.conn.executemany(
            "INSERT OR IGNORE INTO codes(code, system, description, source) VALUES (?,?,?,?)",
            [(r.code, "CPT" if r.code[0].isdigit() else "HCPCS", r.description, "rvu")
             for r in rows if not r.modifier],
        )
        self.sources["rvu"] = SourceVersion("rvu", job.detected.version, job.detected.effective,
                                            sf.label, len(rows))

    # -- HCPCS, CPT -----------------------------------------------------------------------------
    def _hcpcs(self, job: _Job) -> None:
        sf = job.files[0]
        if job.detected.fmt == "xlsx":
            full, records = hcpcs.parse_hcpcs_xlsx(sf.seekable(), sf.label)
        else:
            full, records = True, hcpcs.parse_hcpcs_text(sf.lines("cp1252"), sf.label)
        verb = "INSERT OR REPLACE" if full else "INSERT OR IGNORE"
        n = 0
        for r in records:
            n += 1
            if r.is_modifier:
                self.hcpcs_modifiers[r.code] = r.long
                continue
            self.conn.execute(
                f"{verb} INTO codes(code, system, description, status, billable, "
                "effective_date, end_date, replaced_by, source, action, action_date) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (r.code, "HCPCS", r.long, r.status, 1, r.added, r.terminated,
                 ",".join(r.xrefs or ((r.xref,) if r.xref else ())), "hcpcs", r.action,
                 r.action_effective),
            )
        version = job.detected.version + ("" if full else " (partial)")
        self.hcpcs_releases.append(SourceVersion("hcpcs", version, job.detected.effective,
                                                 sf.label, n))

    def _cpt(self, job: _Job) -> None:
        sf = job.files[0]
        try:
            lines = list(sf.lines("utf-8"))
        except SourceFileError:
            lines = list(sf.lines("latin-1"))
        rows = list(hcpcs.parse_cpt(lines, sf.label))
        self.conn.executemany(
            "INSERT INTO codes(code, system, description, source) VALUES (?, 'CPT', ?, 'cpt') "
            "ON CONFLICT(code, system) DO UPDATE SET description = excluded.description, "
            "source = 'cpt'",
            [(r.code, r.descriptor) for r in rows],
        )
        self.sources["cpt"] = SourceVersion("cpt", job.detected.version, "", sf.label, len(rows))

    # -- Medicare Coverage Database ------------------------------------------------------------
    def _mcd_documents(self, job: _Job) -> None:
        sf = job.files[0]
        bundle = mcd.parse_documents_list(mcd.list_lines(sf), sf.label)
        self.mcd.append(bundle)
        day = job.detected.version or bundle.as_of
        self.sources["mcd_documents"] = SourceVersion(
            "mcd_documents", day, job.detected.effective or day, sf.label,
            len(bundle.documents))

    def _mcd_zip(self, job: _Job, kind: str) -> None:
        sf = job.files[0]
        bundle = mcd.parse_mcd_zip(sf, kind)
        self.mcd.append(bundle)
        name = "mcd_articles" if kind == "article" else "mcd_lcds"
        self.sources[name] = SourceVersion(name, bundle.as_of, bundle.as_of, sf.label,
                                           len(bundle.documents))

    def _mcd_article(self, job: _Job) -> None:
        self._mcd_zip(job, "article")

    def _mcd_lcd(self, job: _Job) -> None:
        self._mcd_zip(job, "lcd")

    def finish(self) -> None:
        if self.mcd:
            # the list first: the downloads' own rows (exact states, code lists) win
            order = sorted(self.mcd, key=lambda b: b.kind != "list")
            insert_mcd(self.conn, order)
        self.conn.executemany(
            "INSERT OR IGNORE INTO modifiers(code, description, usage, applies_to) "
            "VALUES (?, ?, '', 'any')",
            sorted(self.hcpcs_modifiers.items()),
        )
        if self.hcpcs_releases:
            full = [s for s in self.hcpcs_releases if not s.version.endswith("(partial)")]
            newest = (full or self.hcpcs_releases)[-1]
            self.sources["hcpcs"] = SourceVersion(
                "hcpcs", newest.version, newest.effective,
                ", ".join(s.file for s in self.hcpcs_releases),
                self.conn.execute("SELECT count(*) FROM codes WHERE source = 'hcpcs'")
                .fetchone()[0],
            )


def _fill_drug_doses(conn: sqlite3.Connection) -> int:
    """The billing unit of every HCPCS code whose descriptor states one (consult.kb.doses)."""
    rows = []
    for code, description in conn.execute(
        "SELECT code, description FROM codes WHERE system = 'HCPCS'"
    ):
        unit = parse_dose_unit(code, description)
        if unit is not None:
            rows.append((unit.code, unit.kind, unit.amount, unit.unit, unit.dimension,
                         unit.text))
    conn.executemany("INSERT OR REPLACE INTO drug_doses VALUES (?,?,?,?,?,?)", rows)
    return len(rows)


def build_kb(
    out: Path,
    sources_dir: Path | None = None,
    *,
    progress: Progress | None = None,
    bar: ProgressBar | None = None,
    ptp_setting: str | None = None,
) -> BuildReport:
    """Build a KB into ``out`` atomically and return what it holds.

    Without ``sources_dir`` this is the starter KB the project ships (plus ICD-10-CM). With it,
    every recognized CMS file under the folder (plain, gzipped or zipped) replaces the starter
    subset of its table; ``ptp_setting`` names the setting or payer of CSV edit tables
    (default: hospital when the file name says so, else Medicare practitioner).
    A malformed file raises ``SourceFileError`` (file, line, what was expected) and no KB is
    written.
    """
    started = time.perf_counter()
    say = progress or (lambda _msg: None)
    if sources_dir is not None and not Path(sources_dir).is_dir():
        raise SourceFileError(f"{sources_dir} is not a folder. Give the folder holding the "
                              "CMS files to `consult kb build --from`.")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".kb-", suffix=".tmp", dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    report = BuildReport(out)
    try:
        conn = sqlite3.connect(tmp)
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -200000")
        create_schema(conn)
        say("starter data")
        sources = {s.name: s for s in load_starter(conn)}
        if sources_dir is not None:
            # the CMS files first: a malformed one stops the build before the slow part
            jobs, report.skipped = plan_sources(discover(Path(sources_dir)),
                                                ptp_setting=ptp_setting)
            importer = _Importer(conn, say, bar)
            for job in jobs:
                importer.run(job)
            importer.finish()
            sources.update(importer.sources)
        say("ICD-10-CM (simple-icd-10-cm)")
        icd_source, icd_terms, icd_extended = load_icd10cm(conn)
        sources[icd_source.name] = icd_source
        apply_code_history(conn)
        say("drug dose units, search index and PTP column-2 index")
        _fill_drug_doses(conn)
        build_index(conn, icd_terms, icd_extended)
        conn.execute("CREATE INDEX ptp_col2 ON ptp(column2, tbl)")
        conn.executemany(
            "INSERT OR REPLACE INTO sources VALUES (?,?,?,?,?)",
            [(s.name, s.version, s.effective, s.file, s.rows) for s in sources.values()],
        )
        built = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        imported = [s for s in sources.values() if not s.file.startswith(("starter subset",
                                                                          "consult/kb"))]
        version = (f"starter-{STARTER_VERSION}" if sources_dir is None
                   else f"cms-{built[:10]}-{len(imported)}src")
        conn.executemany(
            "INSERT INTO meta VALUES (?, ?)",
            [("schema", SCHEMA_VERSION), ("kb_version", version), ("built_at", built)],
        )
        conn.commit()
        if sources_dir is None:
            conn.execute("VACUUM")
        conn.execute("PRAGMA optimize")
        conn.close()
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    report.sources = sorted(sources.values(), key=lambda s: s.name)
    report.seconds = time.perf_counter() - started
    report.size_bytes = out.stat().st_size
    return report
