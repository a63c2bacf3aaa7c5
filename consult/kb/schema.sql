-- The knowledge base: a read-only SQLite file built by `consult kb build`.
-- Dates are ISO strings; '' means "none" (no effective date known / not deleted).
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sources (
    name TEXT PRIMARY KEY, version TEXT NOT NULL, effective TEXT NOT NULL DEFAULT '',
    file TEXT NOT NULL DEFAULT '', rows INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE codes (
    code TEXT NOT NULL, system TEXT NOT NULL, description TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'active', billable INTEGER NOT NULL DEFAULT 1,
    effective_date TEXT NOT NULL DEFAULT '', end_date TEXT NOT NULL DEFAULT '',
    replaced_by TEXT NOT NULL DEFAULT '', source TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (code, system)
) WITHOUT ROWID;
CREATE TABLE ptp (
    column1 TEXT NOT NULL, column2 TEXT NOT NULL, setting TEXT NOT NULL,
    effective_date TEXT NOT NULL DEFAULT '', deletion_date TEXT NOT NULL DEFAULT '',
    modifier_indicator TEXT NOT NULL, rationale_id INTEGER NOT NULL,
    PRIMARY KEY (column1, column2, setting, effective_date)
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
CREATE TABLE pfs (
    code TEXT NOT NULL, modifier TEXT NOT NULL DEFAULT '', status TEXT NOT NULL,
    global_days TEXT NOT NULL, mult_proc TEXT NOT NULL, pctc TEXT NOT NULL DEFAULT '',
    bilat TEXT NOT NULL DEFAULT '', endo_base TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (code, modifier)
) WITHOUT ROWID;
CREATE TABLE modifiers (
    code TEXT PRIMARY KEY, description TEXT NOT NULL, usage TEXT NOT NULL DEFAULT '',
    applies_to TEXT NOT NULL DEFAULT 'any'
);
CREATE TABLE icd_notes (
    code TEXT NOT NULL, kind TEXT NOT NULL, text TEXT NOT NULL, refs TEXT NOT NULL DEFAULT ''
);
CREATE TABLE guidelines (family TEXT NOT NULL, codes TEXT NOT NULL, note TEXT NOT NULL);
CREATE VIRTUAL TABLE suggest_fts USING fts5(code UNINDEXED, system UNINDEXED, text);
