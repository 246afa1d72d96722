-- The per-organization price catalog: what a model costs per 1M tokens of each token class and
-- per non-token unit, under which conditions, from when to when, and where the price came from.
-- Prices are exact decimals written as text ("2.5", "0.0375"), never floats; unit prices are a
-- JSON object of decimal strings by unit name ({"images": "0.04"}). Days are days since
-- 1970-01-01, instants Unix milliseconds. Built-in rows appear only after `prices import`;
-- until then an organization's built-in prices are the list compiled into the binary.
CREATE TABLE price_entries (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id               BIGINT  NOT NULL REFERENCES organizations(id),
    provider             TEXT    NOT NULL,
    model_glob           TEXT    NOT NULL,
    input_per_m          TEXT,
    cache_read_per_m     TEXT,
    cache_write_5m_per_m TEXT,
    cache_write_1h_per_m TEXT,
    output_per_m         TEXT,
    reasoning_per_m      TEXT,
    unit_prices          TEXT    NOT NULL DEFAULT '{}',
    context_above        BIGINT,
    batch                BOOLEAN NOT NULL DEFAULT FALSE,
    service_tier         TEXT,
    effective_from       BIGINT  NOT NULL,
    effective_to         BIGINT,
    currency             TEXT    NOT NULL,
    provenance           TEXT    NOT NULL CHECK (provenance IN ('built_in', 'observed', 'user')),
    note                 TEXT    NOT NULL,
    created_at           BIGINT  NOT NULL,
    updated_at           BIGINT  NOT NULL
);
-- One entry per identity: two rows of the same provenance for the same model, start day and
-- conditions would make the choice between them arbitrary.
CREATE UNIQUE INDEX price_entries_identity ON price_entries (
    org_id, provenance, provider, model_glob, effective_from,
    COALESCE(context_above, 0), batch, COALESCE(service_tier, '')
);
-- Bumped in the same transaction as every change to an organization's prices, so a server can
-- keep its catalog in memory and rebuild it only when this number moves (one key lookup).
CREATE TABLE price_revisions (
    org_id    BIGINT NOT NULL PRIMARY KEY REFERENCES organizations(id),
    revision  BIGINT NOT NULL
);
