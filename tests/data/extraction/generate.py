"""Write the labelled extraction corpus: consultation mails (.eml) and what a coder would say.

Run ``python tests/data/extraction/generate.py`` to rewrite ``mails/``. Deterministic (seeded):
the same script gives the same files. Every mail is built from a scenario written by hand (the
texts coders really send) wrapped in a style (plain, Outlook HTML, quoted reply, Outlook reply,
forward, attachment, long signature, legal footer). The labels come from the scenario itself,
written next to its text - never from the extractor.

Labels (``NNN.json``): ``codes`` (system, code, modifiers, units or null when not stated, where:
subject | body | attachment | quoted; a code is listed once, at its first place in reading
order, and quoted history only adds codes the new text lacks), ``traps`` (code-shaped text that
is NOT a code: its text and the token), ``payer``, ``date_of_service``, ``setting``.
All patients, clinics, phone numbers and identifiers are invented.
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
SEED = 20260311
COUNT = 180


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
class Scenario:
    """One consultation: new text, its codes, its traps, and the narrative facts."""

    subject: str
    body: str
    codes: list[Code]
    subject_codes: list[Code] = field(default_factory=list)
    traps: list[Trap] = field(default_factory=list)
    payer: str | None = None
    dos: str | None = None
    setting: str | None = None
    table: list[list[str]] | None = None  # optional code table (rendered as text or HTML)
    table_codes: list[Code] = field(default_factory=list)
    attachment: tuple[str, str] | None = None
    attachment_codes: list[Code] = field(default_factory=list)


def C(system: str, code: str, *mods: str, units: int | None = None) -> Code:
    return Code(system, code, tuple(mods), units)


# ---------------------------------------------------------------------------------------------
# Invented people, clinics and identifiers
# ---------------------------------------------------------------------------------------------
CODERS = [
    ("Dana Whitfield", "CPC, CGIC"), ("Marcus Oyelaran", "CCS"), ("Priya Raman", "CPC"),
    ("Tom Kessler", "RHIT, CCS-P"), ("Linh Tran", "CPC, COC"), ("Beth Arbogast", "CPC-A"),
    ("Rosa Delgado", "CRC"), ("Kevin Ostrowski", "CPMA, CPC"), ("Aisha Bello", "CCS, CDIP"),
    ("Gwen Halvorsen", "CPC"), ("Sam Nakamura", "COC"), ("Jolene Pruitt", "CPB, CPC"),
]
CLINICS = [
    ("Riverside Gastroenterology Associates", "1450 Olentangy River Rd, Suite 300",
     "Columbus, OH 43214", "43214"),
    ("Inland Northwest Orthopedics", "820 W 7th Ave, Ste 410", "Spokane, WA 99204", "99204"),
    ("Lakeshore Family Medicine", "77 Harbor View Dr", "Sandusky, OH 44870", "44870"),
    ("Valley Endoscopy Center", "3200 Kenny Rd", "Columbus, OH 43235", "43235"),
    ("Summit Pain & Spine", "5100 Summit Blvd, Suite 120", "Kennewick, WA 99336", "99336"),
    ("Prairie Internal Medicine", "PO Box 20610", "Bethesda, MD 20814", "20814"),
    ("Hill Country Surgical Group", "9200 Bee Caves Rd", "Austin, TX 78733", "78733"),
    ("Bayview Urgent Care", "410 Embarcadero Way", "Oakland, CA 94606", "94606"),
    ("North Shore Dermatology", "18 Elm Street", "Salem, MA 01970", "01970"),
    ("Granite State Podiatry", "250 Pleasant St", "Concord, NH 03301", "03301"),
]
PATIENTS = [
    ("Maria", "Lopez"), ("Harold", "Finch"), ("Edna", "Kowalczyk"), ("Jerome", "Baptiste"),
    ("Wilma", "Stroud"), ("Tobias", "Renner"), ("Yvette", "Garnier"), ("Otis", "Blackwood"),
    ("Nadia", "Petrova"), ("Clyde", "Ambrose"), ("Ruth", "Okafor"), ("Felix", "Dunmore"),
]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]


def phone(rng: random.Random) -> str:
    a = rng.choice(["614", "509", "419", "301", "512", "510", "978", "603"])
    b = rng.randint(100, 199)
    styles = [f"({a}) 555-0{b - 100:02d}{rng.randint(0, 9)}", f"{a}-555-0{b}", f"{a}.555.0{b}",
              f"+1 {a} 555 0{b}"]
    return rng.choice(styles)


def npi(rng: random.Random) -> str:
    return "1" + "".join(str(rng.randint(0, 9)) for _ in range(9))


def a_date(rng: random.Random) -> tuple[str, str]:
    """A date in 2025, written some way a coder would; returns (written, ISO)."""
    d = datetime(2025, 1, 1) + timedelta(days=rng.randint(0, 300))
    iso = d.strftime("%Y-%m-%d")
    forms = [f"{d.month}/{d.day}/{d.year}", f"{d.month:02d}/{d.day:02d}/{d.year}",
             f"{d.month}/{d.day}/{d.year % 100:02d}", iso,
             f"{MONTHS[d.month - 1]} {d.day}, {d.year}",
             f"{d.day} {MONTHS[d.month - 1][:3]} {d.year}", f"{d.month:02d}-{d.day:02d}-{d.year}"]
    return rng.choice(forms), iso


def patient_line(rng: random.Random) -> tuple[str, list[Trap]]:
    first, last = rng.choice(PATIENTS)
    dob, _ = a_date(rng)
    dob = dob.replace("2025", str(rng.randint(1935, 1990)))
    mrn = f"{rng.randint(10, 99)}{rng.randint(100000, 999999)}"
    form = rng.choice([
        f"Pt: {first} {last}, DOB {dob}, MRN {mrn}",
        f"Patient {first} {last} (DOB: {dob}), MRN# {mrn}",
        f"Re: {last}, {first}  DOB {dob}  Acct # {mrn}",
        f"Patient name: {first} {last} / MRN {mrn}",
    ])
    return form, [Trap(f"MRN {mrn}", mrn[:5], "mrn")]


# ---------------------------------------------------------------------------------------------
# Scenarios: what coders ask. Each returns the text AND the codes a coder would read in it.
# ---------------------------------------------------------------------------------------------
def s_egd_dilation(rng: random.Random) -> Scenario:
    mod = rng.choice(["59", "XS"])
    phr = rng.choice([
        (f"43214-{mod}", (mod,)), (f"43214 {mod}", (mod,)), (f"43214 w/ mod {mod}", (mod,)),
        (f"43214 with modifier {mod}", (mod,)), ("43214", ()),
    ])
    size = rng.choice(["30 mm", "18 mm", "20 mm"])
    body = (
        f"Our physician did an EGD with balloon dilation ({size} balloon) and also took a look "
        f"at the stomach and duodenum. He wants to bill {phr[0]} and 43200 on the same claim.\n\n"
        "Isn't 43200 bundled into 43214? Is there any way to get paid for both, or does the "
        "modifier not apply here?"
    )
    dx = rng.choice([("K22.2", "K22.2"), ("K222", "K22.2"), ("k22.2", "K22.2")])
    body += f"\n\nDx is {dx[0]} (esophageal stricture)."
    return Scenario(
        subject=rng.choice(["EGD dilation + 43200 same day?", "Question on EGD billing",
                            "43214 with 43200"]),
        body=body,
        codes=[C("CPT", "43214", *phr[1]), C("CPT", "43200"), C("ICD10CM", dx[1])],
        traps=[Trap(f"{size} balloon", size.split()[0], "quantity")],
    )


def s_em_25_injection(rng: random.Random) -> Scenario:
    units = rng.choice([1, 2, 3, 4])
    inj = rng.choice([
        (f"J1100 x {units}", units), (f"J1100 x{units}", units), (f"{units} units of J1100", units),
        (f"J1100 ({units} units)", units), (f"J1100 times {units}", units),
    ])
    em = rng.choice([
        ("99214-25", "99214", ("25",)), ("99214 with a 25", "99214", ("25",)),
        ("modifier -25 on the 99214", "99214", ("25",)), ("99213 25", "99213", ("25",)),
        ("99213", "99213", ()),
    ])
    side = "LT"
    body = (
        f"Established patient seen in the office for follow-up of diabetes and hypertension and "
        f"also "
        f"complained of left knee pain. Provider did a full E/M and then a knee injection "
        f"(20610-{side}) with dexamethasone {4 * units} mg.\n\n"
        f"We are planning to bill {em[0]}, 20610-{side}, 96372 and {inj[0]}. "
        "Should 96372 come off since the injection is included in 20610? And is the 25 "
        "supported when the visit was mainly for the chronic problems?"
    )
    return Scenario(
        subject=rng.choice(["E/M + joint injection same day", "modifier 25 question",
                            "Knee injection with office visit"]),
        body=body,
        codes=[C("CPT", em[1], *em[2]), C("CPT", "20610", side), C("CPT", "96372"),
               C("HCPCS", "J1100", units=inj[1])],
        traps=[Trap(f"{4 * units} mg", str(4 * units), "quantity")],
        setting="office",
    )


def s_colonoscopy_screening(rng: random.Random) -> Scenario:
    payer = rng.choice(["Medicare", "Aetna", "BCBS", "UnitedHealthcare"])
    payer_txt = {"Medicare": rng.choice(["Medicare", "traditional Medicare"]),
                 "Aetna": "Aetna", "BCBS": rng.choice(["BCBS", "Blue Cross"]),
                 "UnitedHealthcare": rng.choice(["UHC", "United Healthcare"])}[payer]
    z = rng.choice([("Z12.11", "Z12.11"), ("Z1211", "Z12.11")])
    polyp = rng.choice([("K63.5", "K63.5"), ("K635", "K63.5"), ("D12.5", "D12.5")])
    if payer == "Medicare":
        main = ("G0121", "HCPCS")
        line = (f"Screening colonoscopy on a {payer_txt} patient, average risk, scheduled as "
                f"G0121. During the procedure a polyp was removed by snare so it became 45385.")
        codes = [C("HCPCS", "G0121"), C("CPT", "45385", "PT")]
        ask = "Do we bill 45385-PT only, or G0121 plus 45385? And which dx goes first?"
    else:
        main = ("45378", "CPT")
        line = (f"{payer_txt} patient scheduled for screening colonoscopy (45378-33). A 6 mm "
                f"polyp was removed with cold snare, so the service is now 45385.")
        codes = [C("CPT", "45378", "33"), C("CPT", "45385", "33")]
        ask = ("Should it be 45385-33 with the screening dx first? Patient is asking why she "
               "got a bill.")
        line += " We billed 45385-33."
    dos_w, dos = a_date(rng)
    body = (f"{line}\n\nDOS {dos_w}. Dx on the claim: {z[0]}, {polyp[0]}.\n\n{ask}")
    _ = main
    return Scenario(
        subject=rng.choice(["Screening turned diagnostic colonoscopy", "colonoscopy w/ polyp",
                            f"{payer_txt} screening colonoscopy"]),
        body=body,
        codes=[*codes, C("ICD10CM", z[1]), C("ICD10CM", polyp[1])],
        traps=[Trap("6 mm", "6", "quantity")] if payer != "Medicare" else [],
        payer=payer, dos=dos, setting=None,
    )


def s_fracture_7th(rng: random.Random) -> Scenario:
    enc = rng.choice([("A", "initial"), ("D", "subsequent"), ("S", "sequela")])
    form = rng.choice(["dot", "nodot", "lower"])
    base = rng.choice([("S52.521", "torus fracture of the right distal radius"),
                       ("S82.101", "fracture of the right tibia, upper end"),
                       ("S72.001", "fracture of the right femoral neck")])
    code = base[0] + enc[0]
    nodot = code.replace(".", "")
    written = {"dot": code, "nodot": nodot, "lower": nodot.lower()}[form]
    body = (
        f"Child seen in the ED last week for a {base[1]}, we are now seeing her in clinic for "
        f"cast check and repeat x-ray. The provider picked {written} for today. "
        f"Is the 7th character right for a {enc[1]} visit or should it be a different one? "
        "The X-ray was 73110 and the visit 99213."
    )
    return Scenario(
        subject=rng.choice(["7th character question", "fracture follow up dx", "S code 7th char"]),
        body=body,
        codes=[C("ICD10CM", code), C("CPT", "73110"), C("CPT", "99213")],
        setting="office",
    )


def s_diabetes_dx(rng: random.Random) -> Scenario:
    dotless = rng.random() < 0.5
    codes = ["E11.65", "Z79.4", "I10", "E78.5"]
    written = [c.replace(".", "") if dotless and c != "I10" else c for c in codes]
    joiner = rng.choice([", ", " / ", "; "])
    body = (
        "Provider documented \"type 2 DM, uncontrolled, on insulin; HTN; hyperlipidemia\" and "
        f"coded {joiner.join(written)} with 99214. A1C was 9.2%.\n\n"
        "The auditor says uncontrolled should not default to hyperglycemia. Is E11.65 "
        "supported or should we query for E11.9 instead?"
    )
    return Scenario(
        subject=rng.choice(["DM coding - uncontrolled", "E11.65 vs E11.9", "diabetes dx question"]),
        body=body,
        codes=[*(C("ICD10CM", c) for c in codes), C("CPT", "99214"), C("ICD10CM", "E11.9")],
        traps=[Trap("A1C was 9.2%", "A1C", "lab")],
    )


def s_terminated_hcpcs(rng: random.Random) -> Scenario:
    u = rng.choice([1, 2])
    body = (
        f"Our charge master still has J1030 for Depo-Medrol 40 mg. Claims from last month came "
        f"back denied. Do we switch to J1010 and bill {40 * u} units? We gave {40 * u} mg "
        f"with 20610 on the right knee.\n\nAlso, is 96372 ever separately billable with 20610?"
    )
    return Scenario(
        subject="J1030 denied",
        subject_codes=[C("HCPCS", "J1030")],
        body=body,
        codes=[C("HCPCS", "J1010", units=40 * u), C("CPT", "20610"), C("CPT", "96372")],
        traps=[Trap(f"{40 * u} mg", str(40 * u), "quantity"), Trap("40 mg", "40", "quantity")],
    )


def s_debridement_addon(rng: random.Random) -> Scenario:
    extra = rng.choice([1, 2, 3])
    form = rng.choice([f"11045 x {extra}", f"11045 x{extra}", f"{extra} units of 11045",
                       f"11045 ({extra} units)"])
    area = 20 + 20 * extra
    body = (
        f"Wound clinic: excisional debridement of subcutaneous tissue, total area {area} sq cm "
        f"on the left lower leg ulcer (L97.822).\n\nWe coded 11042 and {form}. "
        "Is that the right count for the add-on? Each additional 20 sq cm or part thereof, right?"
    )
    return Scenario(
        subject="debridement add-on units",
        body=body,
        codes=[C("CPT", "11042"), C("CPT", "11045", units=extra), C("ICD10CM", "L97.822")],
        traps=[Trap(f"{area} sq cm", str(area), "quantity")],
        setting=rng.choice([None]),
    )


def s_em_range(rng: random.Random) -> Scenario:
    rng_txt, codes = rng.choice([
        ("99202-99205", ["99202", "99203", "99204", "99205"]),
        ("99211-99215", ["99211", "99212", "99213", "99214", "99215"]),
        ("99212 - 99215", ["99212", "99213", "99214", "99215"]),
    ])
    body = (
        f"For our new telehealth program, can we use the office E/M codes {rng_txt} with "
        "POS 10 for audio-video visits? Or do we need different codes for the commercial plans? "
        "We are in year two of the program and started in 2023."
    )
    return Scenario(
        subject="telehealth E/M codes",
        body=body,
        codes=[C("CPT", c) for c in codes],
        traps=[Trap("POS 10", "10", "pos"), Trap("in 2023", "2023", "year")],
        setting="telehealth",
    )


def s_range_unknown(rng: random.Random) -> Scenario:
    body = (
        "Can you confirm the CPT range 11055-11057 is for paring of corns/calluses and whether "
        "Medicare covers routine foot care with Q8 modifier findings? Dx I70.203 and E11.51."
    )
    return Scenario(
        subject="routine foot care",
        body=body,
        codes=[C("CPT", "11055"), C("CPT", "11057"), C("ICD10CM", "I70.203"),
               C("ICD10CM", "E11.51")],
        payer="Medicare",
    )


def s_cat2_cat3(rng: random.Random) -> Scenario:
    bp = rng.choice([("3074F", "3079F"), ("3075F", "3078F")])
    body = (
        f"For the BP quality measure we report CPT II codes {bp[0]} and {bp[1]} with the visit. "
        f"Do the Category II codes need a charge? We put $0.01 on them.\n\n"
        "Separate question: Dr. Yoon did a 0275T (percutaneous laminotomy) - any payer "
        "actually cover the Category III code? And the lab wants to bill 0037U, is that a PLA code?"
    )
    return Scenario(
        subject=rng.choice(["Cat II codes", "quality codes + 0275T"]),
        body=body,
        codes=[C("CPT", bp[0]), C("CPT", bp[1]), C("CPT", "0275T"), C("CPT", "0037U")],
        traps=[Trap("$0.01", "0", "money")],
    )


def s_g2211(rng: random.Random) -> Scenario:
    payer = rng.choice(["Medicare", "Humana", "Medicare Advantage"])
    ptxt = payer
    em = rng.choice(["99213", "99214", "99215"])
    body = (
        f"{ptxt} patient, longitudinal care for COPD (J44.9). We want to add HCPCS G2211 to "
        f"{em}. Can G2211 go on the same claim when we also bill a 25 modifier procedure? "
        "Our billing system (version 12.4.1) rejects it."
    )
    return Scenario(
        subject="G2211 add-on",
        subject_codes=[C("HCPCS", "G2211")],
        body=body,
        codes=[C("ICD10CM", "J44.9"), C("CPT", em)],
        traps=[Trap("version 12.4.1", "12", "version")],
        payer=payer,
    )


def s_pcs_inpatient(rng: random.Random) -> Scenario:
    pcs = rng.choice([("0DTJ4ZZ", "laparoscopic appendectomy"), ("0FT44ZZ", "lap chole"),
                      ("0SR9019", "right total hip replacement")])
    dx = {"0DTJ4ZZ": "K35.80", "0FT44ZZ": "K80.20", "0SR9019": "M16.11"}[pcs[0]]
    cpt = {"0DTJ4ZZ": "44970", "0FT44ZZ": "47562", "0SR9019": "27130"}[pcs[0]]
    body = (
        f"Inpatient facility coding question. The {pcs[1]} was coded with ICD-10-PCS {pcs[0]} "
        f"and principal dx {dx}. The surgeon's professional claim has CPT {cpt}. "
        "Does the PCS code look right for the approach documented?"
    )
    return Scenario(
        subject="PCS check",
        body=body,
        codes=[C("ICD10PCS", pcs[0]), C("ICD10CM", dx), C("CPT", cpt)],
        setting="inpatient",
    )


def s_denial_traps(rng: random.Random) -> Scenario:
    dos_w, dos = a_date(rng)
    claim = f"{rng.randint(2024, 2025)}{rng.randint(10000000, 99999999)}"
    icn = f"22{rng.randint(10**11, 10**12 - 1)}"
    amt = rng.choice(["$1,245.00", "$432.14", "$43,239.50"])
    body = (
        f"We got a denial on claim # {claim} (ICN {icn}) for DOS {dos_w}. "
        f"The EOB says CO-97 for 43239 when billed with 43235. Total billed {amt}. "
        f"I called the payer at {phone(rng)} on {a_date(rng)[0]} at 2:15 pm and they said to "
        "add modifier 59. Is that appropriate, or is 43235 just included in 43239?"
    )
    return Scenario(
        subject=rng.choice(["denial CO-97", "EGD w/ biopsy denied"]),
        body=body,
        codes=[C("CPT", "43239"), C("CPT", "43235")],
        traps=[Trap(f"claim # {claim}", claim[:5], "claim"), Trap(f"ICN {icn}", icn[:5], "icn"),
               Trap(amt, amt.strip("$").replace(",", "")[:5], "money"),
               Trap("2:15 pm", "2", "time")],
        dos=dos,
        payer=None,
    )


def s_modifier_phrasings(rng: random.Random) -> Scenario:
    forms = [
        ("43214-59-RT", "43214", ("59", "RT")),
        ("43239 59", "43239", ("59",)),
        ("43249 w/ mod XS", "43249", ("XS",)),
        ("45380 (mod 59)", "45380", ("59",)),
        ("45385-XS", "45385", ("XS",)),
        ("76000-26", "76000", ("26",)),
        ("74360 with modifier 26", "74360", ("26",)),
    ]
    picks = rng.sample(forms, 3)
    body = (
        "Please check these lines from Friday's ASC schedule before they drop:\n\n"
        + "\n".join(f"  - {p[0]}" for p in picks)
        + "\n\nAre the modifiers right for the ASC claim? The facility is POS 24."
    )
    return Scenario(
        subject="modifier check for ASC claims",
        body=body,
        codes=[C("CPT", p[1], *p[2]) for p in picks],
        traps=[Trap("POS 24", "24", "pos")],
        setting="ASC",
    )


def s_list_codes(rng: random.Random) -> Scenario:
    lst = rng.choice([
        ("43235, 43239 and 43249", ["43235", "43239", "43249"]),
        ("43235, 43239, 43249", ["43235", "43239", "43249"]),
        ("43239/43248/43450", ["43239", "43248", "43450"]),
        ("43235 & 43239", ["43235", "43239"]),
        ("43233,43249", ["43233", "43249"]),
    ])
    body = (
        f"Which of these can be billed together for one EGD session: {lst[0]}? The report "
        "mentions a 15-18 mm CRE balloon and biopsies of the antrum. Patient has Cigna."
    )
    return Scenario(
        subject="EGD code combination",
        body=body,
        codes=[C("CPT", c) for c in lst[1]],
        traps=[Trap("15-18 mm", "18", "quantity")],
        payer="Cigna",
    )


def s_no_codes(rng: random.Random) -> Scenario:
    body = rng.choice([
        "What is the documentation requirement for split/shared visits in the hospital in "
        "2025? Our hospitalists and NPs see patients together on 4 West. Who bills?",
        "Quick question about time-based coding: does the 2025 rule still count time on the "
        "date of the encounter only? The provider spent 42 minutes total including 15 minutes "
        "reviewing outside records the day before.",
        "Our office moved to 2200 Lakeview Pkwy, Suite 410, Columbus, OH 43235 on 3/1/2025. "
        "Do we need to update anything with Medicaid besides the address? Our new phone is "
        "614-555-0177 and fax 614-555-0178.",
    ])
    traps = []
    if "43235" in body:
        traps.append(Trap("Columbus, OH 43235", "43235", "zip"))
    if "42 minutes" in body:
        traps.append(Trap("42 minutes", "42", "quantity"))
    return Scenario(
        subject=rng.choice(["general question", "quick question", "coding rule"]),
        body=body, codes=[], traps=traps,
        payer="Medicaid" if "Medicaid" in body else None,
    )


def s_radiology(rng: random.Random) -> Scenario:
    body = (
        "GI did an EGD with dilation using a guidewire under fluoroscopy. They billed 43226 and "
        "74360-26 and the hospital billed 76000-TC. Can the fluoro be billed separately when "
        "it is integral to the dilation? Hospital is billing under OPPS (outpatient hospital, "
        "POS 22)."
    )
    return Scenario(
        subject="fluoro with dilation",
        body=body,
        codes=[C("CPT", "43226"), C("CPT", "74360", "26"), C("CPT", "76000", "TC")],
        traps=[Trap("POS 22", "22", "pos")],
        setting="hospital outpatient",
    )


def s_unknown_with_context(rng: random.Random) -> Scenario:
    case = rng.choice([
        ("Facet injection", "Pain doc did bilateral lumbar facet injections, CPT 64493-50 "
         "with 77003. Dx M47.816. Is 77003 bundled?",
         [C("CPT", "64493", "50"), C("CPT", "77003"), C("ICD10CM", "M47.816")]),
        ("knee arthroscopy", "Ortho did 29881 on the right knee and a chondroplasty 29877 in a "
         "different compartment. Can 29877 go with 59 or do we need G0289? Dx M23.221, M94.261.",
         [C("CPT", "29881"), C("CPT", "29877"), C("HCPCS", "G0289"), C("ICD10CM", "M23.221"),
          C("ICD10CM", "M94.261")]),
        ("cataract", "Cataract surgery code 66984-RT, then 66984-LT two weeks later. Do we "
         "need modifier 79 on the second eye? Dx H25.11 and H25.12.",
         [C("CPT", "66984", "RT"), C("CPT", "66984", "LT"), C("ICD10CM", "H25.11"),
          C("ICD10CM", "H25.12")]),
        ("skin biopsy", "Derm billed CPT 11102 and 11103 x 2 for three tangential biopsies, "
         "dx D48.5 pending path. Plus 17110 for warts. Need 59 on 17110?",
         [C("CPT", "11102"), C("CPT", "11103", units=2), C("ICD10CM", "D48.5"),
          C("CPT", "17110")]),
        ("anesthesia", "Anesthesia for the screening colonoscopy: code 00812 vs 00811? The "
         "CRNA billed 00811-QZ and the patient turned out to need polypectomy.",
         [C("CPT", "00812"), C("CPT", "00811", "QZ")]),
        ("hernia", "Surgeon did lap inguinal hernia repair 49650 and the hospital wants to add "
         "49568 mesh. Is the mesh code still valid? Dx K40.90.",
         [C("CPT", "49650"), C("CPT", "49568"), C("ICD10CM", "K40.90")]),
        ("annual wellness", "Medicare AWV G0439 plus 99214-25 for a new problem and G0444 "
         "depression screen. Dx Z00.00 is wrong for Medicare, right? Use Z00.00 or nothing?",
         [C("HCPCS", "G0439"), C("CPT", "99214", "25"), C("HCPCS", "G0444"),
          C("ICD10CM", "Z00.00")]),
    ])
    return Scenario(subject=case[0], body=case[1], codes=case[2],
                    payer="Medicare" if "Medicare" in case[1] else None)


def s_table(rng: random.Random) -> Scenario:
    rows = rng.choice([
        [["43239", "", "1", "K21.9"], ["43249", "59", "1", "K22.2"]],
        [["99214", "25", "1", "M17.11"], ["20610", "RT", "1", "M17.11"],
         ["J3301", "", "4", "M17.11"]],
        [["45380", "", "1", "K63.5"], ["45385", "59", "1", "D12.2"]],
    ])
    codes: list[Code] = []
    seen_dx: set[str] = set()
    for r in rows:
        sysname = "HCPCS" if r[0][0].isalpha() else "CPT"
        units = int(r[2]) if r[2] else None
        codes.append(C(sysname, r[0], *([r[1]] if r[1] else []), units=units))
    for r in rows:
        if r[3] not in seen_dx:
            seen_dx.add(r[3])
            codes.append(C("ICD10CM", r[3]))
    payer = rng.choice([None, "Aetna"])
    return Scenario(
        subject="claim lines to review",
        body="Here are the lines as they will go out. Anything that will hit an edit?"
        + (" Payer is Aetna." if payer else ""),
        codes=[], table=[["CPT/HCPCS", "Mod", "Units", "Dx"], *rows], table_codes=codes,
        payer=payer,
    )


def s_mue_units(rng: random.Random) -> Scenario:
    n = rng.choice([2, 3])
    body = (
        f"Biopsies at two separate sites on the same day: we billed 43239 x {n} and it denied "
        f"for MUE. Should it be 1 unit regardless of the number of biopsies? We have 12 similar "
        f"claims totaling $2,870."
    )
    return Scenario(
        subject="MUE denial 43239",
        subject_codes=[C("CPT", "43239", units=n)],
        body=body, codes=[],
        traps=[Trap("$2,870", "2870", "money")],
    )


def s_workers_comp(rng: random.Random) -> Scenario:
    dos_w, dos = a_date(rng)
    body = (
        f"Workers' comp case, injury at work on {a_date(rng)[0]}. Visit {dos_w}: laceration "
        "repair 12002 of the hand, dx S61.412A and W26.0XXA for the external cause. "
        "Claim # WC-2025-118834. Does the state fee schedule require the external cause code?"
    )
    return Scenario(
        subject="work comp laceration",
        body=body,
        codes=[C("CPT", "12002"), C("ICD10CM", "S61.412A"), C("ICD10CM", "W26.0XXA")],
        traps=[Trap("Claim # WC-2025-118834", "2025", "claim")],
        payer="Workers' Compensation",
        dos=dos,
    )


def s_tricare(rng: random.Random) -> Scenario:
    body = (
        "Tricare patient had an EGD with biopsy 43239 and esophageal dilation with balloon "
        "43249-59 in the same session at our ambulatory surgery center. Tricare denied the "
        "dilation. Does Tricare follow NCCI edits the same way Medicare does?"
    )
    return Scenario(subject="Tricare EGD", body=body,
                    codes=[C("CPT", "43239"), C("CPT", "43249", "59")],
                    payer="Tricare", setting="ASC")


SCENARIOS = [
    s_egd_dilation, s_em_25_injection, s_colonoscopy_screening, s_fracture_7th, s_diabetes_dx,
    s_terminated_hcpcs, s_debridement_addon, s_em_range, s_range_unknown, s_cat2_cat3, s_g2211,
    s_pcs_inpatient, s_denial_traps, s_modifier_phrasings, s_list_codes, s_no_codes, s_radiology,
    s_unknown_with_context, s_table, s_mue_units, s_workers_comp, s_tricare,
]

# Older messages quoted below replies: earlier context, with its own codes.
OLDER = [
    ("We billed 45378 last month for this patient and it paid.", [C("CPT", "45378")]),
    ("Previously you told us 43200 is never billed with 43235.", [C("CPT", "43200"),
                                                                  C("CPT", "43235")]),
    ("Original claim had 99213-25 and 96372 with J3301 x 2.",
     [C("CPT", "99213", "25"), C("CPT", "96372"), C("HCPCS", "J3301", units=2)]),
    ("The dx we used was K21.9 and the auth # was 88213344.", [C("ICD10CM", "K21.9")]),
    ("No codes yet, the op note is still pending. Call me at 614-555-0112.", []),
]


# ---------------------------------------------------------------------------------------------
# Styles: how the scenario is wrapped into a real-looking mail
# ---------------------------------------------------------------------------------------------
def signature(rng: random.Random, name: str, cred: str) -> tuple[str, list[Trap]]:
    clinic, street, city, zipc = rng.choice(CLINICS)
    ph, fx, n = phone(rng), phone(rng), npi(rng)
    lines = [f"{name}, {cred}", rng.choice(["Coding Manager", "Billing Lead", "Coder II",
                                             "Revenue Cycle Specialist"]),
             clinic, street, city, f"Phone: {ph} | Fax: {fx}"]
    traps = [Trap(city, zipc, "zip"), Trap(ph, ph[-4:], "phone"), Trap(fx, fx[-4:], "fax")]
    if rng.random() < 0.6:
        lines.append(f"Group NPI {n}  Tax ID 31-{rng.randint(1000000, 9999999)}")
        traps.append(Trap(f"NPI {n}", n[:5], "npi"))
    return "\n".join(lines), traps


FOOTER = (
    "CONFIDENTIALITY NOTICE: This e-mail message, including any attachments, is for the sole "
    "use of the intended recipient(s) and may contain confidential and privileged information "
    "protected by law (HIPAA, 45 CFR Parts 160 and 164). Any unauthorized review, use, "
    "disclosure or distribution is prohibited. If you are not the intended recipient, please "
    "contact the sender at 614-555-0100 and destroy all copies of the original message."
)


def render_table(table: list[list[str]]) -> str:
    return "\n".join(" | ".join(cell for cell in row) for row in table)


def html_body(paragraphs: list[str], table: list[list[str]] | None, sig: str) -> str:
    out = ['<html xmlns:o="urn:schemas-microsoft-com:office:office"><head>'
           '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
           "<style><!-- p.MsoNormal {margin:0in; font-size:11.0pt;} --></style></head>"
           '<body lang="EN-US"><div class="WordSection1">']
    for p in paragraphs:
        for line in p.split("\n"):
            out.append(f'<p class="MsoNormal">{html.escape(line) or "&nbsp;"}<o:p></o:p></p>')
        out.append('<p class="MsoNormal"><o:p>&nbsp;</o:p></p>')
        if table and p is paragraphs[1]:
            out.append('<table class="MsoTableGrid" border="1" cellspacing="0">')
            for row in table:
                out.append("<tr>" + "".join(f'<td><p class="MsoNormal">{html.escape(c)}</p></td>'
                                            for c in row) + "</tr>")
            out.append("</table>")
    out.append('<p class="MsoNormal">' + "<br>".join(html.escape(x) for x in sig.split("\n"))
               + "</p></div></body></html>")
    return "\n".join(out)


def build(idx: int, rng: random.Random) -> tuple[bytes, dict]:
    scen = SCENARIOS[idx % len(SCENARIOS)](rng)
    style = rng.choice(["plain", "plain", "outlook_html", "html_only", "reply", "outlook_reply",
                        "forward", "attachment"])
    if scen.table is not None and style == "attachment":
        style = "plain"
    name, cred = rng.choice(CODERS)
    first = name.split()[0]
    greeting = rng.choice(["Hi team,", "Hello,", "Good morning,", "Hi all -", "Hi,"])
    sig, sig_traps = signature(rng, name, cred)
    pline, p_traps = patient_line(rng) if rng.random() < 0.4 else ("", [])
    paragraphs = [greeting, scen.body] + ([pline] if pline else [])
    closing = rng.choice(["Thanks,", "Thank you,", "Regards,", "Thanks in advance,"])
    with_footer = rng.random() < 0.3
    new_codes = [Code(c.system, c.code, c.modifiers, c.units, "subject")
                 for c in scen.subject_codes]
    new_codes += [Code(c.system, c.code, c.modifiers, c.units, "body") for c in scen.codes]
    new_codes += [Code(c.system, c.code, c.modifiers, c.units, "body") for c in scen.table_codes]
    traps = list(scen.traps) + sig_traps + p_traps
    for c in new_codes:  # a code the subject spells out stands in the subject first
        spelled = {c.code, c.code.replace(".", "")}
        if any(re.search(rf"(?<![\w.]){re.escape(x)}(?![\w])", scen.subject) for x in spelled):
            c.where = "subject"
    msg = EmailMessage()
    clinic_dom = rng.choice(["riversidegi.example", "inwortho.example", "lakeshorefm.example"])
    msg["From"] = f"{name} <{first.lower()}@{clinic_dom}>"
    msg["To"] = "coding-help@consult.example"
    sent = datetime(2025, 11, 3, 9, 0, tzinfo=timezone(timedelta(hours=-5))) + timedelta(
        minutes=37 * idx)
    msg["Date"] = format_datetime(sent)
    msg["Message-ID"] = f"<corpus-{idx:03d}@{clinic_dom}>"
    subject = scen.subject
    quoted_codes: list[Code] = []
    plain_parts = list(paragraphs)
    if scen.table:
        plain_parts.insert(2, render_table(scen.table))
    text_sig = f"{closing}\n{sig}"
    tail = ""
    if style in ("reply", "outlook_reply"):
        older_text, older_codes = rng.choice(OLDER)
        subject = "RE: " + subject
        quoted_codes = [Code(c.system, c.code, c.modifiers, c.units, "quoted") for c in older_codes]
        when = format_datetime(sent - timedelta(days=2))
        if style == "reply":
            tail = (f"\n\nOn {when}, Consult Desk <coding-help@consult.example> wrote:\n"
                    + "\n".join("> " + x for x in
                                [older_text, "", "Thanks,", "Consult Desk"]))
        else:
            tail = ("\n\n-----Original Message-----\nFrom: Consult Desk "
                    f"<coding-help@consult.example>\nSent: {when}\nTo: {name}\n"
                    f"Subject: {scen.subject}\n\n{older_text}\n\nConsult Desk")
    body_codes = new_codes
    if style == "forward":
        subject = "FW: " + subject
        fwd_from = rng.choice(CODERS)[0]
        fwd_intro = rng.choice(["FYI - see the question below from our billing team. Can you help?",
                                "Forwarding this one, we could not agree internally."])
        forwarded = (f"---------- Forwarded message ---------\nFrom: {fwd_from} "
                     f"<fwd@{clinic_dom}>\nDate: {format_datetime(sent - timedelta(hours=3))}\n"
                     f"Subject: {scen.subject}\nTo: {name} <{first.lower()}@{clinic_dom}>\n\n"
                     + "\n\n".join(plain_parts[1:]))
        plain = f"{greeting}\n\n{fwd_intro}\n\n{text_sig}\n\n{forwarded}"
        body_codes = [c for c in new_codes if c.where == "subject"]
        quoted_codes = [Code(c.system, c.code, c.modifiers, c.units, "quoted")
                        for c in new_codes if c.where != "subject"]
        msg["Subject"] = subject
        msg.set_content(plain)
    elif style == "attachment":
        att_lines = ["Procedure summary (from op note)"]
        att_codes = []
        for c in scen.codes:
            if c.system in ("CPT", "HCPCS") and len(att_codes) < 2:
                mods = "".join("-" + m for m in c.modifiers)
                att_lines.append(f"CPT/HCPCS: {c.code}{mods}")
                att_codes.append(c)
        extra_line, extra_code = rng.choice([
            ("Pathology: 88305 x 2", C("CPT", "88305", units=2)),
            ("Supplies: A4550", C("HCPCS", "A4550")),
            ("Fluoroscopy: 76000-26", C("CPT", "76000", "26")),
            ("Anesthesia: 00813", C("CPT", "00813")),
        ])
        att_lines.append(extra_line)
        att_codes.append(extra_code)
        att_lines.append("Surgeon NPI: 1326014457   Printed 11/02/2025 14:32")
        att_text = "\n".join(att_lines) + "\n"
        plain = "\n\n".join(plain_parts) + "\n\nSee attached summary.\n\n" + text_sig
        if with_footer:
            plain += "\n\n" + FOOTER
        msg["Subject"] = subject
        msg.set_content(plain)
        msg.add_attachment(att_text.encode(), maintype="text", subtype="plain",
                           filename="op_summary.txt")
        body_codes = new_codes + [Code(c.system, c.code, c.modifiers, c.units, "attachment")
                                  for c in att_codes]
        traps.append(Trap("Surgeon NPI: 1326014457", "13260", "npi"))
        traps.append(Trap("Printed 11/02/2025 14:32", "2025", "date"))
    elif style in ("outlook_html", "html_only"):
        msg["Subject"] = subject
        sig_html = text_sig + ("\n\n" + FOOTER if with_footer else "")
        html_text = html_body(paragraphs, scen.table, sig_html)
        plain = "\n\n".join(plain_parts) + "\n\n" + text_sig
        if style == "html_only":
            msg.set_content(html_text, subtype="html")
        else:
            msg.set_content(plain)
            msg.add_alternative(html_text, subtype="html")
    else:
        plain = "\n\n".join(plain_parts) + "\n\n" + text_sig
        if with_footer:
            plain += "\n\n" + FOOTER
        plain += tail
        msg["Subject"] = subject
        msg.set_content(plain)
    labels = {
        "id": f"{idx:03d}",
        "style": style,
        "scenario": SCENARIOS[idx % len(SCENARIOS)].__name__,
        "codes": [vars(c) | {"modifiers": list(c.modifiers)} for c in
                  merge_labels(body_codes, quoted_codes)],
        "traps": [vars(t) for t in traps],
        "payer": scen.payer,
        "date_of_service": scen.dos,
        "setting": scen.setting,
    }
    return bytes(msg), labels


def merge_labels(new: list[Code], quoted: list[Code]) -> list[Code]:
    """The labelling convention: one entry per code at its first place; the same code written
    with two different modifier sets is two lines; quoted adds only codes the new text lacks."""
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


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*"):
        old.unlink()
    rng = random.Random(SEED)
    for i in range(COUNT):
        raw, labels = build(i, rng)
        (OUT / f"{i:03d}.eml").write_bytes(raw)
        (OUT / f"{i:03d}.json").write_text(json.dumps(labels, indent=1) + "\n")
    print(f"wrote {COUNT} mails to {OUT}")


if __name__ == "__main__":
    main()
