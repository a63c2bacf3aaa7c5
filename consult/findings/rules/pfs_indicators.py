"""PFS indicators that pick a modifier: PC/TC (26, TC), bilateral (50, RT/LT), surgeons.

From the RVU file's indicators, with meanings in the project's own words (RVU25D record
layout; CMS Claims Processing Manual ch. 12 sec. 20.4.3, 40.7, 40.8, 20.4.3):

- PC/TC 1 splits a test into a professional (26) and a technical (TC) component: the physician
  who only reads reports 26, the owner of the equipment TC, one who does both neither. PC/TC 4
  is a global test-only code (93000): no 26 or TC; its components have their own codes (the
  read 93010, PC/TC 2; the tracing 93005, PC/TC 3), which need no modifier either.
- Bilateral 1: one line with 50, paid at 150 %; 2: the code is already bilateral, no 50, paid
  once; 3: each side paid at 100 % (RT and LT), no 150 % rule; 0: 50 is not paid as bilateral.
- Assistant at surgery, co-surgeons (62, 62.5 % each) and team surgery (66) are allowed or not
  by their indicators; a physician assistant reports 80/82, a PA, NP or CNS reports AS.

Each check speaks only when the mail is about it: the modifier is on the code or offered, or
the words say so (a read only, both knees, an assistant).
"""

from __future__ import annotations

import re

from consult.findings.context import RuleContext
from consult.findings.model import Finding
from consult.kb.model import PfsInfo
from consult.kb.pfs_terms import meaning

_READ = re.compile(r"(?i)\bread(?:s|ing)?\b|\binterpret|\bprofessional\s+(?:component|only)|"
                   r"\bhospital\s+(?:owns|does|did)|\bhospital'?s?\s+(?:machine|equipment)|"
                   r"\bat\s+the\s+hospital|\bfacility\s+(?:owns|does)")
_OWN = re.compile(r"(?i)\bour\s+(?:own\s+)?(?:machine|equipment|office)|\bin\s+(?:our|the)\s+"
                  r"office|\bwe\s+(?:own|do\s+the\s+tracing)")
_BILATERAL = re.compile(r"(?i)\bbilat|\bboth\s+(?:sides|knees|ears|eyes|shoulders|hips|feet|"
                        r"breasts|hands|wrists|ankles|legs|arms)|\bb/l\b|\bleft\s+and\s+right|\bright\s+"
                        r"and\s+left|\bRT\s*(?:and|&|/)\s*LT|\bLT\s*(?:and|&|/)\s*RT")
_SURGEONS = re.compile(r"(?i)\bassist|\bco-?surg|\bteam\s+surg|\bfirst\s+assist|"
                       r"\bmod(?:ifier)?\s*-?(?:80|81|82|AS|62|66)\b")
#: A word each match of ``_READ`` / ``_SURGEONS`` / ``_BILATERAL`` holds (see ``ctx.says``).
_READ_NEEDS = ("read", "interpret", "professional", "hospital", "facility")
_SURGEONS_NEEDS = ("assist", "surg", "mod")
_BILATERAL_NEEDS = ("bilat", "both", "b/l", "left", "right", "rt")
_ASSIST_NEEDS = ("assist",)
_CO_SURGEON_NEEDS = ("surg", "62")
RVU = "CMS Medicare PFS relative value file"
#: The finding rule names this module emits, with their labels, in display order.
LABELS = {"pctc": "Professional and technical components", "bilateral": "Bilateral procedure",
          "surgeons": "Assistant, co-surgeon and team surgery"}
_JOINTS = re.compile(r"\b(knee|shoulder|hip|elbow|wrist|ankle|ear|eye)s?\b")


_ELSEWHERE = re.compile(r"(?i)\bhospital|\bfacility\b|\boutside\b|\breference\s+lab|\bimaging\s+"
                        r"cent(?:er|re)|\bother\s+(?:practice|provider|group|lab)|\bprofessional\s+"
                        r"(?:component\s+)?only|\b(?:read|interpretation)\s+only")


_ASSIST = re.compile(r"(?i)assist")
_CO_SURGEON = re.compile(r"(?i)co-?surg|\b62\b")


def professional_only(ctx: RuleContext) -> bool:
    """The mail's practice only reads the test: it says so, or it says someone else (a
    hospital, an outside lab) does the technical part; never "we own the machine"."""
    return ctx.says(_READ, _READ_NEEDS) and ctx.says(_ELSEWHERE) and not ctx.says(_OWN)


def _mods(ctx: RuleContext, code: str) -> set[str]:
    return set(ctx.modifiers_on(code)) | set(ctx.modifier_options(code))


def _components(ctx: RuleContext, code: str) -> tuple[str, str]:
    """(professional-only, technical-only) codes that follow a global test-only code in the
    code set (93000 -> 93010, 93005), '' when none is found."""
    if not code.isdigit():
        return "", ""
    pc = tc = ""
    for n in range(int(code) + 1, int(code) + 16):
        info = ctx.kb.pfs(str(n))
        if info is None:
            continue
        if info.pctc == "4":
            break
        if info.pctc == "2" and not pc:
            pc = str(n)
        if info.pctc == "3" and not tc:
            tc = str(n)
    return pc, tc


def _pctc(ctx: RuleContext, code: str, info: PfsInfo) -> Finding | None:
    mods = _mods(ctx, code)
    applied = set(ctx.modifiers_on(code))
    reading = ctx.says(_READ, _READ_NEEDS)
    label = meaning("pctc", info.pctc)
    if {"26", "TC"} <= applied:
        answer = (f"26 and TC together on {code} are the global service: report {code} "
                  "without either.")
        return Finding("pctc", [code], "error", answer, info.source, 0.9, {"answer": answer})
    if {"26", "TC"} & mods and info.pctc in ("0", "9"):
        mod = "26" if "26" in mods else "TC"
        answer = (f"{mod} does not belong on {code}: its PC/TC indicator is {info.pctc} "
                  f"({label}).")
        return Finding("pctc", [code], "warning", answer, info.source, 0.9, {"answer": answer})
    if not ({"26", "TC"} & mods or reading or ctx.asks("payment")) or info.pctc not in (
            "1", "2", "3", "4"):
        return None
    if info.pctc == "4":
        pc, tc = _components(ctx, code)
        if not ({"26", "TC"} & mods or reading):
            return None
        parts = [f"the read only is {pc} (PC/TC 2)" if pc else "",
                 f"the tracing only is {tc} (PC/TC 3)" if tc else ""]
        split = "; ".join(p for p in parts if p)
        answer = (f"{code} is a global test-only code (PC/TC 4): 26 and TC cannot be used on it"
                  + (f"; for the read only report {pc}" if pc and (reading or "26" in mods)
                     else "")
                  + (f"; for the tracing only report {tc}" if tc and "TC" in mods else "")
                  + f"; {code} itself is right when you do both the tracing and the read.")
        detail = f"{code} has PC/TC indicator 4: {label}." + (f" Its components: {split}."
                                                                if split else "")
        return Finding("pctc", [code, *[c for c in (pc, tc) if c]], "warning", detail,
                       info.source, 0.9, {"answer": answer})
    if info.pctc in ("2", "3"):
        mod = "26" if info.pctc == "2" else "TC"
        if mod not in mods:
            return None
        answer = f"{code} is itself the {'professional' if mod == '26' else 'technical'} " \
                 f"component (PC/TC {info.pctc}): report it without {mod}."
        return Finding("pctc", [code], "warning", f"{code} has PC/TC indicator {info.pctc}: "
                       f"{label}.", info.source, 0.9, {"answer": answer})
    if professional_only(ctx):
        answer = (f"Report {code}-26 for the read (professional component; PC/TC 1); the "
                  f"technical component ({code}-TC) is billed by whoever owns the equipment, "
                  "here the hospital.")
    elif ("26" in mods and "TC" in mods) or (reading and ctx.says(_OWN)):
        answer = (f"For {code} done and read by the same practice, report it without 26 or TC "
                  "(the global service); 26 is the read only, TC the equipment and staff only.")
    else:
        answer = (f"{code} splits into 26 (the read) and TC (the equipment and technologist): "
                  "report 26 when you only read it, TC when you only do the test, neither when "
                  "you do both.")
    detail = f"{code} has PC/TC indicator 1: {label}."
    return Finding("pctc", [code], "info", detail, info.source, 0.9, {"answer": answer})


def _bilateral(ctx: RuleContext, code: str, info: PfsInfo) -> Finding | None:
    mods = _mods(ctx, code)
    line = ctx.line(code)
    units = line.units if line else None
    both_sides = "50" in mods or {"RT", "LT"} <= mods
    em = code.isdigit() and 99202 <= int(code) <= 99499
    if not both_sides and (info.bilat not in ("1", "2", "3") or em):
        return None  # words alone ("both knees") speak only of codes with a bilateral rule
    joints = {j for j in _JOINTS.findall(ctx.text.lower())}
    if {"RT", "LT"} <= mods and len(joints) > 1 and "50" not in mods:
        answer = (f"{code} on two different sites ({' and '.join(sorted(joints))}) is not a "
                  "bilateral procedure: report two lines with RT and LT (each paid at 100%, "
                  "subject to the multiple-procedure rule), not 50.")
        return Finding("bilateral", [code], "info", answer, info.source, 0.85,
                       {"bilat": info.bilat, "answer": answer})
    if not (both_sides or ctx.says(_BILATERAL, _BILATERAL_NEEDS) or (units or 1) == 2) or \
            info.bilat not in ("0", "1", "2", "3"):
        return None
    label = meaning("bilat", info.bilat)
    both_on_one = {"LT", "RT"} <= set(ctx.modifiers_on(code))
    if info.bilat == "1":
        answer = (f"Report {code}-50 on one line with 1 unit: bilateral indicator 1, Medicare "
                  "pays 150% of the one-side amount (not 2 units, not 200%)"
                  + (", not LT and RT on one line." if both_on_one else "."))
    elif info.bilat == "2":
        answer = (f"{code} is already bilateral (indicator 2): report it once without 50 or "
                  "RT/LT; it is paid at 100% whether one or both sides were done, not 150%.")
    elif info.bilat == "3":
        answer = (f"{code} has bilateral indicator 3: no 150% rule; each side is paid at 100% "
                  f"of its own amount - report {code}-RT and {code}-LT.")
    else:
        answer = (f"{code} has bilateral indicator 0: the bilateral rule does not apply; "
                  "modifier 50 gets no extra payment.")
    detail = f"{code} has bilateral indicator {info.bilat}: {label}."
    return Finding("bilateral", [code], "warning", detail, info.source, 0.9,
                   {"bilat": info.bilat, "answer": answer})


def _surgeons(ctx: RuleContext, code: str, info: PfsInfo) -> Finding | None:
    mods = _mods(ctx, code)
    wanted = {"80", "81", "82", "AS", "62", "66"} & mods
    # without one of these modifiers, the answer below needs the words of an assistant or a
    # co-surgeon: checked first, they spare the longer pattern in most mails
    if not (wanted or ctx.says(_ASSIST, _ASSIST_NEEDS) or ctx.says(_CO_SURGEON, _CO_SURGEON_NEEDS)):
        return None
    if info.global_days not in ("000", "010", "090") or not (
            wanted or ctx.says(_SURGEONS, _SURGEONS_NEEDS)):
        return None
    notes, answer = [], []
    if info.assistant in ("0", "1", "2"):
        notes.append(f"assistant indicator {info.assistant}: "
                     f"{meaning('assistant', info.assistant)}")
        if ctx.says(_ASSIST, _ASSIST_NEEDS) or {"80", "81", "82", "AS"} & mods:
            verdict = {"0": "is paid only with documentation of medical necessity",
                       "1": "is not paid (statutory restriction)",
                       "2": "may be paid"}[info.assistant]
            answer.append(f"An assistant at surgery on {code} {verdict} (assistant indicator "
                          f"{info.assistant}). A PA, NP or CNS who assists reports AS. An "
                          "assisting physician reports 80, or 82 when no qualified resident "
                          "was available.")
    if info.co_surgeons in ("0", "1", "2"):
        notes.append(f"co-surgeon indicator {info.co_surgeons}: "
                     f"{meaning('co_surgeons', info.co_surgeons)}")
        if ctx.says(_CO_SURGEON, _CO_SURGEON_NEEDS) or "62" in mods:
            verdict = {"0": "are not allowed", "1": "are paid only with documentation",
                       "2": "are allowed"}[info.co_surgeons]
            answer.append(f"Co-surgeons on {code} {verdict} (co-surgeon indicator "
                          f"{info.co_surgeons}); modifier 62 means two surgeons of different "
                          "specialties, each reporting 62 and paid 62.5% of the fee schedule "
                          "amount.")
    if not answer:
        return None
    detail = f"{code}: " + "; ".join(notes) + "."
    return Finding("surgeons", [code], "info", detail,
                   f"{info.source}; CMS Claims Processing Manual ch. 12 sec. 20.4.3 and 40.8",
                   0.9, {"answer": " ".join(answer)})


def _codes(ctx: RuleContext) -> list[str]:
    """The mail's procedure codes, and for a terminated one the code that replaced it (the
    question about its modifiers is then a question about the replacement)."""
    out = []
    for m in ctx.procedures:
        out.append(m.code)
        info = ctx.kb.code(m.code)
        if info is not None and info.status in ("terminated", "deleted"):
            out.extend(ctx.kb.replacements(m.code, ctx.on)[:1])
    return list(dict.fromkeys(out))


def check(ctx: RuleContext) -> list[Finding]:
    """Each judge reads the mail's words through ``ctx.says``: searched once per mail, not
    once per code."""
    out: list[Finding] = []
    for code in _codes(ctx):
        info = ctx.kb.pfs(code)
        if info is None:
            continue
        for judge in (_pctc, _bilateral, _surgeons):
            f = judge(ctx, code, info)
            if f is not None:
                out.append(f)
    return out
