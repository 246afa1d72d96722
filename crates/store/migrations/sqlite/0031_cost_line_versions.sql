-- The bill as it stood before a provider restated a closed billing period (FOCUS ChargeClass
-- `Correction`). When a sync replaces the lines of a day whose calendar month ended before the
-- sync's UTC day, and the money of that day's lines changes, the day's lines as they were are
-- copied here first, stamped with the sync's day (`superseded_on`) — once per day and month of
-- the sync, so each month keeps the state its first restatement found. The first version of a
-- day is what was invoiced; each later version, or the current lines, minus the one before is
-- the correction billed in the month it was seen. Same columns as `cost_lines`.
CREATE TABLE cost_line_versions (
    org_id                BIGINT  NOT NULL,
    connection_id         BIGINT  NOT NULL,
    day                   BIGINT  NOT NULL,
    superseded_on         BIGINT  NOT NULL,
    workspace_ref         BIGINT,
    api_key_ref           BIGINT,
    model                 TEXT    NOT NULL,
    category              TEXT    NOT NULL,
    unit                  TEXT    NOT NULL,
    detail                TEXT    NOT NULL,
    input_tokens          BIGINT  NOT NULL,
    output_tokens         BIGINT  NOT NULL,
    cache_read_tokens     BIGINT  NOT NULL,
    cache_write_tokens    BIGINT  NOT NULL,
    requests              BIGINT,
    quantity_micros       BIGINT  NOT NULL,
    cost_nanos            BIGINT  NOT NULL,
    credits_nanos         BIGINT  NOT NULL,
    currency              TEXT    NOT NULL,
    estimated             BOOLEAN NOT NULL,
    allocated             BOOLEAN NOT NULL,
    billing_currency      TEXT,
    billing_cost_nanos    BIGINT,
    billing_credits_nanos BIGINT,
    unpriced              BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX cost_line_versions_day ON cost_line_versions (connection_id, day, superseded_on);
CREATE INDEX cost_line_versions_seen ON cost_line_versions (org_id, superseded_on);
