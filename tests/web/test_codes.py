"""The Codes page, the page per code and their JSON API, on the starter KB."""

from __future__ import annotations

import re

from support.mails import consultation

from web.conftest import WebApp


def test_codes_search_by_words_and_by_code(web: WebApp) -> None:
    client = web.client()
    web.login(client, "rita@consult.test")
    page = client.get("/codes", params={"q": "EGD with PEG tube placement"}).text
    rows = re.findall(r'<a href="/codes/([^"]+)"><code>', page)
    assert rows[0] == "43246"
    assert "to confirm against the record" in page
    page = client.get("/codes", params={"q": "43214"}).text
    assert re.findall(r'<a href="/codes/([^"]+)"><code>', page) == ["43214"]
    api = client.get("/api/codes", params={"q": "lap appy"}).json()
    assert api["results"][0]["code"] == "44970" and api["abstained"] == ""
    assert set(api["results"][0]) >= {"system", "code", "description", "score"}
    quiet = client.get("/api/codes", params={"q": "a second opinion before we resubmit"}).json()
    assert quiet["results"] == [] and quiet["abstained"]
    assert "No suggestion:" in client.get("/codes", params={"q": "thanks so much!"}).text


def test_code_page_shows_lay_text_ptp_mue_pfs_and_addons(web: WebApp) -> None:
    client = web.client()
    web.login(client, "rita@consult.test")
    page = client.get("/codes/43214").text
    assert "In plain words" in page and "30 mm or larger" in page
    assert "NCCI PTP edits (practitioner)" in page
    col1 = re.findall(r'<table class="grid ptp ptp-as_column1">(.*?)</table>', page, re.S)[0]
    assert "43200" in col1  # the diagnostic scope is bundled into the dilation
    assert "Medically unlikely edits" in page and "Global days" in page
    api = client.get("/api/codes/43214").json()
    assert api["code"] == "43214" and api["global_days"] == "000"
    assert any(f["field"] == "status" for f in api["pfs"])
    assert api["mue"] and api["mue"][0]["value"] >= 1
    edits = api["ptp"]["as_column1"]["edits"]
    assert edits and all(e["column1"] == "43214" and e["modifier_indicator"] in "019"
                         for e in edits)
    filtered = client.get("/api/codes/43214", params={"ptp": "4320"}).json()
    assert all(e["column2"].startswith("4320") for e in filtered["ptp"]["as_column1"]["edits"])
    assert filtered["ptp"]["as_column1"]["shown"] < api["ptp"]["as_column1"]["shown"]
    addon = client.get("/api/codes/11045").json()
    assert addon["addon"]["primaries"] == ["11042"]


def test_deleted_code_icd_notes_and_unknown_code(web: WebApp) -> None:
    client = web.client()
    web.login(client, "rita@consult.test")
    gone = client.get("/api/codes/J1030").json()
    assert gone["status"] == "terminated" and gone["replaced_by"] == ["J1010"]
    assert "report J1010 instead" in client.get("/codes/J1030").text
    icd = client.get("/api/codes/K21.9").json()
    assert icd["system"] == "ICD10CM" and icd["billable"] and "K21" in icd["ancestors"]
    assert icd["icd_notes"] and "ICD-10-CM notes" in client.get("/codes/K21.9").text
    assert client.get("/api/codes/K219").json()["code"] == "K21.9"
    assert client.get("/codes/99999").status_code == 404
    assert client.get("/api/codes/99999").status_code == 404


def test_codes_need_a_login_and_cases_link_their_codes(web: WebApp) -> None:
    client = web.client()
    assert client.get("/codes").status_code == 303
    assert client.get("/api/codes", params={"q": "43214"}).status_code == 401
    case_id = web.ingest(consultation(message_id="k@x", subject="Knee injection",
                                      body="Can we bill 20610 with J1030 x 2?\n\nLee"))
    web.login(client, "rita@consult.test")
    page = client.get(f"/cases/{case_id}").text
    assert 'href="/codes/20610"' in page and 'href="/codes/J1030"' in page
