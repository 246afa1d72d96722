-- Services of a provider's bill (issue 12, Vertex): every service the Cloud Billing export
-- holds, as the last sync found it (id, current name, other names its rows carried, Google or
-- a partner and its seller, its gross cost in the billing currency over that sync's window),
-- and the user's choice per service: 'include', 'exclude', or NULL for the default of its kind
-- (Google's AI services and partner models count, other services do not). Choices are kept
-- when a sync updates what it found.
CREATE TABLE connection_services (
    org_id            BIGINT  NOT NULL,
    connection_id     BIGINT  NOT NULL,
    service_id        TEXT    NOT NULL,
    name              TEXT    NOT NULL,
    other_names       TEXT    NOT NULL DEFAULT '',
    kind              TEXT    NOT NULL CHECK (kind IN ('google_ai', 'partner_model', 'other')),
    transaction_type  TEXT,
    seller            TEXT,
    currency          TEXT    NOT NULL,
    cost_nanos        BIGINT  NOT NULL,
    first_day         BIGINT,
    last_day          BIGINT,
    window_from       BIGINT  NOT NULL,
    window_to         BIGINT  NOT NULL,
    seen_at           BIGINT  NOT NULL,
    choice            TEXT    CHECK (choice IN ('include', 'exclude')),
    PRIMARY KEY (connection_id, service_id)
);

-- The bill per usage day and invoice month (Vertex's `invoice.month`): a month's invoice total
-- beside the sum of its UTC days. Each sync replaces its window of usage days, in the same
-- transaction as the cost lines, with the money of the services it kept (USD nano-dollars).
CREATE TABLE invoice_month_days (
    org_id            BIGINT  NOT NULL,
    connection_id     BIGINT  NOT NULL,
    day               BIGINT  NOT NULL,
    invoice_month     BIGINT  NOT NULL,
    cost_nanos        BIGINT  NOT NULL,
    credits_nanos     BIGINT  NOT NULL,
    PRIMARY KEY (connection_id, day, invoice_month)
);

-- After a change of services the next sync re-reads the connection's stored days from here,
-- so every day follows the same choice; cleared by the sync that does.
ALTER TABLE connections ADD COLUMN reread_from BIGINT;
