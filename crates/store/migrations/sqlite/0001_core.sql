-- spendlens core schema (SQLite). Integers everywhere the two dialects must agree:
-- money in nano-units (1e-9), quantities in micro-units, days as days since 1970-01-01,
-- instants as Unix milliseconds.

CREATE TABLE organizations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);

CREATE TABLE connections (
    id                      INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id                  BIGINT  NOT NULL REFERENCES organizations(id),
    provider                TEXT    NOT NULL,
    name                    TEXT    NOT NULL,
    credential              BLOB,
    credential_hint         TEXT,
    base_url                TEXT,
    status                  TEXT    NOT NULL DEFAULT 'pending',
    status_message          TEXT,
    notes                   TEXT,
    created_at              BIGINT  NOT NULL,
    last_sync_at            BIGINT,
    last_success_at         BIGINT,
    synced_through          BIGINT,
    next_sync_at            BIGINT,
    sync_interval_secs      BIGINT  NOT NULL DEFAULT 3600,
    backfill_days           BIGINT  NOT NULL DEFAULT 90,
    lookback_days           BIGINT  NOT NULL DEFAULT 3,
    auth_failures           BIGINT  NOT NULL DEFAULT 0,
    lease_owner             TEXT,
    lease_until             BIGINT,
    UNIQUE (org_id, name)
);

CREATE TABLE workspaces (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id              BIGINT  NOT NULL REFERENCES organizations(id),
    connection_id       BIGINT  NOT NULL REFERENCES connections(id),
    provider_id         TEXT    NOT NULL,
    provider_name       TEXT    NOT NULL,
    display_name        TEXT    NOT NULL,
    display_name_custom BOOLEAN NOT NULL DEFAULT FALSE,
    archived            BOOLEAN NOT NULL DEFAULT FALSE,
    created_at          BIGINT,
    first_seen_at       BIGINT  NOT NULL,
    last_seen_at        BIGINT  NOT NULL,
    UNIQUE (connection_id, provider_id)
);
CREATE INDEX workspaces_org ON workspaces (org_id);

CREATE TABLE workspace_names (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id        BIGINT  NOT NULL,
    workspace_id  BIGINT  NOT NULL REFERENCES workspaces(id),
    old_name      TEXT    NOT NULL,
    new_name      TEXT    NOT NULL,
    changed_at    BIGINT  NOT NULL,
    changed_by    TEXT    NOT NULL
);
CREATE INDEX workspace_names_workspace ON workspace_names (workspace_id);

CREATE TABLE api_keys (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id          BIGINT  NOT NULL REFERENCES organizations(id),
    connection_id   BIGINT  NOT NULL REFERENCES connections(id),
    provider_id     TEXT    NOT NULL,
    workspace_ref   BIGINT  REFERENCES workspaces(id),
    name            TEXT,
    hint            TEXT,
    status          TEXT    NOT NULL,
    created_at      BIGINT,
    last_used_at    BIGINT,
    first_seen_at   BIGINT  NOT NULL,
    last_seen_at    BIGINT  NOT NULL,
    UNIQUE (connection_id, provider_id)
);
CREATE INDEX api_keys_org ON api_keys (org_id);

CREATE TABLE cost_lines (
    org_id              BIGINT  NOT NULL,
    connection_id       BIGINT  NOT NULL,
    day                 BIGINT  NOT NULL,
    workspace_ref       BIGINT,
    api_key_ref         BIGINT,
    model               TEXT    NOT NULL,
    category            TEXT    NOT NULL,
    unit                TEXT    NOT NULL,
    detail              TEXT    NOT NULL,
    input_tokens        BIGINT  NOT NULL,
    output_tokens       BIGINT  NOT NULL,
    cache_read_tokens   BIGINT  NOT NULL,
    cache_write_tokens  BIGINT  NOT NULL,
    requests            BIGINT,
    quantity_micros     BIGINT  NOT NULL,
    cost_nanos          BIGINT  NOT NULL,
    credits_nanos       BIGINT  NOT NULL,
    currency            TEXT    NOT NULL,
    estimated           BOOLEAN NOT NULL,
    allocated           BOOLEAN NOT NULL
);
CREATE INDEX cost_lines_window ON cost_lines (connection_id, day);
CREATE INDEX cost_lines_key ON cost_lines (api_key_ref, day);
-- Image lines only (few): the Images panel reads them without a scan, writes barely pay.
CREATE INDEX cost_lines_images ON cost_lines (org_id, day) WHERE category = 'image';

-- Rollups per view dimension in dyadic day blocks: level 0 holds single days, level k holds
-- blocks of 2^k days starting at a multiple of 2^k (day numbers). Any period is the union of a
-- few blocks (about 2 log2 of its length), so a view reads a handful of rows per group instead of
-- one per day. All levels are rewritten with the window they summarize, in its transaction.
CREATE TABLE rollup_workspace (
    org_id BIGINT NOT NULL, connection_id BIGINT NOT NULL, level BIGINT NOT NULL, block_start BIGINT NOT NULL,
    workspace_ref BIGINT,
    cost_nanos BIGINT NOT NULL, credits_nanos BIGINT NOT NULL,
    input_tokens BIGINT NOT NULL, output_tokens BIGINT NOT NULL,
    cache_read_tokens BIGINT NOT NULL, cache_write_tokens BIGINT NOT NULL,
    requests BIGINT NOT NULL, requests_unknown BIGINT NOT NULL,
    quantity_micros BIGINT NOT NULL, lines BIGINT NOT NULL, allocated_lines BIGINT NOT NULL
);
CREATE INDEX rollup_workspace_read ON rollup_workspace (org_id, level, block_start);
CREATE INDEX rollup_workspace_window ON rollup_workspace (connection_id, level, block_start);

CREATE TABLE rollup_key (
    org_id BIGINT NOT NULL, connection_id BIGINT NOT NULL, level BIGINT NOT NULL, block_start BIGINT NOT NULL,
    workspace_ref BIGINT, api_key_ref BIGINT,
    cost_nanos BIGINT NOT NULL, credits_nanos BIGINT NOT NULL,
    input_tokens BIGINT NOT NULL, output_tokens BIGINT NOT NULL,
    cache_read_tokens BIGINT NOT NULL, cache_write_tokens BIGINT NOT NULL,
    requests BIGINT NOT NULL, requests_unknown BIGINT NOT NULL,
    quantity_micros BIGINT NOT NULL, lines BIGINT NOT NULL, allocated_lines BIGINT NOT NULL
);
CREATE INDEX rollup_key_read ON rollup_key (org_id, level, block_start);
CREATE INDEX rollup_key_window ON rollup_key (connection_id, level, block_start);

CREATE TABLE rollup_model (
    org_id BIGINT NOT NULL, connection_id BIGINT NOT NULL, level BIGINT NOT NULL, block_start BIGINT NOT NULL,
    model TEXT NOT NULL, category TEXT NOT NULL, unit TEXT NOT NULL,
    cost_nanos BIGINT NOT NULL, credits_nanos BIGINT NOT NULL,
    input_tokens BIGINT NOT NULL, output_tokens BIGINT NOT NULL,
    cache_read_tokens BIGINT NOT NULL, cache_write_tokens BIGINT NOT NULL,
    requests BIGINT NOT NULL, requests_unknown BIGINT NOT NULL,
    quantity_micros BIGINT NOT NULL, lines BIGINT NOT NULL, allocated_lines BIGINT NOT NULL
);
CREATE INDEX rollup_model_read ON rollup_model (org_id, level, block_start);
CREATE INDEX rollup_model_window ON rollup_model (connection_id, level, block_start);

CREATE TABLE rollup_workspace_model (
    org_id BIGINT NOT NULL, connection_id BIGINT NOT NULL, level BIGINT NOT NULL, block_start BIGINT NOT NULL,
    workspace_ref BIGINT, model TEXT NOT NULL, category TEXT NOT NULL, unit TEXT NOT NULL,
    cost_nanos BIGINT NOT NULL, credits_nanos BIGINT NOT NULL,
    input_tokens BIGINT NOT NULL, output_tokens BIGINT NOT NULL,
    cache_read_tokens BIGINT NOT NULL, cache_write_tokens BIGINT NOT NULL,
    requests BIGINT NOT NULL, requests_unknown BIGINT NOT NULL,
    quantity_micros BIGINT NOT NULL, lines BIGINT NOT NULL, allocated_lines BIGINT NOT NULL
);
CREATE INDEX rollup_workspace_model_read ON rollup_workspace_model (org_id, level, block_start);
CREATE INDEX rollup_workspace_model_window ON rollup_workspace_model (connection_id, level, block_start);

CREATE TABLE sync_runs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id          BIGINT  NOT NULL,
    connection_id   BIGINT  NOT NULL REFERENCES connections(id),
    trigger_kind    TEXT    NOT NULL,
    window_from     BIGINT  NOT NULL,
    window_to       BIGINT  NOT NULL,
    started_at      BIGINT  NOT NULL,
    finished_at     BIGINT,
    status          TEXT    NOT NULL,
    workspaces      BIGINT  NOT NULL DEFAULT 0,
    api_keys        BIGINT  NOT NULL DEFAULT 0,
    lines           BIGINT  NOT NULL DEFAULT 0,
    http_calls      BIGINT  NOT NULL DEFAULT 0,
    retries         BIGINT  NOT NULL DEFAULT 0,
    error           TEXT,
    notes           TEXT
);
CREATE INDEX sync_runs_org ON sync_runs (org_id, started_at);
CREATE INDEX sync_runs_connection ON sync_runs (connection_id, started_at);

CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id        BIGINT  NOT NULL REFERENCES organizations(id),
    name          TEXT    NOT NULL,
    token_hash    TEXT    NOT NULL UNIQUE,
    prefix        TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    last_used_at  BIGINT,
    revoked_at    BIGINT
);
