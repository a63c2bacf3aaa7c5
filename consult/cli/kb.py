"""`consult kb ...` and `consult suggest`: build, update and inspect the knowledge base."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from consult.cli.common import CliState

if TYPE_CHECKING:
    from consult.kb.build import BuildReport
    from consult.kb.model import PfsInfo
    from consult.kb.store import KnowledgeBase


class _RichBar:
    """A rich progress bar on stderr for long imports (rows counted as they go in)."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
            MofNCompleteColumn(), TextColumn("rows"), TimeElapsedColumn(),
            console=Console(stderr=True), transient=False,
        )
        self._task: Any = None

    def start(self, label: str, total: int | None = None) -> None:
        self._progress.start()
        self._task = self._progress.add_task(label, total=total)

    def update(self, done: int) -> None:
        if self._task is not None:
            self._progress.update(self._task, completed=done)

    def finish(self) -> None:
        self._progress.stop()
        self._task = None


def _summary(report: BuildReport) -> None:
    click.echo(f"{'source':24} {'version':18} {'effective':11} {'rows':>9}  file")
    for s in report.sources:
        click.echo(f"{s.name:24} {s.version:18} {s.effective:11} {s.rows:>9}  {s.file}")
    for line in report.skipped:
        click.echo(f"  skipped {line}", err=True)
    size = report.size_bytes / 1e6
    click.echo(f"KB written to {report.path} ({size:.1f} MB, {report.seconds:.1f} s)")


@click.group("kb")
def kb_group() -> None:
    """Build, update and inspect the code knowledge base."""


@kb_group.command("build")
@click.option("--out", "out", type=click.Path(path_type=Path), help="KB file to write.")
@click.option(
    "--from", "sources_dir", type=click.Path(path_type=Path, file_okay=False),
    help="Folder with CMS files (ccipra/ccioph PTP, MUE, AOC, HCPCS ANWEB, PPRRVU, a licensed "
    "cpt*.txt, *ptp*.csv edit tables), plain, zipped or gzipped. Without it: the starter KB.",
)
@click.option(
    "--ptp-setting", default=None,
    help="Setting or payer of *ptp*.csv edit tables (practitioner, hospital, or a payer name). "
    "Default: hospital when the file name says so, else practitioner.",
)
@click.pass_obj
def kb_build(
    state: CliState, out: Path | None, sources_dir: Path | None, ptp_setting: str | None
) -> None:
    """Build the KB atomically (a failed build keeps the old KB) and print a summary.

    The licensed CPT descriptor file, when you have one, is a text file named cpt*.txt with
    one `CODE<TAB>DESCRIPTOR` per line.
    """
    from consult.kb.build import build_kb

    target = out or state.settings.resolved_kb_path
    report = build_kb(
        target, sources_dir, progress=lambda m: click.echo(f"  {m}", err=True),
        bar=_RichBar() if sources_dir else None, ptp_setting=ptp_setting,
    )
    _summary(report)


@kb_group.command("update")
@click.option("--accept-ama-license", is_flag=True,
              help="Accept the AMA license for CPT content (needed for PTP, MUE, AOC, RVU).")
@click.option("--out", "out", type=click.Path(path_type=Path), help="KB file to write.")
@click.option("--base-url", default=None, help="Download from here (default: CONSULT_KB_BASE_URL).")
@click.option("--manifest", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="TOML list of release files to download (default: the packaged list).")
@click.pass_obj
def kb_update(
    state: CliState, accept_ama_license: bool, out: Path | None, base_url: str | None,
    manifest: Path | None,
) -> None:
    """Download the current CMS releases and build the KB from them."""
    from consult.kb.update import update_kb

    target = out or state.settings.resolved_kb_path
    dl, report = update_kb(
        target, base_url or state.settings.kb_base_url, accept_ama_license=accept_ama_license,
        manifest=manifest, progress=lambda m: click.echo(f"  {m}", err=True), bar=_RichBar(),
    )
    for line in dl.skipped:
        click.echo(f"  not downloaded: {line}", err=True)
    click.echo(f"downloaded {len(dl.downloaded)} files ({dl.bytes / 1e6:.1f} MB)")
    _summary(report)


def _d(value: object) -> str:
    return value.isoformat() if value is not None else ""  # type: ignore[attr-defined]


def show_data(kb: KnowledgeBase, code: str, *, limit: int = 5) -> dict[str, Any]:
    """Everything the KB knows about one code, as plain data (for text or JSON output)."""
    info = kb.code(code)
    data: dict[str, Any] = {"code": code, "known": info is not None, "kb_version": kb.version}
    if info is None:
        return data
    data.update(
        system=info.system, description=info.description, lay_description=info.lay_description,
        status=info.status, billable=info.billable, status_note=info.status_note(),
        effective_date=_d(info.effective_date), end_date=_d(info.end_date),
        replaced_by=list(info.replaced_by), source=kb.citation(info.source),
    )
    if info.system == "ICD10CM":
        data["children"] = [c.code for c in kb.children(code, limit=limit)]
        data["billable_children"] = kb.count_children(code)
        data["seventh_characters"] = kb.seventh_characters(code)
        data["notes"] = [
            {"kind": n.kind, "text": n.text, "refs": list(n.refs), "from": n.from_code}
            for n in kb.icd_notes(code) if n.kind != "seventh_char"
        ]
        return data
    ptp: dict[str, Any] = {}
    for setting in kb.ptp_settings():
        for col in (1, 2):
            count, edits = kb.ptp_for(code, as_column=col, setting=setting, limit=limit)
            if count:
                ptp[f"{setting}_as_column{col}"] = {
                    "count": count,
                    "active": kb.ptp_active_count(code, as_column=col, setting=setting),
                    "first": [
                        {"column1": e.column1, "column2": e.column2,
                         "modifier_indicator": e.modifier_indicator, "rationale": e.rationale,
                         "effective": _d(e.effective_date), "deleted": _d(e.deletion_date)}
                        for e in edits
                    ],
                    "source": edits[0].source if edits else "",
                }
    data["ptp"] = ptp
    data["mue"] = {
        s: {"value": m.value, "adjudication": m.adjudication, "rationale": m.rationale,
            "source": m.source}
        for s in ("practitioner", "hospital", "dme") if (m := kb.mue(code, s))
    }
    rule = kb.addon(code)
    if rule:
        data["addon"] = {"type": rule.edit_type, "primaries": list(rule.primaries),
                         "source": rule.source}
    data["addons_with_this_primary"] = kb.addons_for_primary(code)
    rows = kb.pfs_rows(code)
    if rows:
        main = rows[0] if rows[0].modifier == "" else None
        if main is not None:
            data["pfs"] = _pfs_data(main)
        data["pfs_modifier_rows"] = {r.modifier: _pfs_data(r) for r in rows if r.modifier}
        family = kb.endoscopy_family(code)
        if family is not None:
            data["endoscopy_family"] = {"base": family.base, "members": list(family.members),
                                        "source": family.source}
    if info.system == "HCPCS":
        unit = kb.dose_unit(code)
        if unit is not None:
            data["dose_unit"] = {"kind": unit.kind, "amount": unit.amount, "unit": unit.unit,
                                 "dimension": unit.dimension, "text": unit.text,
                                 "label": unit.label()}
        data["action"] = info.action
        data["action_date"] = _d(info.action_date)
        if info.status in ("deleted", "terminated"):
            data["current_replacements"] = kb.replacements(code)
    if kb.coverage_loaded()["code_lists"]:
        found = kb.coverage_for_code(code)
        data["coverage_documents"] = [
            {"doc_id": d.doc_id, "kind": d.kind, "title": d.title, "version": d.version,
             "url": d.url} for d in found.documents[:limit]]
    data["guidelines"] = kb.guidelines(code)
    return data


def _pfs_data(p: PfsInfo) -> dict[str, Any]:
    """A PFS row as plain data: each indicator with its meaning, RVUs and the national
    payment (RVU total x conversion factor)."""
    from consult.kb.pfs_terms import meaning

    out: dict[str, Any] = {"modifier": p.modifier}
    for name in ("status", "pctc", "global_days", "mult_proc", "bilat", "assistant",
                 "co_surgeons", "team"):
        value = getattr(p, name)
        out[name] = value
        out[f"{name}_meaning"] = meaning(name, value)
    out.update(
        endo_base=p.endo_base, not_used_for_medicare=p.not_used_for_medicare,
        work_rvu=p.work_rvu, nonfacility_pe_rvu=p.nonfacility_pe_rvu,
        nonfacility_na=p.nonfacility_na, facility_pe_rvu=p.facility_pe_rvu,
        facility_na=p.facility_na, mp_rvu=p.mp_rvu, nonfacility_total=p.nonfacility_total,
        facility_total=p.facility_total,
        global_shares=({"pre": p.pre_op, "intra": p.intra_op, "post": p.post_op}
                       if p.global_shares else None),
        conversion_factor=p.conversion_factor, payable=p.payable,
        payment_nonfacility=p.payment_nonfacility,
        payment_facility=p.payment_facility, supervision=p.supervision,
        imaging_family=p.imaging_family, version=p.version, source=p.source,
    )
    return out


def _money(value: float | None) -> str:
    return f"${value:,.2f}" if value is not None else "n/a"


def _print_pfs(p: dict[str, Any]) -> None:
    label = {"26": "professional component (26)", "TC": "technical component (TC)",
             "53": "discontinued (53)"}.get(p["modifier"], "")
    head = f"  PFS {label}:" if label else "  PFS:"
    click.echo(f"{head} status {p['status']} - {p['status_meaning']}")
    if not label:
        click.echo(f"    global {p['global_days']} - {p['global_days_meaning']}")
        if p["global_shares"]:
            g = p["global_shares"]
            click.echo(f"    global package shares: pre {g['pre']:.0%}, intra {g['intra']:.0%}, "
                       f"post {g['post']:.0%}")
        for name, title in (("pctc", "PC/TC"), ("mult_proc", "multiple procedure"),
                            ("bilat", "bilateral"), ("assistant", "assistant at surgery"),
                            ("co_surgeons", "co-surgeons"), ("team", "team surgery")):
            click.echo(f"    {title} {p[name]} - {p[name + '_meaning']}")
        if p["endo_base"]:
            click.echo(f"    endoscopic base code {p['endo_base']}")
    if p["nonfacility_total"] is not None:
        flag = " (not used for Medicare payment)" if p["not_used_for_medicare"] else ""
        nf_na = " [NA: rarely done outside a facility]" if p["nonfacility_na"] else ""
        f_na = " [NA: rarely done in a facility]" if p["facility_na"] else ""
        click.echo(f"    RVUs{flag}: work {p['work_rvu']:.2f}, total non-facility "
                   f"{p['nonfacility_total']:.2f}{nf_na}, total facility "
                   f"{p['facility_total']:.2f}{f_na}")
        if p["payable"]:
            click.echo(f"    national payment: non-facility {_money(p['payment_nonfacility'])}"
                       f", facility {_money(p['payment_facility'])} (RVUs x conversion factor "
                       f"{p['conversion_factor']}, before geographic adjustment)")
        else:
            click.echo(f"    national payment: none under the fee schedule (status "
                       f"{p['status']}: the RVUs are not used for Medicare payment)")


def _print_show(data: dict[str, Any]) -> None:
    code = data["code"]
    if not data["known"]:
        click.echo(f"{code}: not in this knowledge base ({data['kb_version']}).")
        return
    if data["status_note"]:
        click.echo(f"!! {data['status_note']}")
    click.echo(f"{code} ({data['system']}): {data['description']}")
    if data["lay_description"] and data["lay_description"] != data["description"]:
        click.echo(f"  in plain words: {data['lay_description']}")
    state = data["status"] + ("" if data["billable"] else ", not billable")
    click.echo(f"  status: {state}" + (f", ended {data['end_date']}" if data["end_date"] else "")
               + (f", from {data['effective_date']}" if data["effective_date"] else ""))
    click.echo(f"  source: {data['source']}")
    if data["system"] == "ICD10CM":
        if data["children"]:
            click.echo(f"  billable codes below: {data['billable_children']} "
                       f"(first: {', '.join(data['children'])})")
        if data["seventh_characters"]:
            chars = ", ".join(f"{k} {v}" for k, v in list(data["seventh_characters"].items())[:6])
            click.echo(f"  7th characters: {chars}")
        for n in data["notes"]:
            where = f" [from {n['from']}]" if n["from"] else ""
            refs = f" -> {', '.join(n['refs'])}" if n["refs"] else ""
            click.echo(f"  {n['kind']}{where}: {n['text']}{refs}".replace("\n", " "))
        return
    for key, block in data["ptp"].items():
        setting, _, col = key.partition("_as_")
        click.echo(f"  PTP {setting}, as {col.replace('column', 'column ')}: {block['count']} "
                   f"edits ({block['active']} active) - {block['source']}")
        for e in block["first"]:
            ended = f", deleted {e['deleted']}" if e["deleted"] else ""
            click.echo(f"    {e['column1']} / {e['column2']}  modifier {e['modifier_indicator']}"
                       f"  {e['rationale']}{ended}")
    for setting, m in data["mue"].items():
        click.echo(f"  MUE {setting}: {m['value']} ({m['adjudication']}; {m['rationale']})")
    if "addon" in data:
        prim = data["addon"]["primaries"]
        click.echo(f"  add-on code (type {data['addon']['type']}), primaries: {len(prim)} "
                   f"({', '.join(prim[:12])}{' ...' if len(prim) > 12 else ''})")
    if data["addons_with_this_primary"]:
        click.echo(f"  add-on codes with this primary: "
                   f"{', '.join(data['addons_with_this_primary'][:12])}")
    if "pfs" in data:
        _print_pfs(data["pfs"])
        click.echo(f"    source: {data['pfs']['source']}")
    for row in data.get("pfs_modifier_rows", {}).values():
        _print_pfs(row)
    if "endoscopy_family" in data:
        fam = data["endoscopy_family"]
        more = " ..." if len(fam["members"]) > 12 else ""
        click.echo(f"  endoscopy family of {fam['base']}: {len(fam['members'])} codes "
                   f"({', '.join(fam['members'][:12])}{more})")
    if "dose_unit" in data:
        click.echo(f"  billing unit: {data['dose_unit']['label']} (from the descriptor: "
                   f"\"{data['dose_unit']['text']}\")")
    if data.get("current_replacements"):
        click.echo(f"  report instead (following replacements): "
                   f"{', '.join(data['current_replacements'])}")
    for d in data.get("coverage_documents", []):
        click.echo(f"  coverage: {d['doc_id']} ({d['kind']}) {d['title']}")
    for note in data["guidelines"]:
        click.echo(f"  note: {note}")


@kb_group.command("show")
@click.argument("code")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--limit", default=5, show_default=True, help="How many edits to list per column.")
@click.pass_obj
def kb_show(state: CliState, code: str, as_json: bool, limit: int) -> None:
    """Print all the KB knows about a code: status first, then edits, MUE, add-on, PFS."""
    data = show_data(state.kb, code.strip().upper(), limit=limit)
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        _print_show(data)


@kb_group.command("sources")
@click.option("--on", "on", default=None, metavar="YYYY-MM-DD",
              help="A date of service: say for each table whether it covers that date.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def kb_sources(state: CliState, on: str | None, as_json: bool) -> None:
    """List the sources the KB was built from: version, period (quarter, fiscal year or
    snapshot date), effective and last day, rows; with --on, whether each covers that date."""
    from datetime import date

    from consult.errors import ConsultError

    kb = state.kb
    try:
        when = date.fromisoformat(on) if on else None
    except ValueError:
        raise ConsultError(f"--on {on!r} is not a date; write it as YYYY-MM-DD.") from None
    sources = kb.sources()
    rows = []
    for cur in kb.currency(when):
        sv = sources[cur.name]
        rows.append({
            "name": cur.name, "label": cur.label, "version": sv.version, "period": cur.period,
            "effective": _d(cur.effective), "through": _d(cur.through), "rows": sv.rows,
            "file": sv.file, "citation": sv.citation(), "status": cur.status,
            "note": cur.note,
        })
    if as_json:
        click.echo(json.dumps({"kb_version": kb.version, "built_at": kb.built_at,
                               "date_of_service": on, "sources": rows}, indent=2))
        return
    click.echo(f"KB {kb.version} built {kb.built_at} at {kb.path}")
    for r in rows:
        span = f"{r['effective']} to {r['through']}" if r["through"] else r["effective"]
        click.echo(f"  {r['name']:22} {r['version']:16} {r['period']:17} {span:25} "
                   f"{r['rows']:>9} rows")
    if when is not None:
        click.echo(f"For a date of service {when.isoformat()}:")
        for r in rows:
            if r["status"] != "undated":
                click.echo(f"  {r['name']:22} {r['status']:7} {r['note']}")


@click.command("suggest")
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--limit", default=10, show_default=True, help="How many candidates.")
@click.pass_obj
def suggest(state: CliState, text: str, as_json: bool, limit: int) -> None:
    """Ranked candidate codes for a coder's narrative (Case2Code), best first.

    With --json: a list of {system, code, description, score}; when nothing is close enough
    (or the text is a greeting, signature or cover note) an object {"abstained": reason,
    "candidates": []} instead.
    """
    from consult.suggest import suggest as case2code

    result = case2code(text, state.kb, limit)
    if as_json:
        rows = [{"system": c.system, "code": c.code, "description": c.description,
                 "score": c.score} for c in result.candidates]
        if result.abstained:
            click.echo(json.dumps({"abstained": result.abstained, "candidates": rows},
                                  indent=2))
        else:
            click.echo(json.dumps(rows, indent=2))
        return
    if result.abstained:
        click.echo(f"No suggestion: {result.abstained}.")
        return
    for c in result.candidates:
        note = f"  [{c.note}]" if c.note else ""
        click.echo(f"{c.score:8.3f}  {c.system:8} {c.code:9} {c.description}{note}")
    for b in result.bundled:
        click.echo(f"  note: {b.text()}")


def register(group: click.Group) -> None:
    group.add_command(kb_group)
    group.add_command(suggest)
