-- Budget caps (issue 10): a scope (provider, workspace, API key, customer, model; all NULL:
-- the organization), a UTC period (DAILY, WEEKLY from Monday, MONTHLY), a limit in
-- nano-dollars, a soft percentage, provenance (platform: set by an admin; tenant: set for a
-- customer, at or below the platform cap governing it) and what an unpriced call gets. Every
-- edit bumps version and keeps the definition it replaced in budget_cap_versions (with who
-- and when, and 'deleted' for a removal), audited in the same transaction. Instants are Unix
-- milliseconds.
CREATE TABLE budget_caps (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id       BIGINT  NOT NULL REFERENCES organizations(id),
    name         TEXT    NOT NULL,
    provider     TEXT,
    workspace    TEXT,
    api_key      TEXT,
    customer     TEXT,
    model        TEXT,
    period       TEXT    NOT NULL CHECK (period IN ('DAILY', 'WEEKLY', 'MONTHLY')),
    limit_nanos  BIGINT  NOT NULL CHECK (limit_nanos > 0),
    soft_pct     BIGINT  NOT NULL CHECK (soft_pct BETWEEN 1 AND 100),
    enabled      BOOLEAN NOT NULL DEFAULT TRUE,
    provenance   TEXT    NOT NULL CHECK (provenance IN ('platform', 'tenant')),
    unpriced     TEXT    NOT NULL CHECK (unpriced IN ('fail_open', 'fail_closed')),
    version      BIGINT  NOT NULL DEFAULT 1,
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL,
    updated_by   TEXT    NOT NULL
);
CREATE UNIQUE INDEX budget_caps_name ON budget_caps (org_id, name);

-- Each version of each cap, the current one included; kept after the cap is deleted.
CREATE TABLE budget_cap_versions (
    cap_id       BIGINT  NOT NULL,
    version      BIGINT  NOT NULL,
    org_id       BIGINT  NOT NULL REFERENCES organizations(id),
    change       TEXT    NOT NULL CHECK (change IN ('created', 'edited', 'deleted')),
    name         TEXT    NOT NULL,
    provider     TEXT,
    workspace    TEXT,
    api_key      TEXT,
    customer     TEXT,
    model        TEXT,
    period       TEXT    NOT NULL,
    limit_nanos  BIGINT  NOT NULL,
    soft_pct     BIGINT  NOT NULL,
    enabled      BOOLEAN NOT NULL,
    provenance   TEXT    NOT NULL,
    unpriced     TEXT    NOT NULL,
    changed_at   BIGINT  NOT NULL,
    changed_by   TEXT    NOT NULL,
    PRIMARY KEY (cap_id, version)
);
CREATE INDEX budget_cap_versions_org ON budget_cap_versions (org_id, cap_id);
