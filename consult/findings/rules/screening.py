"""Screening colonoscopy: which code, which modifier, which diagnosis first, what the patient
pays - and the preventive visits (IPPE, AWV) with a problem visit.

In the project's own words, from the CMS Claims Processing Manual ch. 18 sec. 60 and ch. 12
sec. 30.1, the NCCI Policy Manual and the ICD-10-CM guidelines (sec. IV):
- Medicare screening colonoscopy is G0121 (not high risk) or G0105 (high risk); finding
  something without removing or biopsying it does not change the code.
- A screening that becomes a biopsy or polypectomy is reported with the CPT code of what was
  done (45380, 45385 ...) and, for Medicare, modifier PT; commercial plans that waive cost
  sharing for preventive care use modifier 33. Z12.11 (screening, colon) is listed first, the
  finding after it.
- Medicare waives the deductible; since 2023 the coinsurance for a screening that turns
  therapeutic is reduced: 15 % in 2023-2026, 10 % in 2027-2029, none from 2030.
- An incomplete colonoscopy takes modifier 53 (Medicare: on G0121, G0105 or 45378).
- The IPPE (G0402, within 12 months of Part B enrolment) and the AWV (G0438 first, G0439
  later) may be billed with a significant, separately identifiable problem E/M with 25.
"""

from __future__ import annotations

import re
from datetime import date

from consult.extract.lines import stories
from consult.extract.narrative import payer_of
from consult.findings.context import RuleContext, may_contain
from consult.findings.model import Finding

RULE = "screening"
#: The finding rule names this module emits, with their labels, in display order.
LABELS = {RULE: "Screening and preventive services"}
CMS = ("CMS Claims Processing Manual ch. 18 sec. 60 and ch. 12 sec. 30.1; ICD-10-CM Official "
       "Guidelines sec. IV; project notes")
_SCREEN = re.compile(r"(?i)\bscreening\b|\bG012[01]\b|\bG0105\b|\bZ12\.1[12]\b|\bZ80\.0\b|"
                     r"\bZ86\.010")
_THERAPEUTIC = {"45380", "45381", "45384", "45385", "45388", "45390", "45386", "45382"}
_INCOMPLETE = re.compile(r"(?i)\bincomplete|\bcould\s*n[o']t\s+(?:reach|advance|complete)|"
                         r"\bunable\s+to\s+(?:reach|advance|complete)|\bpoor\s+prep|\baborted|"
                         r"\bstopped\b|\bdiscontinued")
_COLON = re.compile(r"(?i)colonoscop|\bscope\b")
_COLON_NEEDS = ("colonoscop", "scope")
_HIGH_RISK = re.compile(r"(?i)high[\s-]?risk|history\s+of\s+(?:colon\s+)?"
                        r"(?:polyps|adenoma|colon\s+cancer)|Z86\.010|Z80\.0|family\s+history")
_FOUND_ONLY = re.compile(r"(?i)\bdiverticul|\bhemorrhoid|\bnothing\s+(?:removed|taken|done)|"
                         r"\bno\s+(?:polyps?|biops|intervention)|\bnormal\b")


def _coinsurance(on: date | None) -> str:
    year = on.year if on else 2026
    share = "15%" if year <= 2026 else ("10%" if year <= 2029 else "no")
    return (f"Medicare waives the deductible; for a screening that became a polypectomy or "
            f"biopsy in {year} the patient owes {share} coinsurance.")


def check(ctx: RuleContext) -> list[Finding]:
    """Per patient's story when the mail tells several (each with its own codes and payer)."""
    told = stories(ctx.extraction.narrative)
    codes = {m.code for m in ctx.mentions}
    mail_medicare = ctx.extraction.payer_class in (None, "medicare", "medicare_advantage")
    if len(told) == 1:
        return _story(ctx, ctx.text, codes, mail_medicare)
    out: list[Finding] = []
    for story in told:
        payer = payer_of(story)
        medicare = payer in ("medicare", "medicare_advantage") or (payer is None
                                                                   and mail_medicare)
        out += _story(ctx, story, {c for c in codes if c in story}, medicare)
    return out


def _story(ctx: RuleContext, text: str, codes: set[str], medicare: bool) -> list[Finding]:
    colon = any(c.startswith("453") or c in ("G0121", "G0105") for c in codes) or (
        may_contain(text, _COLON_NEEDS) and _COLON.search(text))
    out: list[Finding] = []
    if colon and _INCOMPLETE.search(text) and not codes & _THERAPEUTIC:
        if "G0105" in codes:
            code = "G0105"
        elif "G0121" in codes:
            code = "G0121"
        else:
            code = "45378"
        answer = (f"An incomplete colonoscopy (the scope could not reach the cecum) takes "
                  f"modifier 53: report {code}-53 for Medicare, which pays the reduced 53 row; "
                  "52 is for a procedure reduced at the physician's choice.")
        out.append(Finding(RULE, [code], "warning", answer, CMS, 0.8, {"answer": answer}))
    elif colon and _SCREEN.search(text):
        done = sorted(codes & _THERAPEUTIC)
        if done:
            mod = "PT" if medicare else "33"
            which = "Medicare" if medicare else "a commercial plan's preventive benefit"
            answer = (f"Report {', '.join(done)} with modifier {mod} ({which}: a screening "
                      "that became a biopsy or polypectomy), Z12.11 first and the finding "
                      "after it.")
            if medicare:
                answer += " " + _coinsurance(ctx.on)
            detail = ("A screening colonoscopy that turns into a biopsy or polypectomy is "
                      "reported with the CPT code of what was done; Medicare adds PT, "
                      "commercial preventive benefits 33; the screening diagnosis (Z12.11) is "
                      "listed first. " + _coinsurance(ctx.on))
            out.append(Finding(RULE, [*done, "Z12.11"], "warning", detail, CMS, 0.85,
                               {"answer": answer}))
        elif "45378" in codes or "G0121" in codes or "G0105" in codes:
            high = bool(_HIGH_RISK.search(text))
            code = "G0105" if high else "G0121"
            answer = (f"For Medicare report {code} (screening colonoscopy, "
                      f"{'high risk' if high else 'not high risk'}) with Z12.11 first"
                      + ("; what was found but not removed is an additional diagnosis, and it "
                         "does not turn the screening into 45378." if _FOUND_ONLY.search(text)
                         else "."))
            detail = ("Medicare screening colonoscopy is G0121 for a patient not at high risk "
                      "and G0105 for one at high risk; findings that were not biopsied or "
                      "removed keep it a screening, with Z12.11 listed first.")
            out.append(Finding(RULE, [code, "Z12.11"], "warning", detail, CMS, 0.8,
                               {"answer": answer}))
    preventive = codes & {"G0402", "G0438", "G0439"}
    ems = [c for c in codes if c.isdigit() and 99202 <= int(c) <= 99215]
    if preventive and ems:
        p = sorted(preventive)[0]
        answer = (f"{p} and {ems[0]} may both be billed when the problem visit was significant "
                  f"and separately identifiable: put 25 on {ems[0]}.")
        if "G0402" in preventive:
            answer += " G0402 (IPPE) is payable only within the first 12 months of Part B."
        out.append(Finding(RULE, [p, ems[0]], "info", answer, CMS, 0.8, {"answer": answer}))
    return out
