"""Property tests: any text is safe to extract from; normalisation is idempotent."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from consult.extract import extract
from consult.extract.normalize import normalize_code, normalize_icd10cm
from consult.mail.message import ParsedMail

_CODEISH = st.text(alphabet="0123456789ABCDEFGHJKLMNPQRSTUVWXYZabcxyz.-", min_size=1, max_size=9)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400), st.text(max_size=60))
def test_any_text_gives_no_exception(body: str, subject: str) -> None:
    ext = extract(ParsedMail(None, subject, "a@b.example", text=body, quoted=body[::-1]))
    for c in ext.codes:
        src = {"subject": subject, "body": body, "quoted": body[::-1]}[c.where]
        assert 0 <= c.start < c.end <= len(src)
    for p in ext.phi:
        assert 0 <= p.start <= p.end


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(
    ["43214", "-59", " x 3", " K222", " dx", " CPT", ", ", " and ", "99202-99205", " J1100",
     " OH 43214", " $", "(614) 555-0199", " mod ", "RT", " units of ", "\n", "S52521a"]),
    max_size=25))
def test_codey_text_gives_no_exception(parts: list[str]) -> None:
    extract(ParsedMail(None, "s", "a@b.example", text="".join(parts)))


@given(_CODEISH)
def test_icd_normalisation_is_idempotent(raw: str) -> None:
    once = normalize_icd10cm(raw)
    if once is not None:
        assert normalize_icd10cm(once) == once


@given(_CODEISH, st.sampled_from(["CPT", "HCPCS", "ICD10CM", "ICD10PCS"]))
def test_code_normalisation_is_idempotent(raw: str, system: str) -> None:
    once = normalize_code(raw, system)
    assert normalize_code(once, system) == once
