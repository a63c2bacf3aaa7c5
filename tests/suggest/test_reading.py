"""The pure parts of Case2Code: words, qualifiers and phrases, tested with literal text."""

from __future__ import annotations

import pytest

from consult.suggest.phrases import clinical_lines, role_of, split_phrases
from consult.suggest.qualifiers import fit, parse_when, read_facts
from consult.suggest.text import normalize, query_tokens


def test_coders_words_and_cms_abbreviations_meet_the_lay_words() -> None:
    lay = set(normalize("EGD with placement of a percutaneous gastrostomy feeding tube (PEG)"))
    assert set(normalize("EGD w/ PEG")) <= lay
    assert set(normalize("upper endoscopy with peg tube")) <= lay | {"tube"}
    cms = set(normalize("Egd tube/cath insertion", cms_short=True))
    assert {"esophagogastroduodenoscop", "tube", "cathet"} <= cms
    assert normalize("Esophagoscopy rigid trnso", cms_short=True) == normalize(
        "esophagoscopy rigid transoral")
    assert normalize("laparoscopy") == normalize("laparoscopic")
    assert normalize("biopsies") == normalize("biopsy")
    assert "inject" in normalize(" ".join(query_tokens("knee inj")))
    assert "ultrasound" in query_tokens("RUQ US") and "ultrasound" not in query_tokens("let us")
    assert normalize("CT head w/o contrast") != normalize("CT head with contrast")
    assert "lumbar" in normalize("L4-L5")


@pytest.mark.parametrize(("text", "key", "value"), [
    ("flexible esophagoscopy with balloon dilation 30 mm", "mm", 30),
    ("17 AKs frozen", "count", 17),
    ("destroyed eighteen flat warts", "count", 18),
    ("skin tags x 22 neck", "count", 22),
    ("excision SCC forearm, 1.0 cm lesion w/ 0.4 cm margins", "cm", 1.8),
    ("2.5 cm and 3 cm lacerations of the forearm, simple repair", "cm", 5.5),
    ("debridement of a 5 x 4 cm wound to subcutaneous tissue", "sqcm", 20),
    ("established pt, total time 42 min", "min", 42),
    ("L4-5 and L5-S1 TFESI", "levels", 2),
    ("well visit for a 45 yo", "age", 45),
    ("level 4 ED visit", "level", 4),
    ("L-spine 2 or 3 views", "views", 2),
])
def test_numbers_the_narrative_states(text: str, key: str, value: float) -> None:
    assert read_facts(text).numbers[key] == value


def test_conditions_agree_clash_or_stay_silent() -> None:
    big_balloon = parse_when("mm=30-")
    assert fit(big_balloon, read_facts("balloon 30 mm")) == 1
    assert fit(big_balloon, read_facts("balloon 18 mm")) == -1
    assert fit(big_balloon, read_facts("balloon dilation")) == 0
    new_visit = parse_when("new level=4 min=45-59")
    assert fit(new_visit, read_facts("new patient, 50 minutes")) == 2
    assert fit(new_visit, read_facts("established patient, 50 minutes")) == 0  # -1 +1


@pytest.mark.parametrize("line", [
    "Thanks so much!", "Hi team,", "Best regards,", "Dana Whitfield, CPC, CGIC",
    "Coding Department | Lakeside Orthopedics", "Phone (555) 201-3344 ext. 12",
    "Columbus, OH 43214", "Sent from my iPhone", "Please see below.",
    "This message may contain confidential information intended only for the recipient.",
    "Thanks, a second opinion before we resubmit would help.",
    "Do you have a W-9 we can put on file?", "Dr. Patel's office",
])
def test_greetings_signatures_and_cover_notes_are_not_read(line: str) -> None:
    assert clinical_lines(line) == []
    assert split_phrases(line) == []


def test_clinical_lines_survive_with_their_roles() -> None:
    assert clinical_lines("office cysto, diagnostic only") == ["office cysto, diagnostic only"]
    assert clinical_lines("RUQ US") == ["RUQ US"]
    assert role_of("EGD with PEG placement") == "procedure"
    assert role_of("R knee OA") == "diagnosis"
    assert role_of("screening mammo dx") == "diagnosis"
    assert role_of("colles fx R wrist, f/u visit") == "diagnosis"
    assert role_of("gout R great toe") == "either"


def test_a_sentence_splits_into_procedures_and_diagnoses() -> None:
    phrases = split_phrases("EGD w/ bx and APC of gastric AVM, then colonoscopy w/ cold snare x1")
    wholes = [p.text for p in phrases if p.whole and p.role == "procedure"]
    assert len(wholes) == 2 and "colonoscopy" in wholes[1]
    apc = next(p for p in phrases if not p.whole and p.text.startswith("APC"))
    assert apc.family == "egd"  # the scope named first carries to the pieces after it
    dx = split_phrases("colonoscopy for hematochezia, bleeding diverticulum clipped")
    assert dx[0].role == "procedure" and "hematochezia" in dx[0].aside
    assert any(p.role == "diagnosis" and "hematochezia" in p.text for p in dx)
