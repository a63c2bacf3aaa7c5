"""What the code pages show, as plain dicts built from the KB (no web types, easy to test).

``code_search`` answers the Codes page's search box (a code, or a coder's words run through
Case2Code); ``code_view`` gathers all the KB knows about one code: its lay description and
status (deleted codes with their replacement), PTP edits both ways with their indicators,
MUEs, add-on primaries, the PFS record (every field the KB's ``PfsInfo`` has, whatever the
release adds), ICD-10-CM notes and coverage documents when the KB holds them.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import date
from typing import Any

from consult.kb.model import PtpEdit
from consult.kb.store import MUE_SETTINGS, KnowledgeBase
from consult.suggest import lay_description, suggest

CODE_SHAPE = re.compile(r"^\s*([0-9]{4}[0-9FTUM]|[A-Z][0-9]{4}|"
                        r"[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?)\s*$", re.I)
PTP_LIMIT = 50

#: Labels for the PFS fields the KB has today; a field a later release adds shows its name.
PFS_LABELS = {
    "status": "Status indicator", "global_days": "Global days", "mult_proc":
    "Multiple procedure indicator", "pctc": "PC/TC indicator", "bilat": "Bilateral indicator",
    "endo_base": "Endoscopic base code",
}


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _ptp_json(e: PtpEdit) -> dict[str, Any]:
    meaning = {"0": "never together", "1": "allowed with a modifier when distinct",
               "9": "not applicable"}.get(e.modifier_indicator, "")
    return {"column1": e.column1, "column2": e.column2,
            "modifier_indicator": e.modifier_indicator, "meaning": meaning,
            "rationale": e.rationale, "effective": _iso(e.effective_date),
            "deleted": _iso(e.deletion_date), "setting": e.setting, "source": e.source}


def _normalize_code(text: str) -> str:
    code = text.strip().upper()
    hcpcs = len(code) == 5 and code[1:].isdigit()
    if re.fullmatch(r"[A-Z][0-9][0-9A-Z][0-9A-Z]{1,4}", code) and not hcpcs:
        code = code[:3] + "." + code[3:]  # ICD-10-CM written without the dot
    return code


def code_search(kb: KnowledgeBase, q: str, limit: int = 15) -> dict[str, Any]:
    """A code looked up directly, else Case2Code candidates for the words."""
    q = q.strip()
    if not q:
        return {"query": "", "results": [], "abstained": ""}
    if CODE_SHAPE.match(q):
        info = kb.code(_normalize_code(q))
        if info is not None:
            return {"query": q, "abstained": "", "results": [{
                "system": info.system, "code": info.code, "description": info.description,
                "score": 1.0, "status": info.status}]}
    result = suggest(q, kb, limit)
    return {
        "query": q, "abstained": result.abstained,
        "results": [{"system": c.system, "code": c.code, "description": c.description,
                     "score": c.score, "confidence": c.confidence, "role": c.role,
                     "note": c.note} for c in result.candidates],
        "bundled": [{"code": b.code, "into": b.into, "modifier_indicator":
                     b.modifier_indicator, "text": b.text()} for b in result.bundled],
    }


def _ptp_side(kb: KnowledgeBase, code: str, *, as_column: int, setting: str, other: str,
              limit: int) -> dict[str, Any]:
    """Active edits with ``code`` in one column; ``other`` filters the other column's code."""
    col, other_col = ("column1", "column2") if as_column == 1 else ("column2", "column1")
    total = kb.ptp_active_count(code, as_column=as_column, setting=setting)
    conn = kb._conn()  # the KB's read-only connection: an indexed prefix query
    table = conn.execute("SELECT id FROM ptp_tables WHERE setting = ?", (setting,)).fetchone()
    edits: list[dict[str, Any]] = []
    if table is not None:
        rows = conn.execute(
            f"SELECT DISTINCT {other_col} FROM ptp WHERE {col} = ? AND tbl = ? AND deletion = 0 "
            f"AND {other_col} LIKE ? ORDER BY {other_col} LIMIT ?",
            (code, table[0], other.strip().upper() + "%", limit)).fetchall()
        for (partner,) in rows:
            first, second = (code, partner) if as_column == 1 else (partner, code)
            edit = kb.ptp(first, second, setting=setting)
            if edit is not None:
                edits.append(_ptp_json(edit))
    return {"total": total, "shown": len(edits), "edits": edits}


def _coverage(kb: KnowledgeBase, code: str) -> list[dict[str, Any]]:
    """Coverage documents for a code, when the KB has them (a later KB release adds them)."""
    for name in ("coverage_documents", "coverage_for", "coverage"):
        finder = getattr(kb, name, None)
        if not callable(finder):
            continue
        try:
            docs = finder(code)
        except Exception:  # an older KB without the tables: show nothing rather than fail
            return []
        out = []
        for d in docs or []:
            if dataclasses.is_dataclass(d) and not isinstance(d, type):
                out.append({k: _iso(v) for k, v in dataclasses.asdict(d).items()})
            elif isinstance(d, dict):
                out.append(d)
        return out
    return []


def code_view(kb: KnowledgeBase, code: str, *, ptp_q: str = "",
              setting: str = "practitioner") -> dict[str, Any] | None:
    """All the KB knows about ``code``; None when it does not know the code."""
    info = kb.code(_normalize_code(code))
    if info is None:
        lay = lay_description(kb, code.strip().upper())
        if not lay:
            return None
        return {"code": code.strip().upper(), "system": "CPT", "description": lay, "lay": lay,
                "status": "not in this KB", "status_note": "The KB was built without a file "
                "that lists this code; only the project's lay description is known.",
                "billable": True, "effective": None, "end": None, "replaced_by": [],
                "source": "consult lay descriptions", "guidelines": [], "coverage": []}
    code = info.code
    lay = info.lay_description if info.lay_description != info.description else ""
    own = lay_description(kb, code) if info.system == "CPT" else ""
    view: dict[str, Any] = {
        "code": code, "system": info.system, "description": info.description,
        "lay": lay or (own if own != info.description else ""),
        "status": info.status, "status_note": info.status_note(),
        "billable": info.billable, "effective": _iso(info.effective_date),
        "end": _iso(info.end_date), "replaced_by": list(info.replaced_by),
        "source": kb.citation(info.source) if info.source else "",
        "guidelines": kb.guidelines(code),
    }
    if info.system in ("CPT", "HCPCS"):
        settings = kb.ptp_settings()
        setting = setting if setting in settings else (settings[0] if settings else setting)
        view["ptp"] = {
            "setting": setting, "settings": settings, "query": ptp_q,
            "as_column1": _ptp_side(kb, code, as_column=1, setting=setting, other=ptp_q,
                                    limit=PTP_LIMIT),
            "as_column2": _ptp_side(kb, code, as_column=2, setting=setting, other=ptp_q,
                                    limit=PTP_LIMIT),
        }
        mues = []
        for mue_setting in MUE_SETTINGS:
            m = kb.mue(code, mue_setting)
            if m is not None:
                mues.append({"setting": m.setting, "value": m.value,
                             "adjudication": m.adjudication, "rationale": m.rationale,
                             "source": m.source})
        view["mue"] = mues
        rule = kb.addon(code)
        view["addon"] = None if rule is None else {
            "edit_type": rule.edit_type, "primaries": list(rule.primaries), "note": rule.note,
            "source": rule.source}
        view["addons_for_primary"] = kb.addons_for_primary(code)
        pfs = kb.pfs(code)
        view["pfs"] = None if pfs is None else [
            {"field": f.name, "label": PFS_LABELS.get(f.name, f.name.replace("_", " ")),
             "value": _iso(getattr(pfs, f.name))}
            for f in dataclasses.fields(pfs) if f.name not in ("code", "source")
        ]
        view["pfs_source"] = pfs.source if pfs is not None else ""
        view["global_days"] = pfs.global_days if pfs is not None else ""
    if info.system == "ICD10CM":
        notes: dict[str, list[dict[str, str]]] = {}
        for n in kb.icd_notes(code):
            notes.setdefault(n.kind, []).append({"text": n.text, "from": n.from_code,
                                                 "refs": ", ".join(n.refs)})
        view["icd_notes"] = notes
        view["seventh_characters"] = kb.seventh_characters(code)
        view["ancestors"] = kb.icd_ancestors(code)
    view["coverage"] = _coverage(kb, code)
    return view
