-- The knowledge base: a read-only SQLite file built by `consult kb build`.
-- Text dates are ISO strings, '' meaning none; PTP dates are integers YYYYMMDD, 0 meaning none
-- (the PTP table has millions of rows: integers keep the file and its index small).
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sources (
    name TEXT PRIMARY KEY, version TEXT NOT NULL, effective TEXT NOT NULL DEFAULT '',
    file TEXT NOT NULL DEFAULT '', rows INTEGER NOT NULL DEFAULT 0
);
-- description: the best text the KB may use (licensed CPT file, HCPCS file, ICD-10-CM, or the
-- project's lay wording); lay: the project's own plain-language wording.
CREATE TABLE codes (
    code TEXT NOT NULL, system TEXT NOT NULL, description TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'active', billable INTEGER NOT NULL DEFAULT 1,
    effective_date TEXT NOT NULL DEFAULT '', end_date TEXT NOT NULL DEFAULT '',
    replaced_by TEXT NOT NULL DEFAULT '', source TEXT NOT NULL DEFAULT '',
    lay TEXT NOT NULL DEFAULT '', action TEXT NOT NULL DEFAULT '',
    action_date TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (code, system)
) WITHOUT ROWID;
-- The billing unit a HCPCS drug descriptor states ("per 250 mg"), read at build time
-- (consult.kb.doses); amount is decimal text.
CREATE TABLE drug_doses (
    code TEXT PRIMARY KEY, kind TEXT NOT NULL, amount TEXT NOT NULL, unit TEXT NOT NULL,
    dimension TEXT NOT NULL, text TEXT NOT NULL
) WITHOUT ROWID;
-- One row per PTP edit table: Medicare practitioner, outpatient hospital, or a payer's own.
CREATE TABLE ptp_tables (id INTEGER PRIMARY KEY, setting TEXT NOT NULL UNIQUE, source TEXT NOT NULL);
CREATE TABLE ptp (
    column1 TEXT NOT NULL, column2 TEXT NOT NULL, tbl INTEGER NOT NULL,
    effective INTEGER NOT NULL DEFAULT 0, deletion INTEGER NOT NULL DEFAULT 0,
    modifier INTEGER NOT NULL, rationale_id INTEGER NOT NULL,
    PRIMARY KEY (column1, column2, tbl, effective, deletion, rationale_id)
) WITHOUT ROWID;
CREATE TABLE ptp_rationale (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE);
CREATE TABLE mue (
    code TEXT NOT NULL, setting TEXT NOT NULL, value INTEGER NOT NULL,
    adjudication TEXT NOT NULL, rationale TEXT NOT NULL,
    PRIMARY KEY (code, setting)
) WITHOUT ROWID;
CREATE TABLE addon (
    addon TEXT NOT NULL, primary_code TEXT NOT NULL, edit_type TEXT NOT NULL,
    effective_date TEXT NOT NULL DEFAULT '', deletion_date TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (addon, primary_code, effective_date)
) WITHOUT ROWID;
CREATE INDEX addon_primary ON addon(primary_code);
-- Medicare PFS relative value file: one row per code and modifier ('' global, 26, TC, 53).
-- RVUs are NULL where the KB holds only the indicators.
CREATE TABLE pfs (
    code TEXT NOT NULL, modifier TEXT NOT NULL DEFAULT '', status TEXT NOT NULL,
    global_days TEXT NOT NULL, mult_proc TEXT NOT NULL, pctc TEXT NOT NULL DEFAULT '',
    bilat TEXT NOT NULL DEFAULT '', endo_base TEXT NOT NULL DEFAULT '',
    assistant TEXT NOT NULL DEFAULT '', co_surgeons TEXT NOT NULL DEFAULT '',
    team TEXT NOT NULL DEFAULT '', not_used INTEGER NOT NULL DEFAULT 0,
    work_rvu REAL, nf_pe_rvu REAL, nf_na INTEGER NOT NULL DEFAULT 0, f_pe_rvu REAL,
    f_na INTEGER NOT NULL DEFAULT 0, mp_rvu REAL, nf_total REAL, f_total REAL,
    pre_op REAL, intra_op REAL, post_op REAL, conv_factor REAL,
    supervision TEXT NOT NULL DEFAULT '', imaging_family TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (code, modifier)
) WITHOUT ROWID;
CREATE INDEX pfs_endo_base ON pfs(endo_base) WHERE endo_base != '';
CREATE TABLE modifiers (
    code TEXT PRIMARY KEY, description TEXT NOT NULL, usage TEXT NOT NULL DEFAULT '',
    applies_to TEXT NOT NULL DEFAULT 'any'
);
-- ICD-10-CM hierarchy: every code, block ("K20-K31") and chapter ("11") with its ancestors,
-- nearest first, so inherited notes are one indexed query away. Description: blocks and chapters.
CREATE TABLE icd_tree (
    code TEXT PRIMARY KEY, description TEXT NOT NULL, ancestors TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE TABLE icd_notes (
    code TEXT NOT NULL, kind TEXT NOT NULL, text TEXT NOT NULL, refs TEXT NOT NULL DEFAULT ''
);
CREATE INDEX icd_notes_code ON icd_notes(code);
-- Reverse index of the notes' code references by the referenced category (K21 for "K21.0-"),
-- for combination-code hints: which notes point into a code's category.
CREATE TABLE icd_note_refs (
    category TEXT NOT NULL, code TEXT NOT NULL, kind TEXT NOT NULL, ref TEXT NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX icd_note_refs_category ON icd_note_refs(category);
CREATE TABLE guidelines (
    id INTEGER PRIMARY KEY, family TEXT NOT NULL, codes TEXT NOT NULL, note TEXT NOT NULL
);
CREATE TABLE guideline_codes (
    code TEXT NOT NULL, gid INTEGER NOT NULL, PRIMARY KEY (code, gid)
) WITHOUT ROWID;
CREATE VIRTUAL TABLE suggest_fts USING fts5(
    code UNINDEXED, system UNINDEXED, description, terms,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
-- Medicare Coverage Database: LCDs and billing articles (every version the sources hold:
-- a document may have a current and a future version), with their code lists when loaded.
CREATE TABLE mcd_documents (
    doc_id TEXT NOT NULL, version TEXT NOT NULL, kind TEXT NOT NULL, number TEXT NOT NULL,
    title TEXT NOT NULL, contractors TEXT NOT NULL DEFAULT '', effective TEXT NOT NULL DEFAULT '',
    retired TEXT NOT NULL DEFAULT '', updated TEXT NOT NULL DEFAULT '',
    url TEXT NOT NULL DEFAULT '', note TEXT NOT NULL DEFAULT '',
    states TEXT NOT NULL DEFAULT '', states_exact INTEGER NOT NULL DEFAULT 0,
    source TEXT NOT NULL,
    PRIMARY KEY (doc_id, version)
) WITHOUT ROWID;
CREATE TABLE mcd_doc_states (
    state TEXT NOT NULL, doc_id TEXT NOT NULL, version TEXT NOT NULL,
    PRIMARY KEY (state, doc_id, version)
) WITHOUT ROWID;
CREATE TABLE mcd_codes (
    code TEXT NOT NULL, doc_id TEXT NOT NULL, version TEXT NOT NULL, grp TEXT NOT NULL,
    PRIMARY KEY (code, doc_id, version, grp)
) WITHOUT ROWID;
CREATE TABLE mcd_icd (
    doc_id TEXT NOT NULL, version TEXT NOT NULL, code TEXT NOT NULL, covered INTEGER NOT NULL,
    grp TEXT NOT NULL,
    PRIMARY KEY (doc_id, version, code, covered, grp)
) WITHOUT ROWID;
CREATE TABLE mcd_related (
    article TEXT NOT NULL, lcd TEXT NOT NULL, PRIMARY KEY (article, lcd)
) WITHOUT ROWID;
CREATE INDEX mcd_related_lcd ON mcd_related(lcd);
CREATE VIRTUAL TABLE mcd_fts USING fts5(
    doc_id UNINDEXED, version UNINDEXED, title, contractors,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
-- MAC jurisdictions (project data): which contractor serves which states, per kind
-- (AB = Part A/B, DME, HHH = home health and hospice).
CREATE TABLE mac_jurisdictions (
    jurisdiction TEXT PRIMARY KEY, contractor TEXT NOT NULL, kind TEXT NOT NULL,
    states TEXT NOT NULL
);
