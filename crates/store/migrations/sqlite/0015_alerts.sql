-- Alerts: rules, the channels they deliver to, each rule's armed/fired state per subject, the
-- history of firings, the notifications waiting or done per channel, each delivery attempt,
-- and the organization's SMTP settings. Thresholds and values are exact decimals as text
-- (USD, percent or a count by rule kind); instants are Unix milliseconds. Secrets (a
-- webhook's signing secret, the SMTP password) are sealed by the vault, never plain.
CREATE TABLE alert_channels (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id      BIGINT  NOT NULL REFERENCES organizations(id),
    name        TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('webhook', 'slack', 'email')),
    target      TEXT    NOT NULL,
    secret      BLOB,
    enabled     BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);
CREATE UNIQUE INDEX alert_channels_name ON alert_channels (org_id, name);

CREATE TABLE alert_rules (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id       BIGINT  NOT NULL REFERENCES organizations(id),
    name         TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    source       TEXT    NOT NULL CHECK (source IN ('metered', 'billed')),
    scope_kind   TEXT    NOT NULL,
    scope_value  TEXT,
    period       TEXT,
    window_hours BIGINT,
    threshold    TEXT    NOT NULL,
    min_calls    BIGINT  NOT NULL DEFAULT 1,
    channels     TEXT    NOT NULL DEFAULT '',
    enabled      BOOLEAN NOT NULL DEFAULT TRUE,
    version      BIGINT  NOT NULL DEFAULT 1,
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL
);
CREATE UNIQUE INDEX alert_rules_name ON alert_rules (org_id, name);

-- One row per rule and subject ('' for the rule as a whole, else a customer, model or
-- connection): fired in which period. A firing is recorded only by the statement that turns
-- `fired` on, so two evaluators cannot both fire the same crossing.
CREATE TABLE alert_rule_state (
    rule_id     BIGINT  NOT NULL REFERENCES alert_rules(id) ON DELETE CASCADE,
    subject     TEXT    NOT NULL,
    period_key  TEXT    NOT NULL,
    fired       BOOLEAN NOT NULL,
    value       TEXT    NOT NULL,
    updated_at  BIGINT  NOT NULL,
    PRIMARY KEY (rule_id, subject)
);

CREATE TABLE alert_firings (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id      BIGINT  NOT NULL REFERENCES organizations(id),
    rule_id     BIGINT  REFERENCES alert_rules(id) ON DELETE SET NULL,
    rule_name   TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    scope       TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    period_key  TEXT    NOT NULL,
    value       TEXT    NOT NULL,
    threshold   TEXT    NOT NULL,
    message     TEXT    NOT NULL,
    fired_at    BIGINT  NOT NULL
);
CREATE INDEX alert_firings_org ON alert_firings (org_id, id);

-- What is to be sent per firing and channel: pending (waiting or between attempts), sending
-- (claimed by a server), delivered or failed (gave up after the last attempt).
CREATE TABLE alert_notifications (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id      BIGINT  NOT NULL REFERENCES organizations(id),
    firing_id   BIGINT  NOT NULL REFERENCES alert_firings(id) ON DELETE CASCADE,
    channel_id  BIGINT  REFERENCES alert_channels(id) ON DELETE SET NULL,
    channel_name TEXT   NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('pending', 'sending', 'delivered', 'failed')),
    attempts    BIGINT  NOT NULL DEFAULT 0,
    claimed_at  BIGINT,
    updated_at  BIGINT  NOT NULL
);
CREATE INDEX alert_notifications_status ON alert_notifications (status, id);

-- The delivery log: one row per attempt.
CREATE TABLE alert_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id          BIGINT  NOT NULL REFERENCES organizations(id),
    notification_id BIGINT  NOT NULL REFERENCES alert_notifications(id) ON DELETE CASCADE,
    attempt         BIGINT  NOT NULL,
    outcome         TEXT    NOT NULL CHECK (outcome IN ('delivered', 'retrying', 'failed')),
    http_status     BIGINT,
    error           TEXT,
    duration_ms     BIGINT  NOT NULL,
    at              BIGINT  NOT NULL
);
CREATE INDEX alert_deliveries_org ON alert_deliveries (org_id, id);

CREATE TABLE alert_smtp (
    org_id        BIGINT  NOT NULL PRIMARY KEY REFERENCES organizations(id),
    host          TEXT    NOT NULL,
    port          BIGINT  NOT NULL,
    security      TEXT    NOT NULL CHECK (security IN ('none', 'starttls', 'tls')),
    username      TEXT,
    password      BLOB,
    from_address  TEXT    NOT NULL,
    updated_at    BIGINT  NOT NULL
);
