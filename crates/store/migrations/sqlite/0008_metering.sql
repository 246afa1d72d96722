-- Metering (issue 8): ingest keys (write-only credentials for applications), the idempotency
-- ledger of event ids, and the metered events themselves. Totals for dashboards come from the
-- rollup engine (kinds `meter_hour` and `meter_day`), never from these rows.

-- An ingest key is known by the SHA-256 of its secret; the secret is shown once and never
-- stored. Regenerating replaces the hash in place (the old secret stops at once) and keeps the
-- previous hash only to tell its sender what happened.
CREATE TABLE ingest_keys (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id          BIGINT  NOT NULL REFERENCES organizations(id),
    name            TEXT    NOT NULL,
    key_hash        TEXT    NOT NULL UNIQUE,
    previous_hash   TEXT,
    hint            TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    regenerated_at  BIGINT,
    last_used_at    BIGINT,
    revoked_at      BIGINT
);
CREATE INDEX ingest_keys_org ON ingest_keys (org_id, id);
CREATE INDEX ingest_keys_previous ON ingest_keys (previous_hash);

-- Every event id ever accepted, per organization: the idempotency ledger. Its primary key is
-- what makes a retried event count once across batches, restarts and server instances. It is
-- kept when raw events are pruned, so a late retry still counts nothing twice.
CREATE TABLE meter_event_ids (
    org_id          BIGINT  NOT NULL,
    event_id        TEXT    NOT NULL,
    day             INTEGER NOT NULL,
    payload_hash    TEXT    NOT NULL,
    PRIMARY KEY (org_id, event_id)
);

-- One row per metered call. Money in nano-dollars (BIGINT); NULL is unknown, never zero:
-- `cost_nanos` is NULL exactly when the event is unpriced. `day` is the event's UTC day
-- (days since 1970-01-01).
CREATE TABLE meter_events (
    org_id              BIGINT  NOT NULL,
    event_id            TEXT    NOT NULL,
    day                 INTEGER NOT NULL,
    time_ms             BIGINT  NOT NULL,
    received_ms         BIGINT  NOT NULL,
    ingest_key_id       BIGINT,
    source              TEXT    NOT NULL,
    provider            TEXT    NOT NULL,
    model               TEXT    NOT NULL,
    input_tokens        BIGINT,
    cache_read_tokens   BIGINT,
    cache_write_tokens  BIGINT,
    output_tokens       BIGINT,
    reasoning_tokens    BIGINT,
    token_flags         TEXT,
    quantity_micros     BIGINT,
    unit                TEXT,
    reported_cost_nanos BIGINT,
    catalog_cost_nanos  BIGINT,
    cost_nanos          BIGINT,
    cost_source         TEXT    NOT NULL,
    price_entry         TEXT,
    unpriced_reason     TEXT,
    latency_ms          BIGINT,
    status              TEXT    NOT NULL,
    api_key             TEXT,
    workspace           TEXT,
    customer            TEXT,
    subscriber          TEXT,
    product             TEXT,
    agent               TEXT,
    workflow            TEXT,
    trace_id            TEXT,
    span_id             TEXT,
    tags                TEXT
);
CREATE INDEX meter_events_org_time ON meter_events (org_id, time_ms);
