"""Write the HELD-OUT extraction corpus: mails the extractor was never tuned on.

Run ``python tests/data/extraction_holdout/generate.py`` to rewrite ``mails/``. Seeded, so the
same script gives the same files. It shares nothing with ``tests/data/extraction/generate.py``
but the label format: its own scenario families (denials and appeals, lab panels, obstetrics,
anesthesia, radiology components, therapy, wound care, infusions, E/M with 25/57, bilateral
procedures, G-codes, dotless ICD-10-CM, bullets, tables, CSV exports, subject-only questions,
patient details and long corporate signatures), its own wording, people and wrappers.

Every scenario's labels were written by hand next to its text, as a coder reading the mail
would list them, before the extractor was run on it. Conventions (same as the main corpus so
one scorer reads both): a code is listed once at its first place in reading order (subject,
body, attachment, quoted); the same code with two different modifier sets is two entries;
quoted history only adds codes the new text lacks; ``units`` is null unless the sender stated
units of service (anesthesia minutes and drug milligrams are not units); a written range such
as ``11042-11047`` means every code in it. Traps are code-shaped text that is not a code.
All people, clinics, phone numbers and identifiers are invented.
"""

from __future__ import annotations

import html
import json
import random
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

OUT = Path(__file__).resolve().parent / "mails"
SEED = 424242
RENDERS_PER_SCENARIO = 2


@dataclass
class Code:
    system: str
    code: str
    modifiers: tuple[str, ...] = ()
    units: int | None = None
    where: str = "body"


@dataclass
class Trap:
    text: str
    token: str
    kind: str


@dataclass
class Case:
    """One consultation written by hand: its text and what a coder reads in it."""

    name: str
    subject: str
    body: str
    codes: list[Code]
    traps: list[Trap] = field(default_factory=list)
    payer: str | None = None
    dos: str | None = None
    setting: str | None = None
    table: list[list[str]] | None = None  # rendered after the body (tabs in text, <table> in HTML)
    table_codes: list[Code] = field(default_factory=list)
    attachment: tuple[str, str, str] | None = None  # filename, mime subtype, text
    attachment_codes: list[Code] = field(default_factory=list)
    has_patient: bool = False  # the body already names a patient


def P(code: str, *mods: str, units: int | None = None) -> Code:
    return Code("CPT", code, mods, units)


def H(code: str, *mods: str, units: int | None = None) -> Code:
    return Code("HCPCS", code, mods, units)


def D(code: str) -> Code:
    return Code("ICD10CM", code)


def T(text: str, token: str, kind: str) -> Trap:
    return Trap(text, token, kind)


CASES: list[Case] = [
    Case(
        "appeal_bilateral_knee",
        "Appeal - 20610-50 denied by BCBS",
        "We got a denial on claim 20254411987 (CO-4, modifier inconsistent with procedure) for "
        "bilateral knee injections on 9/18/2025. Doc injected both knees with 40 mg "
        "triamcinolone each. We billed 20610-50 x 1 with J3301 x 8.\n\nShould we rebill as "
        "20610-RT and 20610-LT on two lines instead, or appeal with the 50?",
        [P("20610", "50", units=1), H("J3301", units=8), P("20610", "RT"), P("20610", "LT")],
        [T("claim 20254411987", "20254", "claim"), T("9/18/2025", "2025", "date"),
         T("40 mg", "40", "quantity")],
        payer="BCBS", dos="2025-09-18",
    ),
    Case(
        "lab_panel_venipuncture",
        "lab bundling question",
        "Our in-house lab drew blood and ran a CMP (80053) and a CBC with diff (85025). "
        "Venipuncture 36415 is on the same claim. Is 36415 payable with Medicare when the "
        "panel is also billed, or is it bundled? Dx was E78.5 and R53.83.",
        [P("80053"), P("85025"), P("36415"), D("E78.5"), D("R53.83")],
        payer="Medicare",
    ),
    Case(
        "ob_global_split",
        "Global OB vs. split billing",
        "Patient transferred care to us at 28 weeks. We did the vaginal delivery and the "
        "postpartum care. Should we bill 59410 instead of 59400 since we didn't do all the "
        "antepartum visits?\nDiagnosis codes: O80, Z3A.39 and Z37.0. Delivery date 10/02/2025.",
        [P("59410"), P("59400"), D("O80"), D("Z3A.39"), D("Z37.0")],
        [T("28 weeks", "28", "quantity"), T("10/02/2025", "2025", "date")],
        dos="2025-10-02",
    ),
    Case(
        "csection_tubal",
        "59510 with tubal",
        "Repeat cesarean with bilateral tubal ligation at the time of delivery. I have 59510 "
        "and add-on 58611. Payer is Medicaid. Dx O34.211 and Z30.2. Does 58611 need a "
        "modifier? EBL 800 mL, she was 39w2d.",
        [P("59510"), P("58611"), D("O34.211"), D("Z30.2")],
        [T("800 mL", "800", "quantity")],
        payer="Medicaid", setting="inpatient",
    ),
    Case(
        "anesthesia_deleted_codes",
        "Anesthesia for EGD + colonoscopy same session",
        "Our CRNA still has 00740 and 00810 on the charge sheet for a combined "
        "EGD/colonoscopy (start 07:45, stop 08:37, 52 min). Weren't those replaced? I believe "
        "the combined code is 00813, and we bill 00813-QZ now. Anesthesia time was 52 minutes.",
        [P("00740"), P("00810"), P("00813", "QZ")],
        [T("07:45", "0745", "time"), T("08:37", "0837", "time"), T("52 minutes", "52", "time")],
    ),
    Case(
        "anesthesia_lap_chole",
        "lap chole anesthesia modifiers",
        "Anesthesiologist personally performed the case for a lap chole: 00790-AA-P3, "
        "anesthesia time 1:42 (102 min). Patient is 74, so do we also report 99100? Medicare "
        "Advantage plan.",
        [P("00790", "AA", "P3"), P("99100")],
        [T("1:42", "142", "time"), T("102 min", "102", "time")],
        payer="Medicare Advantage",
    ),
    Case(
        "radiology_pro_component",
        "professional vs technical component",
        "We read CTs for the hospital but don't own the scanner, so 74177-26 and 71260-26 go "
        "out with the professional modifier and the hospital bills the technical side. A new "
        "contract has us doing the global for 73721 at our imaging center in Lakewood, CO "
        "80228. Do we drop the modifier for 73721?\nDx: M25.561, S83.241A.",
        [P("74177", "26"), P("71260", "26"), P("73721"), D("M25.561"), D("S83.241A")],
        [T("Lakewood, CO 80228", "80228", "zip")],
    ),
    Case(
        "mammo_tc",
        "77067 TC only?",
        "Screening mammo 77067 was done at our mobile unit and an outside radiology group "
        "reads. So we bill 77067-TC and they bill 77067-26, correct? Also the tomo add-on "
        "77063. Z12.31 is the dx.",
        [P("77067", "TC"), P("77067", "26"), P("77063"), D("Z12.31")],
    ),
    Case(
        "pt_gp_units",
        "PT units and GP",
        "Therapist documented 38 minutes of therapeutic exercise and 15 minutes of manual "
        "therapy (53 total timed). We billed 97110 x 3 units and 97140-GP x 1, plus the eval "
        "97162-GP. Medicare denied 97110 for missing GP. Do all timed codes need GP, and are "
        "3 units of 97110 right under the 8-minute rule?",
        [P("97110", units=3), P("97140", "GP", units=1), P("97162", "GP")],
        [T("38 minutes", "38", "quantity"), T("15 minutes", "15", "quantity")],
        payer="Medicare",
    ),
    Case(
        "pt_four_units",
        "97110 x 4 units with 97530",
        "Outpatient PT, 62 timed minutes: 97110 x 4 units and 97530 x 1. Is that within the "
        "MUE? Place of service 22.",
        [P("97110", units=4), P("97530", units=1)],
        [T("62 timed minutes", "62", "quantity")],
        setting="hospital outpatient",
    ),
    Case(
        "wound_selective_vs_subq",
        "selective debridement vs 11042",
        "Wound clinic question: the NP removed devitalized tissue from a 12 sq cm sacral "
        "ulcer with a curette, down to subcutaneous tissue. She picked 97597, but I think it "
        "should be 11042 since it went to subq. If the ulcer were 25 sq cm it would be 11042 "
        "+ 11045 x 1. Dx L89.153. Which is right?",
        [P("11042"), P("97597"), P("11045", units=1), D("L89.153")],
        [T("12 sq cm", "12", "quantity"), T("25 sq cm", "25", "quantity")],
    ),
    Case(
        "wound_range_addons",
        "Debridement add-ons",
        "Can you confirm which of 11042-11047 are add-on codes? We have a 60 sq cm "
        "muscle-depth debridement on the left leg: 11043 and 11046 x 2? Diabetic ulcer, "
        "E11.622 with L97.822.",
        [P("11042"), P("11043"), P("11044"), P("11045"), P("11046", units=2), P("11047"),
         D("E11.622"), D("L97.822")],
        [T("60 sq cm", "60", "quantity")],
    ),
    Case(
        "ed_push_hydration",
        "IV push + hydration",
        "ED gave ondansetron 4 mg IV push (J2405 x 1), then ketorolac 15 mg IV push, and NS "
        "hydration for 1 hr 10 min. I have 96374, 96375, 96360 and J1885 x 1. Is hydration "
        "payable when the push is the initial service? Should 96360 be 96361 instead? The "
        "visit was 99284-25.",
        [H("J2405", units=1), P("96374"), P("96375"), P("96360"), H("J1885", units=1),
         P("96361"), P("99284", "25")],
        [T("4 mg", "4", "quantity"), T("15 mg", "15", "quantity")],
        setting="emergency department",
    ),
    Case(
        "jcode_no_space",
        "J1100x3 ok?",
        "Dexamethasone 3 mg IM in the office. Billing J1100x3 with 96372. Payer is Aetna. "
        "Also a B12 shot, J3420 x1, same day. Need a 59 on the second admin?",
        [H("J1100", units=3), P("96372"), H("J3420", units=1)],
        [T("3 mg", "3", "quantity"), T("B12 shot", "B12", "word")],
        payer="Aetna", setting="office",
    ),
    Case(
        "toradol_rocephin",
        "Toradol and Rocephin units",
        "Pt got Toradol 60 mg IM (J1885 x 4 units since it's per 15 mg) and Rocephin 1 g IM, "
        "J0696 x 4. Admin codes: 96372 x 2. E/M 99213-25. Dx M54.50, R50.9.",
        [H("J1885", units=4), H("J0696", units=4), P("96372", units=2), P("99213", "25"),
         D("M54.50"), D("R50.9")],
        [T("60 mg", "60", "quantity"), T("15 mg", "15", "quantity")],
    ),
    Case(
        "decision_for_surgery_57",
        "57 vs 25 on the decision visit",
        "Ortho saw the patient as an inpatient consult on 11/01/2025 and decided to operate the "
        "next morning for the hip fracture (S72.001A). ORIF was 27236-RT on 11/02/2025. We "
        "billed 99223-57 for the admission. Is 57 right, or should it be 25?",
        [D("S72.001A"), P("27236", "RT"), P("99223", "57")],
        [T("11/01/2025", "2025", "date"), T("11/02/2025", "2025", "date")],
        setting="inpatient",
    ),
    Case(
        "bilateral_esi",
        "bilateral 64483?",
        "Pain doc did a transforaminal ESI at L5-S1 on both sides. Cigna wants 64483-50 on one "
        "line, but our clearinghouse keeps flipping it to 64483-LT and 64483-RT. Which is "
        "correct? Fluoro was included. Dx M54.17.",
        [P("64483", "50"), P("64483", "LT"), P("64483", "RT"), D("M54.17")],
        payer="Cigna",
    ),
    Case(
        "awv_with_problem_visit",
        "G0439 with 99214?",
        "Medicare AWV G0439 plus a problem-oriented visit 99214-25 the same day, plus the "
        "G0444 depression screen. Can we add G2211 to the 99214? Dx Z00.00 for the AWV, I10 "
        "and E78.2 for the problem visit.",
        [H("G0439"), P("99214", "25"), H("G0444"), H("G2211"), D("Z00.00"), D("I10"),
         D("E78.2")],
        payer="Medicare",
    ),
    Case(
        "estim_gcode",
        "unattended e-stim denial",
        "Unattended electrical stimulation for Medicare is G0283, commercial is 97014. We sent "
        "97014-GP to UHC and it denied CO-16. Should UHC get G0283 too?",
        [H("G0283"), P("97014", "GP")],
        payer="UnitedHealthcare",
    ),
    Case(
        "ehr_dotless_dx",
        "dx codes without dots from our EHR",
        "Our EHR exports diagnoses without decimals and the scrubber rejects them. Example "
        "line: 99214 / E1165, I10, M545, Z794. Is M545 still valid? I thought it was replaced "
        "by M5450, M5451 and M5459 in 2021.",
        [P("99214"), D("E11.65"), D("I10"), D("M54.5"), D("Z79.4"), D("M54.50"), D("M54.51"),
         D("M54.59")],
        [T("in 2021", "2021", "year")],
    ),
    Case(
        "hip_fx_seventh_char",
        "7th char on hip fx",
        "The hospitalist wrote S72001A on the follow-up visit after discharge. Shouldn't "
        "follow-up be S72001D? Also W19XXXA and Y92009 for the fall at home. Z23 was added for "
        "the flu shot (90686, G0008).",
        [D("S72.001A"), D("S72.001D"), D("W19.XXXA"), D("Y92.009"), D("Z23"), P("90686"),
         H("G0008")],
    ),
    Case(
        "colonoscopy_bullets",
        "Colonoscopy combo check",
        "Codes on the claim:\n\u2022 45385 - snare, polyp at 30 cm\n\u2022 45380-59 - cold "
        "biopsy, different polyp\n\u2022 45378\n\u2022 K63.5\n\u2022 Z12.11\n\u2022 Z86.010\n"
        "Is 45378 bundled into the others? Payer BCBS of Texas, PO Box 660044, Dallas, TX "
        "75266.",
        [P("45385"), P("45380", "59"), P("45378"), D("K63.5"), D("Z12.11"), D("Z86.010")],
        [T("30 cm", "30", "quantity"), T("PO Box 660044", "66004", "box"),
         T("Dallas, TX 75266", "75266", "zip")],
        payer="BCBS",
    ),
    Case(
        "knee_scope_numbered",
        "knee scope lines",
        "Done at our ASC:\n1) 29881-RT\n2) 29877-59-RT\n3) G0289 for loose body removal in "
        "another compartment\nDx: M23.221, M94.261\nCan G0289 go with 29881 for a commercial "
        "plan?",
        [P("29881", "RT"), P("29877", "59", "RT"), H("G0289"), D("M23.221"), D("M94.261")],
        setting="ASC",
    ),
    Case(
        "ed_claim_table",
        "ED claim lines",
        "Please check these lines before we drop the claim:",
        [],
        table=[["Line", "CPT", "Mod", "Units", "Dx"],
               ["1", "99285", "25", "1", "S06.0X1A"],
               ["2", "70450", "26", "1", "S06.0X1A"],
               ["3", "12001", "", "1", "S01.81XA"]],
        table_codes=[P("99285", "25", units=1), D("S06.0X1A"), P("70450", "26", units=1),
                     P("12001", units=1), D("S01.81XA")],
        setting="emergency department",
    ),
    Case(
        "knee_injection_table",
        "US guided knee injection",
        "Is 76942 separately billable with 20611? Lines below.",
        [P("76942"), P("20611")],
        table=[["Date", "Code", "Modifier", "Units", "Dx"],
               ["11/05/2025", "20611", "RT", "1", "M17.11"],
               ["11/05/2025", "J7325", "", "1", "M17.11"],
               ["11/05/2025", "76942", "", "", ""]],
        table_codes=[P("20611", "RT", units=1), D("M17.11"), H("J7325", units=1)],
        dos="2025-11-05",
    ),
    Case(
        "subject_only_ekg",
        "Can 93000 be billed with 99204-25 same day?",
        "See subject. Thanks!",
        [],
        dos=None,
    ),
    Case(
        "subject_only_vaccine",
        "Is Z23 required with 90471?",
        "Our auditor says yes, the vendor says no.",
        [],
    ),
    Case(
        "laceration_phi",
        "laceration + tetanus",
        "Pt: Okafor, Chinedu  DOB 08/19/1972  MRN 5520781  Ph (614) 555-0121\nSeen 11/04/2025 "
        "for a 2.5 cm simple laceration repair on the forehead: 12011. Also tetanus 90715 + "
        "90471. Dx S01.81XA, W25.XXXA, Z23.",
        [P("12011"), P("90715"), P("90471"), D("S01.81XA"), D("W25.XXXA"), D("Z23")],
        [T("08/19/1972", "1972", "date"), T("MRN 5520781", "55207", "mrn"),
         T("(614) 555-0121", "0121", "phone"), T("2.5 cm", "2.5", "quantity")],
        dos="2025-11-04", has_patient=True,
    ),
    Case(
        "csv_egd_export",
        "charge export for EGD",
        "Attached is the charge export for the EGD. Can you check the modifier on line 1? "
        "Claim # 7741029934.",
        [],
        [T("Claim # 7741029934", "77410", "claim")],
        attachment=("charges.csv", "csv",
                    "line,cpt,modifier,units,dx1\n1,43239,59,1,K21.9\n2,43249,,1,K22.2\n"
                    "3,88305,,2,K21.9\n"),
        attachment_codes=[P("43239", "59", units=1), D("K21.9"), P("43249", units=1),
                          D("K22.2"), P("88305", units=2)],
    ),
    Case(
        "csv_pt_export",
        "PT charges from the EMR",
        "Our EMR export for the week is attached. Are these units OK for a 60 minute session?",
        [],
        [T("60 minute", "60", "quantity")],
        attachment=("pt_week.csv", "csv",
                    "CPT,Units,Charge\n97110,2,180.00\n97140,1,90.00\n97530,1,55.00\n"),
        attachment_codes=[P("97110", units=2), P("97140", units=1), P("97530", units=1)],
    ),
    Case(
        "medicaid_chemo_denial",
        "Medicaid denial - ICN 2025301448812",
        "ICN 2025301448812 denied line 2 (96413) with CARC 97 / RARC N390. Line 1 was 96415 x 2 "
        "and line 3 J9045 x 15 units (carboplatin 150 mg). Infusion ran 2 hr 40 min. Appeal "
        "deadline is 12/15/2025. Dx C56.1, Z51.11. Is the denial about the line order?",
        [P("96413"), P("96415", units=2), H("J9045", units=15), D("C56.1"), D("Z51.11")],
        [T("ICN 2025301448812", "20253", "icn"), T("RARC N390", "N390", "remark"),
         T("150 mg", "150", "quantity"), T("12/15/2025", "2025", "date")],
        payer="Medicaid",
    ),
    Case(
        "tka_underpaid",
        "underpaid 27447",
        "UHC paid $1,214.36 on 27447-LT; the contract rate is $1,652.00. The assistant surgeon "
        "line 27447-80-LT denied. EOB dated 10/28/2025, check # 004417882. TKA done at Mercy "
        "South, POS 21.",
        [P("27447", "LT"), P("27447", "80", "LT")],
        [T("$1,214.36", "1214", "money"), T("$1,652.00", "1652", "money"),
         T("10/28/2025", "2025", "date"), T("check # 004417882", "00441", "check")],
        payer="UnitedHealthcare", setting="inpatient",
    ),
    Case(
        "chargemaster_versions",
        "2026 code changes for our chargemaster",
        "We're updating the CDM to version 4.12 for CY2026. Is 99091 still active, and did "
        "0582T get a Category I code? The 2025 NCCI policy manual v31.3, chapter 11, is what "
        "we have. Please advise.",
        [P("99091"), P("0582T")],
        [T("version 4.12", "4.12", "version"), T("v31.3", "31.3", "version"),
         T("The 2025 NCCI", "2025", "year")],
    ),
    Case(
        "ureteral_stent_sizes",
        "stent with ureteroscopy",
        "Urology placed a 6 Fr x 26 cm double-J stent (52332-LT) after ureteroscopy with laser "
        "lithotripsy, 52356-LT, for a 9 mm stone. Should 52332 be reported at all with 52356? "
        "Dx N20.1.",
        [P("52332", "LT"), P("52356", "LT"), D("N20.1")],
        [T("6 Fr", "6", "quantity"), T("26 cm", "26", "quantity"), T("9 mm", "9", "quantity")],
    ),
    Case(
        "mfm_ultrasound_dotless",
        "OB ultrasound dx",
        "MFM did 76811 and 76813 at 20 weeks for advanced maternal age. Dx O0952 and Z3A20, "
        "or should it be O09.523? If it were twins we'd add 76812.",
        [P("76811"), P("76813"), D("O09.52"), D("Z3A.20"), D("O09.523"), P("76812")],
        [T("20 weeks", "20", "quantity")],
    ),
    Case(
        "audio_only_telehealth",
        "audio only visits",
        "For audio-only follow-ups we were using 99442; now it's 98008 with modifier 93? Video "
        "visits go out as 99213-95 with POS 10. Is that right for Humana?",
        [P("99442"), P("98008", "93"), P("99213", "95")],
        payer="Humana", setting="telehealth",
    ),
    Case(
        "home_sleep_test",
        "sleep study dx",
        "Home sleep test: G0399 or 95806 for Medicare? Dx G4733 and R0683.",
        [H("G0399"), P("95806"), D("G47.33"), D("R06.83")],
        payer="Medicare",
    ),
    Case(
        "echo_read_only",
        "echo read only",
        "Our cardiologist reads echoes done in the hospital: 93306-26. For the ECG "
        "interpretation, 93010, I was told not to add 26 since it is already the "
        "interpretation-only code. True? Dx I48.91, R00.2.",
        [P("93306", "26"), P("93010"), D("I48.91"), D("R00.2")],
    ),
    Case(
        "ed_to_appendectomy",
        "ED consult then appendectomy",
        "General surgery consulted in the ER at 22:40 and decided on a lap appy; OR at 01:15 "
        "the next day. We billed 99222-57 and 44970. Dx K35.80. Payer Molina. Will the 57 hold "
        "since the surgery was after midnight?",
        [P("99222", "57"), P("44970"), D("K35.80")],
        [T("22:40", "2240", "time"), T("01:15", "0115", "time")],
        payer="Molina", setting="emergency department",
    ),
    Case(
        "three_vaccines",
        "flu + covid + pneumo same day",
        "Three vaccines given 10/14/25: 90686, 91320, 90677. Medicare wants G0008 for the flu "
        "admin, G0009 for pneumo and 90480 for covid. Z23 once or three times?",
        [P("90686"), P("91320"), P("90677"), H("G0008"), H("G0009"), P("90480"), D("Z23")],
        [T("10/14/25", "25", "date")],
        payer="Medicare", dos="2025-10-14",
    ),
    Case(
        "glaucoma_stent_npis",
        "0449T billing",
        "Ophthalmology did 66991 with 0449T (not 0671T). Rendering NPI 1972635514, referring "
        "NPI 1588093210. Is 0449T payable with 66991 at an ASC?",
        [P("66991"), P("0449T"), P("0671T")],
        [T("NPI 1972635514", "19726", "npi"), T("NPI 1588093210", "15880", "npi")],
        setting="ASC",
    ),
    Case(
        "credentialing_no_codes",
        "credentialing question",
        "Our new provider (NPI 1750394822) starts 12/1/2025 at 4500 Eastgate Dr, Suite 210, "
        "Columbus, Ohio 43230. Do we need to hold claims until the Medicare PTAN is issued? "
        "Office hours 8:00-5:00, fax 614-555-0180.",
        [],
        [T("NPI 1750394822", "17503", "npi"), T("12/1/2025", "2025", "date"),
         T("Ohio 43230", "43230", "zip"), T("614-555-0180", "0180", "fax"),
         T("4500 Eastgate Dr", "4500", "street")],
        payer="Medicare",
    ),
    Case(
        "x_modifiers_lesions",
        "XS or 59?",
        "For 11102 and 17110 on different lesions our payer (Anthem) prefers the X modifiers. "
        "So 11102-XS, or 17110-XS? Dx D48.5 and B07.8.",
        [P("11102", "XS"), P("17110", "XS"), D("D48.5"), D("B07.8")],
        payer="BCBS",
    ),
    Case(
        "pcs_lap_chole",
        "PCS for lap chole",
        "Inpatient lap chole, ICD-10-PCS 0FT44ZZ. Pro fee side is 47563 with the "
        "cholangiogram. Principal dx K80.00. Anything else for the facility?",
        [Code("ICD10PCS", "0FT44ZZ"), P("47563"), D("K80.00")],
        setting="inpatient",
    ),
    Case(
        "dme_walker_modifiers",
        "walker modifiers",
        "Dispensed a folding walker E0143-NU-KX and crutches E0114-RR. The DME MAC denied the "
        "crutches for missing KX. Dx M17.11. Do the crutches need KX too?",
        [H("E0143", "NU", "KX"), H("E0114", "RR"), D("M17.11")],
    ),
    Case(
        "modifier_words_before",
        "modifier placement on the E/M",
        "Is it right to put modifier 25 on the 99203 when we also did 17000 and 17003 x 4 "
        "for AKs? Dx L57.0. POS 11.",
        [P("99203", "25"), P("17000"), P("17003", units=4), D("L57.0")],
        setting="office",
    ),
    Case(
        "colposcopy_dos_iso",
        "colpo with biopsy",
        "DOS 2025-10-21: colposcopy with cervical biopsy and ECC, 57454. She also had a pap, "
        "Q0091 and 88175. Tricare. Is Q0091 payable on the same day? Dx R87.610.",
        [P("57454"), H("Q0091"), P("88175"), D("R87.610")],
        payer="Tricare", dos="2025-10-21",
    ),
    Case(
        "carpal_tunnel_workers_comp",
        "work comp CTR",
        "Workers comp claim # WC-448190. Open carpal tunnel release 64721-RT on 10/30/2025, "
        "plus 20526-LT injection on the other wrist. Is 59 needed on 20526 with the LT? Dx "
        "G56.01, G56.02. Adjuster fax 877-555-0142.",
        [P("64721", "RT"), P("20526", "LT"), D("G56.01"), D("G56.02")],
        [T("claim # WC-448190", "44819", "claim"), T("10/30/2025", "2025", "date"),
         T("877-555-0142", "0142", "fax")],
        payer="Workers' Compensation",
    ),
    Case(
        "cardiac_cath_units_words",
        "cath lab units",
        "Cath: 93458 plus two units of 93571? The second vessel FFR is the add-on. Payer is "
        "Humana Medicare. Dx I25.10.",
        [P("93458"), P("93571", units=2), D("I25.10")],
        payer="Humana",
    ),
    Case(
        "allergy_units_times",
        "allergy testing units",
        "Percutaneous testing 95004 times 40 and intradermal 95024 x 12. Also 95165 x 10 for "
        "the extract doses. Blue Shield plan. Dx J30.1, J45.20.",
        [P("95004", units=40), P("95024", units=12), P("95165", units=10), D("J30.1"),
         D("J45.20")],
        payer="BCBS",
    ),
    Case(
        "hospital_followups_range",
        "subsequent care codes",
        "For inpatient follow-ups our doctors pick from 99231-99233. Can a hospitalist bill "
        "99233 and a cardiologist 99232 the same day? Kaiser. Dx I50.23.",
        [P("99231"), P("99232"), P("99233"), D("I50.23")],
        payer="Kaiser Permanente", setting="inpatient",
    ),
    Case(
        "mohs_addons",
        "Mohs stages",
        "Mohs on the nose: 17311 first stage, 17312 x 2 additional stages, closure 14060. "
        "Is 14060 bundled? Dx C44.311.",
        [P("17311"), P("17312", units=2), P("14060"), D("C44.311")],
    ),
    Case(
        "no_codes_question",
        "teaching physician rule",
        "When a resident sees a patient in the primary care exception clinic, which visit "
        "levels can the teaching physician bill without being present? Our compliance "
        "officer quoted the 2023 rule but I want to be sure for 2026.",
        [],
        [T("the 2023 rule", "2023", "year")],
        payer=None,
    ),
    Case(
        "infusion_hours",
        "IVIG infusion units",
        "IVIG ran 4 hours: 96365 x 1 and 96366 x 3. Drug J1569 x 70 (35 g at 500 mg per "
        "unit). Payer Cigna. Dx D80.1.",
        [P("96365", units=1), P("96366", units=3), H("J1569", units=70), D("D80.1")],
        [T("4 hours", "4", "quantity"), T("35 g", "35", "quantity"),
         T("500 mg", "500", "quantity")],
        payer="Cigna",
    ),
    Case(
        "nexplanon",
        "implant removal and reinsertion",
        "Removed and reinserted the etonogestrel implant same session: 11983 with J7307. Do we "
        "also need 11982? Dx Z30.46. Self-pay patient, paid $325.00 at checkout.",
        [P("11983"), H("J7307"), P("11982"), D("Z30.46")],
        [T("$325.00", "325", "money")],
        payer="Self-pay",
    ),
    Case(
        "chest_xray_frontal",
        "CXR 2 views",
        "Urgent care did a 2-view chest x-ray, 71046, with 99214-25 for pneumonia J18.9. We own "
        "the machine, so no 26 or TC, right?",
        [P("71046"), P("99214", "25"), D("J18.9")],
        setting="urgent care",
    ),
    Case(
        "eyelid_bilateral_50",
        "blepharoplasty both eyes",
        "Functional upper lid bleph both eyes: 15823-50 or 15823-E1 and 15823-E3? Visual field "
        "loss documented, H02.831 and H02.834. Payer Aetna.",
        [P("15823", "50"), P("15823", "E1"), P("15823", "E3"), D("H02.831"), D("H02.834")],
        payer="Aetna",
    ),
]

# Older messages quoted below replies, with the codes a coder would read in them.
OLDER: list[tuple[str, list[Code]]] = [
    ("Last time you said 99283-25 plus 12002 was fine for the ER.",
     [P("99283", "25"), P("12002")]),
    ("We are still waiting on the op report; I will send codes when I have them. My direct "
     "line is 303-555-0164.", []),
    ("Per your note, dx R10.9 is too vague; use R10.31 when it is documented.",
     [D("R10.9"), D("R10.31")]),
    ("FYI the 2024 audit flagged 96372 billed without a drug code.", [P("96372")]),
]

# ---------------------------------------------------------------------------------------------
# Invented people, organisations and identifiers
# ---------------------------------------------------------------------------------------------
SENDERS = [
    ("Marisol Quintero", "CPC, CRC", "Senior Coding Auditor | Revenue Integrity"),
    ("Theo Park", "CPC", "Billing Supervisor"),
    ("Hannah Whitcomb", "RHIA", "HIM Coding Lead"),
    ("Desmond Achterberg", "CCS-P", "Professional Fee Coder III"),
    ("Yuki Brandvold", "COC, CPB", "Charge Integrity Analyst"),
    ("Farah Siddiqui", "CPC, CEMC", "Practice Manager"),
]
ORGS = [
    ("Summit Valley Health Partners", "2210 Larkspur Blvd, Suite 400", "Boise, ID 83702",
     "83702", "(208) 555-0143", "(208) 555-0199"),
    ("Northgate Orthopedic & Spine Institute", "880 Commerce Pkwy, Bldg C", "Plano, Texas 75093",
     "75093", "972.555.0110", "972.555.0111"),
    ("Pine Hollow Medical Group", "PO Box 60412", "Tulsa, OK 74106", "74106", "918-555-0175",
     "918-555-0176"),
    ("Harborview Women's Care", "1187 Quayside Ave", "Portland, ME 04101-3320", "04101",
     "207-555-0132", "207-555-0133"),
    ("Red Mesa Family Medicine", "455 W Saguaro Rd", "Tucson, AZ 85704", "85704",
     "520-555-0190", "520-555-0191"),
]
PATIENTS = [
    ("Re: Gomez, Maria R.  DOB: 02/14/1961  MRN: 0045123", [
        T("02/14/1961", "1961", "dob"), T("MRN: 0045123", "00451", "mrn")]),
    ("Patient name Derek Olawale, born 7/30/1988, acct 45210, cell (512) 555-0187", [
        T("7/30/1988", "1988", "dob"), T("acct 45210", "45210", "account"),
        T("(512) 555-0187", "0187", "phone")]),
    ("Pt is Ms. Ingrid Halloran (DOB 1949-03-02), chart # 88213", [
        T("1949-03-02", "1949", "dob"), T("chart # 88213", "88213", "mrn")]),
    ("Member ID XJH448120553 / MRN 77120 / DOB March 3, 1955", [
        T("MRN 77120", "77120", "mrn"), T("March 3, 1955", "1955", "dob")]),
]
FOOTER = (
    "IMPORTANT: This message is intended only for the addressee and may contain protected "
    "health information. If you received it in error, notify the sender at 800-555-0177 and "
    "delete it. Summit Valley Health Partners, 2210 Larkspur Blvd, Boise, ID 83702."
)


def signature(rng: random.Random, sender: tuple[str, str, str]) -> tuple[str, list[Trap]]:
    """A long corporate signature: title, organisation, address, phones, NPI, EIN, web."""
    name, cred, title = sender
    org, street, city, zipc, ph, fx = rng.choice(ORGS)
    npi = f"1{rng.randint(100000000, 999999999)}"
    ein = f"{rng.randint(20, 98)}-{rng.randint(1000000, 9999999)}"
    lines = [f"{name}, {cred}", title, org, street, city,
             f"Direct: {ph}  |  Fax: {fx}"]
    traps = [T(city, zipc, "zip"), T(ph, re.sub(r"\D", "", ph)[-4:], "phone"),
             T(fx, re.sub(r"\D", "", fx)[-4:], "fax")]
    if rng.random() < 0.7:
        lines.append(f"Billing NPI {npi} | EIN {ein}")
        traps.append(T(f"NPI {npi}", npi[:5], "npi"))
    if rng.random() < 0.5:
        lines.append(f"www.{org.split()[0].lower()}health.example")
    return "\n".join(lines), traps


def table_text(rows: list[list[str]]) -> str:
    return "\n".join("\t".join(r) for r in rows)


def table_html(rows: list[list[str]]) -> str:
    out = ['<table border="1" style="border-collapse:collapse">']
    for i, row in enumerate(rows):
        tag = "th" if i == 0 else "td"
        out.append("<tr>" + "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in row) + "</tr>")
    return "\n".join(out) + "</table>"


def to_html(blocks: list[str], table: list[list[str]] | None) -> str:
    """A Gmail/Apple-ish HTML body (divs and <br>), unlike the Outlook markup of the main set."""
    out = ['<html><body><div dir="ltr">']
    for i, b in enumerate(blocks):
        out.append("<div>" + "<br>".join(html.escape(x) for x in b.split("\n")) + "</div>"
                   "<div><br></div>")
        if table and i == 1:
            out.append(table_html(table))
    out.append("</div></body></html>")
    return "\n".join(out)


def merge_labels(new: list[Code], quoted: list[Code]) -> list[Code]:
    """One entry per code at its first place; a second modifier set is a second entry; quoted
    history only adds codes the new text lacks."""
    out: list[Code] = []
    for c in new:
        twin = next((o for o in out if o.system == c.system and o.code == c.code
                     and (not o.modifiers or not c.modifiers or o.modifiers == c.modifiers)), None)
        if twin is None:
            out.append(Code(c.system, c.code, c.modifiers, c.units, c.where))
        else:
            twin.modifiers = tuple(dict.fromkeys(twin.modifiers + c.modifiers))
            twin.units = twin.units if twin.units is not None else c.units
    have = {(c.system, c.code) for c in out}
    for c in quoted:
        if (c.system, c.code) not in have:
            have.add((c.system, c.code))
            out.append(c)
    return out


#: Modifiers and units the subjects write next to their codes (``20610-50``, ``J1100x3``).
SUBJECT_WRITES: dict[str, tuple[tuple[str, ...], int | None]] = {
    "20610": (("50",), None), "77067": (("TC",), None), "97110": ((), 4), "J1100": ((), 3),
    "99204": (("25",), None),
}


def _in_subject(code: Code, subject: str) -> bool:
    spelled = {code.code, code.code.replace(".", "")}
    return any(re.search(rf"(?<![\w.]){re.escape(x)}(?![\w]|x\d)|{re.escape(x)}x\d", subject)
               for x in spelled)


def subject_codes(case: Case) -> list[Code]:
    """Codes a coder reads in the subject (labelled by hand for subject-only questions)."""
    extra = {
        "subject_only_ekg": [P("93000"), P("99204", "25")],
        "subject_only_vaccine": [D("Z23"), P("90471")],
    }
    return [Code(c.system, c.code, c.modifiers, c.units, "subject")
            for c in extra.get(case.name, [])]


def build(idx: int, case: Case, style: str, rng: random.Random) -> tuple[bytes, dict]:
    sender = rng.choice(SENDERS)
    sig, traps = signature(rng, sender)
    traps = list(case.traps) + traps
    greeting = rng.choice(["Hi there,", "Hello Consult team,", "Morning!", "Hey folks,", ""])
    closing = rng.choice(["Appreciate it,", "Many thanks,", "Best,", "Cheers,"])
    body = case.body
    if not case.has_patient and rng.random() < 0.45:
        pline, ptraps = rng.choice(PATIENTS)
        body = f"{body}\n\n{pline}"
        traps += ptraps
    blocks = [greeting, body] if greeting else ["", body]
    codes = subject_codes(case)
    codes += [Code(c.system, c.code, c.modifiers, c.units, "body") for c in case.codes]
    codes += [Code(c.system, c.code, c.modifiers, c.units, "body") for c in case.table_codes]
    moved: set[tuple[str, str]] = set()
    for c in codes:  # the subject holds one mention: the code's first entry moves there
        key = (c.system, c.code)
        if c.where == "body" and key not in moved and _in_subject(c, case.subject):
            c.where = "subject"
            moved.add(key)
    att_codes = [Code(c.system, c.code, c.modifiers, c.units, "attachment")
                 for c in case.attachment_codes]
    subject = case.subject
    quoted: list[Code] = []
    sent = datetime(2025, 11, 10, 8, 5, tzinfo=timezone(timedelta(hours=-6))) + timedelta(
        minutes=53 * idx)
    dom = rng.choice(["summitvalley.example", "northgateortho.example", "redmesafm.example"])
    first = sender[0].split()[0].lower()
    sig_block = f"{closing}\n{sig}" if style != "dash_sig" else f"{closing}\n-- \n{sig}"
    text_parts = [b for b in blocks if b]
    if case.table:
        text_parts.append(table_text(case.table))
    plain = "\n\n".join(text_parts) + "\n\n" + sig_block
    if style == "footer":
        plain += "\n\n" + FOOTER
    if style in ("gmail_reply", "outlook_reply"):
        older, older_codes = rng.choice(OLDER)
        quoted = [Code(c.system, c.code, c.modifiers, c.units, "quoted") for c in older_codes]
        subject = "Re: " + subject
        when = sent - timedelta(days=3)
        if style == "gmail_reply":
            plain += (f"\n\nOn {when.strftime('%a, %b %d, %Y at %I:%M %p')} Coding Consult "
                      "<coding-help@consult.example> wrote:\n"
                      + "\n".join("> " + x for x in [older, "", "Coding Consult"]))
        else:
            plain += ("\n\n________________________________\nFrom: Coding Consult "
                      f"<coding-help@consult.example>\nSent: {format_datetime(when)}\n"
                      f"To: {sender[0]}\nSubject: {case.subject}\n\n{older}\n")
    if style == "forward":
        subject = "Fwd: " + case.subject
        intro = rng.choice(["Can you weigh in on the message below? We're split on it.",
                            "Sending this along from our billing office - thoughts?"])
        plain = (f"{intro}\n\n{sig_block}\n\nBegin forwarded message:\n\nFrom: Front Desk "
                 f"<desk@{dom}>\nDate: {format_datetime(sent - timedelta(hours=5))}\n"
                 f"Subject: {case.subject}\nTo: {sender[0]} <{first}@{dom}>\n\n"
                 + "\n\n".join(text_parts))
        # The body went into the forwarded (quoted) part: a subject entry keeps only what the
        # subject itself writes next to the code.
        new_codes = [Code(c.system, c.code, *SUBJECT_WRITES.get(c.code, ((), None)), "subject")
                     for c in codes if c.where == "subject"]
        quoted = [Code(c.system, c.code, c.modifiers, c.units, "quoted")
                  for c in codes if c.where != "subject"]
        codes = new_codes
    msg = EmailMessage()
    msg["From"] = f"{sender[0]} <{first}@{dom}>"
    msg["To"] = "coding-help@consult.example"
    msg["Date"] = format_datetime(sent)
    msg["Message-ID"] = f"<holdout-{idx:03d}@{dom}>"
    msg["Subject"] = subject
    if style == "html_only":
        msg.set_content(to_html([*blocks, sig_block], case.table), subtype="html")
    elif style == "html_alt":
        msg.set_content(plain)
        msg.add_alternative(to_html([*blocks, sig_block], case.table), subtype="html")
    else:
        msg.set_content(plain)
    if case.attachment:
        fname, sub, text = case.attachment
        msg.add_attachment(text.encode(), maintype="text", subtype=sub, filename=fname)
    labels = {
        "id": f"{idx:03d}",
        "style": style,
        "scenario": case.name,
        "codes": [vars(c) | {"modifiers": list(c.modifiers)}
                  for c in merge_labels(codes + att_codes, quoted)],
        "traps": [vars(t) for t in traps],
        "payer": case.payer,
        "date_of_service": case.dos,
        "setting": case.setting,
    }
    return bytes(msg), labels


STYLES = ("plain", "dash_sig", "html_alt", "html_only", "gmail_reply", "outlook_reply",
          "forward", "footer")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*"):
        old.unlink()
    rng = random.Random(SEED)
    idx = 0
    for case in CASES:
        styles = rng.sample(STYLES, RENDERS_PER_SCENARIO)
        for style in styles:
            raw, labels = build(idx, case, style, rng)
            (OUT / f"{idx:03d}.eml").write_bytes(raw)
            (OUT / f"{idx:03d}.json").write_text(json.dumps(labels, indent=1) + "\n")
            idx += 1
    print(f"wrote {idx} mails to {OUT}")


if __name__ == "__main__":
    main()
