"""How findings become a part's answer, on the KB built from the real CMS files and the
ICD-10-CM tabular: a period asked without dates, a modifier's place on an edit, codes reported
with 50, combination codes that keep a code their note asks for, and frequency questions that
our sources cannot answer. Expected facts are read from the files (RVU25D global days and
bilateral indicators, NCCI v30.1 rows, the FY2026 tabular notes), not from our own output.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.servers import require

from consult.kb.build import build_kb
from consult.kb.store import KnowledgeBase
from consult.pipeline import Analysis, analyze
from tests.kb.conftest import MCD_DIR, MCD_LIST


@pytest.fixture(scope="module")
def list_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    """The starter KB with the real MCD document list (titles, contractors, versions) and no
    code lists: coverage answers come from titles."""
    listed = MCD_DIR / MCD_LIST
    if not listed.exists():
        require(False, f"MCD data at {listed}")
    folder = tmp_path_factory.mktemp("mcd-list")
    (folder / "mcd").mkdir()
    (folder / "mcd" / MCD_LIST).symlink_to(listed)
    path: Path = tmp_path_factory.mktemp("kb") / "kb.sqlite"
    build_kb(path, sources_dir=folder)
    return KnowledgeBase(path)


def _mail(body: str, subject: str = "coding question") -> bytes:
    return (f"From: Coder <coder@clinic.example>\r\nTo: consult@consult.test\r\n"
            f"Subject: {subject}\r\nDate: Wed, 10 Dec 2025 11:42:00 -0500\r\n"
            f"Message-ID: <t{abs(hash(body))}@clinic.example>\r\n\r\n{body}\r\n").encode()


def _run(kb: KnowledgeBase, body: str) -> Analysis:
    return analyze(_mail(body), kb, case_id=3)


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_global_days_asked_without_dates(real_kb: KnowledgeBase) -> None:
    a = _run(real_kb, "Does the op note for 47562 have to be signed before we drop the claim?"
                      "\n\nHow many global days does 47562 have?")
    signed, days = a.parts
    assert signed.type == "documentation" and not signed.answerable
    # RVU25D: 47562 GLOB DAYS 090
    assert "47562 has a 90-day global period" in days.answer
    assert "ends" not in days.answer  # no surgery date in the mail: no end date invented


def test_an_indicator_1_edit_says_where_the_modifier_goes(real_kb: KnowledgeBase) -> None:
    # NCCI v30.1: column 1 17110, column 2 11102, modifier indicator 1
    a = _run(real_kb, "The scrubber pairs 17110 with 11102 on the same day. Which one gets the "
                      "modifier, and which modifier?")
    answer = _flat(a.parts[0].answer)
    assert "11102 is bundled into 17110" in answer
    assert "the modifier goes on 11102: XS, XE, XP or XU where one fits, else 59" in answer


def test_codes_reported_with_50_in_one_sentence_and_no_two_units(
    real_kb: KnowledgeBase,
) -> None:
    # RVU25D: 64493, 64494 and 64495 have bilateral indicator 1; MUE 1 each (2026 Q2)
    a = _run(real_kb, "Bilateral L3-4, L4-5, L5-S1 facet injections on 11/14/2025, Medicare. "
                      "Do we bill 64493-50, 64494-50, 64495-50? or 64493 x2, 64494 x2 etc?\n\n"
                      "And how many sessions a year are allowed?")
    answer = _flat(a.parts[0].answer)
    assert "Report 64493-50, 64494-50 and 64495-50, each on one line with 1 unit" in answer
    assert "2 units of 64493 are over" not in answer
    frequency = a.parts[1]
    assert frequency.type == "coverage" and not frequency.answerable
    assert "frequency limits" in frequency.answer


def test_a_combination_code_keeps_the_code_its_note_asks_for(real_kb: KnowledgeBase) -> None:
    # FY2026 tabular: I12 includes "any condition in N18 ... due to hypertension"; I12.9 is
    # stage 1-4 (I12.0 stage 5/ESRD) and says "use additional code to identify the stage"
    # (N18.1-N18.4, N18.9); E11.22 likewise asks for the stage (N18.1-N18.6)
    a = _run(real_kb, "Dx set: E11.9, N18.31, I10, Z79.4. Can you check this dx set?")
    answer = _flat(a.parts[0].answer)
    assert "Use the combination code I12.9 instead of I10, and keep N18.31" in answer
    assert "Use the combination code E11.22 instead of E11.9, and keep N18.31" in answer
    assert "I12.0" not in answer


def test_status_t_is_bundled_beside_a_visit_whatever_the_modifier(
    real_kb: KnowledgeBase,
) -> None:
    # RVU25D: 94760 status T, 99214 status A; NCCI v30.1: 94760/99214 indicator 1
    a = _run(real_kb, "94760 was denied with 99214 on 10/2/2025 (Medicare). Should we rebill "
                      "94760 with 59 or 25 on the visit?")
    answer = _flat(a.parts[0].answer)
    assert "94760 is PFS status T" in answer and "no modifier (25, 59 or X)" in answer
    assert "Put 25 on 99214 so the visit itself is paid" in answer
    assert not answer.startswith("Yes")


def test_a_lab_test_is_paid_outside_the_physician_fee_schedule(real_kb: KnowledgeBase) -> None:
    # RVU25D: 82306 and 36415 status X (statutory exclusion from the PFS, e.g. clinical lab);
    # status X is not "not covered"
    a = _run(real_kb, "Why would 36415 not pay with 82306 for Medicare?")
    text = _flat(a.draft.text)  # type: ignore[union-attr]
    assert "does not pay 36415 under the physician fee schedule (PFS status X)" in text
    assert "Clinical Laboratory Fee Schedule" in text
    assert "does not cover 36415" not in text and "does not cover 82306" not in text


def test_coverage_names_the_lcd_in_force_in_an_earlier_version(list_kb: KnowledgeBase) -> None:
    # MCD list 2025-08-17: CGS LCD L33996 "Vitamin D Assay Testing", version 32 effective
    # 2025-08-07; a mail of July 2025 asks about it (version 31 was in force then)
    mail = (b"From: Coder <coder@clinic.example>\r\nTo: consult@consult.test\r\n"
            b"Subject: vit D\r\nDate: Thu, 17 Jul 2025 11:22:07 -0400\r\n"
            b"Message-ID: <vitd@clinic.example>\r\n\r\nOur MAC is CGS. Is 82306 for vitamin "
            b"D deficiency (E55.9) covered under the CGS LCD?\r\n")
    a = analyze(mail, list_kb, case_id=4)
    answer = _flat(a.parts[0].answer)
    assert "LCD L33996" in answer and "version 32 effective 2025-08-07" in answer
    assert not a.parts[0].answerable  # the covered-diagnosis list is not in our sources


def test_doses_by_drug_name_under_a_table_of_codes(real_kb: KnowledgeBase) -> None:
    # HCPCS 2025: J0696 ceftriaxone per 250 mg, J2405 ondansetron per 1 mg; MUE 16 and 64.
    # The "?" in the units column is a cell, not a question of its own.
    a = _run(real_kb, "Office, Medicare, 5/20/2025: ceftriaxone 1 g IV infusion, then "
                      "ondansetron 4 mg IV push, then an hour later ondansetron 4 mg IV push "
                      "again.\n\nDOS\tCPT\tUnits\n05/20/2025\t96365\t1\n05/20/2025\tJ0696\t1\n"
                      "05/20/2025\tJ2405\t?\n\nHow many units of J0696 and J2405?")
    assert [p.text for p in a.parts] == ["How many units of J0696 and J2405?"]
    answer = _flat(a.parts[0].answer)
    assert "1 g of J0696 (per 250 mg) is 4 units, not 1" in answer
    assert "8 mg of J2405 (per 1 mg) = 8 units" in answer


def test_two_panels_are_not_a_repeated_test(real_kb: KnowledgeBase) -> None:
    # NCCI v30.1: 80053/80048 modifier indicator 0 (the CMP holds every BMP test)
    a = _run(real_kb, "cmp and bmp same draw?? 80053 80048 medicare, can i bill both w 91 or 59")
    answer = _flat(a.parts[0].answer)
    assert answer.startswith("No: 80048 is bundled into 80053 and no modifier")
    assert "modifier 91 on" not in answer  # 91 is for one test repeated for a new result
    assert "Clinical Laboratory Fee Schedule" not in answer  # nobody asked about payment


def test_a_code_inside_another_by_definition(real_kb: KnowledgeBase) -> None:
    # NCCI v30.1: 29880/29881 indicator 1, rationale "HCPCS/CPT procedure code definition"
    a = _run(real_kb, "We coded 29881 and 29880-59 for the same knee. Correct?")
    answer = _flat(a.parts[0].answer)
    assert answer.startswith("29881 is part of 29880 by definition")
    assert "The 59 on 29880 is on the wrong code: it belongs on 29881" in answer


def test_a_whole_claim_question_reads_every_line(real_kb: KnowledgeBase) -> None:
    # NCCI v30.1: G0439/99214 indicator 1; FY2026 tabular: N18 "code first" diabetic CKD
    # (E11.22); E11.65 is a second complication, not the unspecified E11.9
    a = _run(real_kb, "AWV plus a diabetes/CKD visit, Medicare, 6/17/2025. Our scrubber warns "
                      "\"use additional code\" on E11.65 and I12.9. Is the claim ok?\n\n"
                      "G0439 Z00.00\n99214-25 E11.65 Z79.4 I12.9\n93000 I12.9 N18.30\n")
    answer = _flat(a.parts[0].answer)
    assert "25 on 99214" in answer
    assert "Add the combination code E11.22 and keep" in answer and "E11.65" in answer
    assert "instead of I12.9" not in answer  # I12.9 is the combination code already


def test_units_over_a_policy_mue_and_a_bundled_code(real_kb: KnowledgeBase) -> None:
    # MUE 2026 Q2: 43239 practitioner 1, MAI 2; NCCI v30.1: 43239/43235 indicator 0
    a = _run(real_kb, "Diagnostic EGD (43235) then biopsies of the antrum and the duodenum "
                      "(43239), DOS 07/22/2025. Do we bill 43235 + 43239 x 2 since two sites "
                      "were biopsied?")
    answer = _flat(a.parts[0].answer)
    assert "2 units of 43239 are over its MUE of 1 per date of service: report 43239 x1" in answer
    assert "No: 43235 is bundled into 43239" in answer


def test_a_header_diagnosis_gets_the_child_the_words_point_to(real_kb: KnowledgeBase) -> None:
    # FY2026 tabular: Z86.010 has subcodes Z86.0100-Z86.0109 (no 7th-character extension);
    # M54.5 has M54.50 (unspecified), M54.51 (vertebrogenic), M54.59 (other)
    a = _run(real_kb, "Two rejections, both invalid diagnosis:\n\n1) surveillance colonoscopy, "
                      "pt has personal history of tubular adenoma - coded Z86.010\n2) PT eval "
                      "for low back pain, no radiculopathy, no other detail - coded M54.5\n\n"
                      "What should they be?")
    answer = _flat(a.parts[-1].answer)
    assert "Z86.010 is a header, not billable: from your words, Z86.0101" in answer
    assert "M54.5 is a header, not billable: from your words, M54.50" in answer
    assert "7th character" not in _flat(a.draft.text)  # type: ignore[union-attr]
    assert "likely code" not in answer  # no guess beside the codes the mail names


def test_wound_areas_add_up_only_within_one_depth(real_kb: KnowledgeBase) -> None:
    # CPT debridement rules: areas of one depth are added; 11043 muscle, 11042 subcutaneous,
    # 97597/97598 selective (first 20 sq cm, then each further 20 sq cm or part)
    a = _run(real_kb, "Medicare, 4 wounds on 12/08/2025:\n\n11043 sacrum, muscle, 12 sq cm\n"
                      "11042 L lower leg, subq, 18 sq cm\n97597 R shin, selective, 15 sq cm\n"
                      "97597 R calf, selective, 14 sq cm\n\nCan we add the 12 sq cm muscle wound "
                      "and the 18 sq cm subq wound together? Do the two selective ones become "
                      "97597 x2?")
    first, second = (_flat(p.answer) for p in a.parts[:2])
    assert first.startswith("muscle 12 sq cm = 11043 x1; subcutaneous 18 sq cm = 11042 x1")
    assert "selective 29 sq cm = 97597 x1 + 97598 x1" in second
    assert "24 sq cm" not in second  # the wounds the question restates are not counted twice


def test_a_panel_test_on_the_same_draw_is_not_a_91_repeat(real_kb: KnowledgeBase) -> None:
    # NCCI v30.1: 80053/82947 indicator 1, rationale "Laboratory panel"
    a = _run(real_kb, "Medicaid. 80053 and a separate 82947 glucose, same draw, same time. "
                      "can the glucose go on w/ 91?")
    answer = _flat(a.parts[0].answer)
    assert answer.startswith("No: 82947 is one of the tests in the 80053 panel")
    assert "Not 91: it marks the same test repeated later the same day" in answer


def test_a_distinct_service_modifier_on_the_same_site_is_refused(real_kb: KnowledgeBase) -> None:
    # NCCI v30.1: 27447/20610 indicator 1; 59 and the X modifiers need a different site,
    # lesion or session (NCCI Policy Manual ch. I), and the mail says the same knee
    a = _run(real_kb, "Right TKA (27447) on 11/14/2025, Medicare. At the end of the case the "
                      "surgeon injected a pain cocktail into the same knee. The surgeon wants "
                      "to add 20610-RT-59. OK?")
    answer = _flat(a.parts[0].answer)
    assert answer.startswith("No: 20610 is bundled into 27447, and on the same knee 59 does "
                             "not apply")


def test_a_test_done_and_read_in_the_office_is_priced_and_billed_global(
        real_kb: KnowledgeBase) -> None:
    """"Our machine, our doc reads" is the global service, not 26: PPRRVU 73560 global row
    non-facility total 1.02 RVU x 32.3465 = $32.99 (the 26 row is 0.24 RVU); in our office
    the facility amount is not the one asked."""
    a = _run(real_kb, "We took x-rays of both knees in our office (our machine, our doc reads) "
                      "for a Medicare pt. 73560 - what is the national rate?")
    text = _flat(a.draft.text if a.draft else "")
    assert "$32.99" in text and "73560-26" not in text
    assert "facility 1.02" not in text.replace("non-facility", "")
    read = _run(real_kb, "Our radiologist reads knee films taken at the hospital (the hospital "
                         "owns the machine). 73560 - what is the national rate for the read?")
    assert "73560-26: non-facility (office) 0.24 RVU" in _flat(read.draft.text if read.draft
                                                               else "")


def test_the_right_code_for_a_retired_one_is_its_successor_not_a_guess(
        real_kb: KnowledgeBase) -> None:
    """HCPCS 2025: G0202 terminated 2017-12-31, cross-referenced to 77067; "what's the right
    code?" is answered by that, with no Case2Code guess from the mail's words beside it."""
    a = _run(real_kb, "Their charge master still maps Medicare screening mammograms to G0202. "
                      "Is that still good? If not what's the right code?")
    text = _flat(a.draft.text if a.draft else "")
    assert "report 77067 instead" in text
    assert "likely code" not in text and not any(f.rule == "suggestion" for f in a.findings)


def test_a_commercial_plan_hears_that_only_medicare_swaps_99417_for_g2212(
        real_kb: KnowledgeBase) -> None:
    """PPRRVU 2025: 99417 status I, G2212 status A. A Cigna claim keeps the CPT code; the
    answer says Medicare alone differs, and never "Medicare does not pay" as the verdict."""
    a = _run(real_kb, "Cigna commercial. Is 99417 the right code with 99215 here?")
    text = _flat(a.parts[0].answer)
    assert "only Medicare does not accept it (PFS status I) and pays G2212 instead" in text
    assert "99215 is one of its eligible primaries" in text


def test_two_patients_in_one_mail_are_never_one_claim_or_one_global(
        real_kb: KnowledgeBase) -> None:
    """RVU25D: 19120, 19303 and 66984 have 090 global days. The mastectomy falls in the
    biopsy's global (58: it followed the pathology); the second eye in the first eye's (79 with
    RT/LT); the cataract is never compared with the breast surgery of another client."""
    a = _run(real_kb, "Hi, two different clients, both Medicare:\n\n"
                      "A) Breast surgeon: excisional breast biopsy 19120 on 6/2. Path came back "
                      "DCIS, she did a simple mastectomy 19303 on the same side 6/23. What "
                      "modifier on 19303?\n\n"
                      "B) Ophthalmology: cataract 66984 right eye 6/3, left eye 6/24. Office "
                      "says 58 because it was planned. I thought 79?")
    breast, eyes = (_flat(p.answer) for p in a.parts)
    assert "append 58" in breast and "66984" not in breast
    assert "append 79 with RT/LT" in eyes and "19120" not in eyes
    lines = {(ln.code, ln.patient) for ln in a.extraction.service_lines}
    assert lines == {("19120", 1), ("19303", 1), ("66984", 2)}
    assert [ln.date_of_service.isoformat() for ln in a.extraction.service_lines
            if ln.code == "66984" and ln.date_of_service] == ["2025-06-03", "2025-06-24"]


def test_one_patient_with_a_numbered_list_stays_one_claim(real_kb: KnowledgeBase) -> None:
    a = _run(real_kb, "1) Can we bill 43239 with 43235 today?\n2) Does 43235 need 59?")
    assert all(ln.patient is None for ln in a.extraction.service_lines)


def test_timed_therapy_units_are_counted_per_patient(real_kb: KnowledgeBase) -> None:
    """CMS Claims Processing Manual ch. 5 sec. 20.2: 38 timed minutes = 3 units; 33 + 7 = 40
    minutes = 3 units, the third to the service with more minutes left over (97140: 7 vs 3);
    "under 8 min" is the coder's threshold, not time spent; patient 1's minutes never add to
    patient 2's."""
    a = _run(real_kb, "Two Medicare PT visits today:\n\n"
                      "Pt 1: 38 minutes of therapeutic exercise (97110), nothing else timed. "
                      "2 units or 3?\n"
                      "Pt 2: 33 min therapeutic exercise (97110) + 7 min manual therapy "
                      "(97140). Our EMR says 97110 x2 and drops the 97140 because it's under "
                      "8 min. Is that right??")
    first, second = (_flat(p.answer) for p in a.parts)
    assert "38 timed minutes = 3 units" in first
    assert "40 timed minutes = 3 units = 97110 x2 + 97140 x1" in second


def test_numbered_patients_with_their_own_payers(real_kb: KnowledgeBase) -> None:
    """Two numbered items, each a patient with its own payer: the Medicare screening that was
    stopped early is G0121-53 (PPRRVU 2025 G0121-53: facility 2.75 RVU = $88.95), the
    commercial screening that became a biopsy is 45380 with 33, not PT; and the commercial
    patient's 45380 is not priced from Medicare's fee schedule."""
    a = _run(real_kb, "Two questions:\n\n"
                      "1) Medicare pt, average risk screening 3/4, poor prep, procedure stopped "
                      "at the splenic flexure. G0121-53 or 45378-53? What does it pay?\n\n"
                      "2) Aetna commercial pt, screening colonoscopy 3/5 became a cold forceps "
                      "biopsy (45380). PT like Medicare or 33?")
    text = _flat(a.draft.text if a.draft else "")
    assert "report G0121-53 for Medicare" in text
    assert "$88.95" in text
    assert "45380 with modifier 33" in text and "45380 with modifier PT" not in text
    assert "national amount for 45380" not in text


def test_mohs_stages_and_the_surgeons_own_pathology(real_kb: KnowledgeBase) -> None:
    """Two stages are 17311 x1 + 17312 x1 (17312: each additional stage); 88305 for the Mohs
    sections the surgeon reads is included in the Mohs codes (NCCI Policy Manual ch. III) and
    is said first, before the pair edit's generic hedge; "Dr. X read" is not a hospital read."""
    a = _run(real_kb, "Mohs on the nasal ala, Medicare, 3/16/2026. Two stages total. Billed:\n"
                      "17311 x1\n17312 x2\n88305 x2 (for the frozen sections Dr. Kaye read "
                      "herself)\n\nIs that right?")
    answer = _flat(a.parts[0].answer)
    assert answer.startswith("2 stages = 17311 x1 + 17312 x1")
    assert "88305 is not billed for the Mohs sections" in answer
    assert "88305-26" not in answer and "Dr. Kaye read herself" in a.parts[0].text


def test_an_unspecified_code_beside_the_words_that_specify_it(real_kb: KnowledgeBase) -> None:
    """FY2026 tabular: L97.429 is the left heel and midfoot ulcer of unspecified severity,
    L97.422 the one with fat layer exposed; E11.621 (foot ulcer) is already the combination
    code, so no sibling (E11.622) is added; metformin beside insulin adds Z79.84 to Z79.4
    (guideline I.C.4.a.3)."""
    a = _run(real_kb, "Type 2 diabetic, ulcer of the left heel, provider documented \"fat layer "
                      "exposed\". She takes insulin glargine and metformin. We have E11.621 + "
                      "L97.429 + Z79.4.\n\n1) Is L97.429 right?\n2) Do we also need a code "
                      "for the metformin?")
    first, second = (_flat(p.answer) for p in a.parts)
    assert first.startswith("Use L97.422") and "E11.622" not in first
    assert second.startswith("Add Z79.84") and "beside Z79.4" in second


def test_a_seventh_character_code_written_without_its_placeholder(
        real_kb: KnowledgeBase) -> None:
    """FY2026 tabular: S82.61 (displaced fracture of the right lateral malleolus) takes the
    placeholder X before its 7th character; malunion care is P (guideline I.C.19.c.1). The
    mail's S82.611D and S82.611A are not codes: one answer names S82.61XP and both."""
    a = _run(real_kb, "Displaced right lateral malleolus fracture in October, treated by "
                      "another group; first seen here 2/4/2026, healed in bad position "
                      "(malunion). Our coder used S82.611D. Our biller says S82.611A since she "
                      "is new to us. Which is right?")
    answer = _flat(a.parts[0].answer)
    assert answer.startswith("Report S82.61XP (7th character P")
    assert "not S82.611D or S82.611A (S82.61 takes the placeholder X" in answer
    assert answer.count("S82.61XP") == 1


def test_two_visits_after_surgery_one_inside_one_outside_the_global(
        real_kb: KnowledgeBase) -> None:
    """RVU25D: 64721 has a 090 global; 1/8/2026 + 90 days ends 4/8/2026. The 3/30 visit for a
    tender incision (no infection) is routine post-op care: 99024, not 24; the 4/14 visit for a
    new problem is outside the global: no modifier at all."""
    a = _run(real_kb, "Carpal tunnel release 64721 on 1/8/2026, Medicare.\n\n"
                      "- 3/30/2026: she came back because the incision felt stiff and tender. "
                      "Doc looked at the wound, no infection. He wants to bill 99213-24.\n"
                      "- 4/14/2026: same patient, new problem - trigger finger on the other "
                      "hand. We were going to put 24 on that one too.\n\nAre we right?")
    text = _flat(a.parts[0].answer)
    assert "report 99024 (no separate payment), not 99213" in text
    assert "complication" not in text
    assert "The visit on 2026-04-14 is 96 days after 64721" in text
    assert "which ends 2026-04-08" in text and "no global-period modifier" in text


def test_routine_foot_care_finds_its_lcd_and_not_a_title_sharing_one_word(
        real_kb: KnowledgeBase, list_kb: KnowledgeBase) -> None:
    """PPRRVU 2025: 11056 status R. MCD list: Novitas LCD L35138 "Routine Foot Care" and
    article A52996; "peripheral neuropathy" must not pull in "Peripheral Venous Ultrasound"."""
    body = ("We're in Pennsylvania (Novitas). Medicare patient with type 2 diabetes and "
            "peripheral neuropathy (E11.42); the doctor pared 3 calluses on both feet and "
            "billed 11056. Is 11056 even covered by Medicare?")
    text = _flat(_run(list_kb, body).parts[0].answer)
    assert "L35138 \"Routine Foot Care\"" in text and "Venous" not in text
    status = _flat(_run(real_kb, body).parts[0].answer)
    assert status.startswith("11056 is PFS status R (restricted coverage)")


def test_both_knees_is_the_bilateral_code_and_is_it_right_is_no_side(
        real_kb: KnowledgeBase) -> None:
    """FY2026 tabular: M17.9 osteoarthritis of knee, unspecified; M17.0 bilateral primary
    osteoarthritis of knee. "Both knees" is bilateral; "is M17.9 right?" names no right knee;
    "unspecified codes" in the payer's letter says nothing of the patient."""
    a = _run(real_kb, "Doc documents \"primary osteoarthritis, both knees\". Our EHR defaults "
                      "to M17.9. Is M17.9 right? Aetna says they will deny unspecified codes.")
    assert _flat(a.parts[0].answer).startswith("Use M17.0 (Bilateral primary osteoarthritis")


def test_the_organism_a_use_additional_note_asks_for(real_kb: KnowledgeBase) -> None:
    """FY2026 tabular: N39.0 "use additional code (B95-B97), to identify infectious agent";
    B96.20 is unspecified E. coli as the cause of diseases classified elsewhere."""
    a = _run(real_kb, "UTI, urine culture grew E. coli. Can we just code N39.0, or do we need "
                      "the organism too?")
    assert _flat(a.parts[0].answer).startswith("Add B96.20 (Unspecified Escherichia coli")
    none = _run(real_kb, "UTI, culture pending. Is N39.0 enough?")
    assert "B96" not in _flat(none.parts[0].answer)


def test_a_routine_physical_beside_the_wellness_visit_medicare_pays(
        real_kb: KnowledgeBase) -> None:
    """PPRRVU 2025: 99397 status N, G0439 status A. The choice names G0439; a routine physical
    sent to Medicare for a denial takes GY (excluded by statute, SSA sec. 1862(a)(7))."""
    a = _run(real_kb, "Medicare patient, annual visit, had her AWV last year. Do we bill 99397 "
                      "or G0439? Or both?")
    text = _flat(a.parts[0].answer)
    assert text.startswith("Report G0439; not 99397")
    assert text.endswith("add GY: a routine physical is excluded by statute, and the patient "
                         "pays.")


def test_a_sleep_study_names_the_polysomnography_lcd_and_its_billing_article(
        list_kb: KnowledgeBase) -> None:
    """MCD list: Palmetto LCD L36593 "Polysomnography"; a coder writes PSG. Without the words
    "Polysomnography" the repeat question once named a repeat X-ray/EKG reading article."""
    a = _run(list_kb, "Palmetto, Medicare. One patient had a PSG in 2024 and the doc wants a "
                      "repeat 95810 now. How often will Palmetto pay for a repeat?")
    text = _flat(a.parts[0].answer)
    assert "LCD L36593 \"Polysomnography\"" in text and "X-ray" not in text
