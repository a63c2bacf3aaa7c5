"""A small Medicare Coverage Database download, written for the tests.

The layout (file names and columns) follows the CMS MCD data dictionary for
``current_article_csv.zip`` and ``current_lcd_csv.zip``. The content is INVENTED for consult's
tests: document ids A99901/A99902/L99901 and contractor numbers 99901/99902 do not exist,
titles say "TEST", and the code lists are made up to exercise the importer (the real lists are
not available on this machine). Real CPT/HCPCS and ICD-10-CM codes are used only as keys.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

ARTICLE_HEADER = (
    "article_id,article_version,article_type,title,article_pub_date,article_eff_date,"
    "article_end_date,description,other_comments,sad_url,status,last_updated,history_exp,"
    "key_article,icd9_covered_para,icd9_noncovered_para,revenue_para,thirty_percent,"
    "article_rev_end_date,source_article_id,date_retired,keywords,icd10_doc,add_icd10_info,"
    "cms_cov_policy,display_id,reference_article"
)


def _article(ident: str, version: str, title: str, eff: str, updated: str) -> str:
    return (f'{ident},{version},1,"{title}",{eff},{eff},,"<p>Invented test article, with a '
            f'comma.</p>",,,A,{updated},,N,,,,N,,,,test,,,,A{ident},N')


ARTICLE_FILES = {
    "article.csv": "\n".join([
        ARTICLE_HEADER,
        _article("99901", "1", "TEST Billing and Coding: Colorectal Screening (invented)",
                 "2024-01-01 00:00:00", "2024-12-01 00:00:00"),
        _article("99901", "2", "TEST Billing and Coding: Colorectal Screening (invented)",
                 "2025-02-01 00:00:00", "2025-07-15 00:00:00"),
        _article("99902", "1", "TEST Billing and Coding: Vitamin Injections (invented)",
                 "2025-03-01 00:00:00", "2025-03-01 00:00:00"),
    ]),
    "article_x_hcpc_code.csv": "\n".join([
        "article_id,article_version,hcpc_code_id,hcpc_code_version,hcpc_code_group,range,"
        "last_updated,long_description,short_description",
        "99901,1,45378,1,1,N,2024-12-01,invented,invented",
        "99901,2,45378,1,1,N,2025-07-15,invented,invented",
        "99901,2,G0121,1,1,N,2025-07-15,invented,invented",
        "99901,2,45385,1,2,N,2025-07-15,invented,invented",
        "99902,1,J3420,1,1,N,2025-03-01,invented,invented",
    ]),
    "article_x_icd10_covered.csv": "\n".join([
        "article_id,article_version,icd10_code_id,icd10_code_version,icd10_covered_group,"
        "range,last_updated,sort_order,description,asterisk",
        "99901,2,Z12.11,1,1,N,2025-07-15,1,invented,",
        "99901,2,Z80.0,1,2,N,2025-07-15,2,invented,",
        "99901,2,K63.5,1,2,N,2025-07-15,3,invented,",
        "99901,1,Z12.11,1,1,N,2024-12-01,1,invented,",
        "99902,1,D51.0,1,1,N,2025-03-01,1,invented,",
    ]),
    "article_x_icd10_noncovered.csv": "\n".join([
        "article_id,article_version,icd10_code_id,icd10_code_version,icd10_noncovered_group,"
        "range,last_updated,sort_order,description",
        "99901,2,Z00.00,1,1,N,2025-07-15,1,invented",
    ]),
    "article_x_contractor.csv": "\n".join([
        "article_id,article_version,article_type,contractor_id,contractor_type_id,"
        "contractor_version,last_updated",
        "99901,1,1,901,1,1,2024-12-01",
        "99901,2,1,901,1,1,2025-07-15",
        "99902,1,1,902,1,1,2025-03-01",
    ]),
    "article_related_documents.csv": "\n".join([
        "article_id,article_version,related_num,r_article_id,r_article_version,r_lcd_id,"
        "r_lcd_version,r_contractor_id,last_updated",
        "99901,2,1,,,99901,3,901,2025-07-15",
    ]),
}

CONTRACTOR_FILES = {
    "contractor.csv": "\n".join([
        "contractor_id,contractor_type_id,contractor_version,contractor_bus_name,"
        "contractor_number,dmerc_rgn,address1,address2,address3,city,state_id,zipcode,phone,"
        "fax,status,last_updated,url,email,ignore,status_flag,cmd_name,cmd_title,"
        "contractor_subtype_id",
        '901,1,1,"Noridian Healthcare Solutions, LLC",99901,,,,,,,,,,A,2025-01-01,,,,,,,',
        '902,1,1,"First Coast Service Options, Inc.",99902,,,,,,,,,,A,2025-01-01,,,,,,,',
    ]),
    "contractor_type_lookup.csv": "contractor_type_id,description\n1,A and B MAC\n2,DME MAC",
    "contractor_jurisdiction.csv": "\n".join([
        "contractor_id,contractor_type_id,contractor_version,state_id,last_updated,active_date,"
        "term_date",
        "901,1,1,5,2025-01-01,2013-09-16,",
        "901,1,1,12,2025-01-01,2013-09-16,",
        "901,1,1,33,2025-01-01,2013-09-16,2019-01-01",
        "902,1,1,10,2025-01-01,2009-01-01,",
    ]),
    "state_lookup.csv": "state_id,state_abbrev,description\n5,CA,California\n10,FL,Florida\n"
                        "12,HI,Hawaii\n33,NV,Nevada",
}

LCD_FILES = {
    "lcd.csv": "\n".join([
        "lcd_id,lcd_version,title,determination_number,orig_det_eff_date,ent_det_end_date,"
        "rev_eff_date,rev_end_date,status,last_updated,display_id",
        '99901,3,"TEST Colorectal Cancer Screening (invented)",,2019-01-01,,2025-02-01,,A,'
        "2025-07-20,L99901",
    ]),
    "lcd_x_contractor.csv": "\n".join([
        "lcd_id,lcd_version,contractor_id,contractor_type_id,contractor_version,last_updated",
        "99901,3,901,1,1,2025-07-20",
    ]),
}


def _zip(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in files.items():
            zf.writestr(name, text + "\n")
    return buf.getvalue()


def write_mcd_zips(folder: Path, *, nested: bool = False) -> tuple[Path, Path]:
    """Write current_article_csv.zip and current_lcd_csv.zip into ``folder`` (with
    ``nested``: current_article.zip holding current_article_csv.zip, as CMS serves them)."""
    folder.mkdir(parents=True, exist_ok=True)
    article = _zip({**ARTICLE_FILES, **CONTRACTOR_FILES})
    lcd = _zip({**LCD_FILES, **CONTRACTOR_FILES})
    if nested:
        article = _zip_bytes({"current_article_csv.zip": article})
        lcd = _zip_bytes({"current_lcd_csv.zip": lcd})
        a, b = folder / "current_article.zip", folder / "current_lcd.zip"
    else:
        a, b = folder / "current_article_csv.zip", folder / "current_lcd_csv.zip"
    a.write_bytes(article)
    b.write_bytes(lcd)
    return a, b


def _zip_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()
