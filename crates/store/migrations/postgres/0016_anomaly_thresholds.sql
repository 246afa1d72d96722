-- Anomaly thresholds (issue 10): the organization's global threshold (scope_kind 'global',
-- scope_id '') and thresholds of single customers, models, API keys or workspaces, in percent
-- as exact decimal text ("50", "12.5"). Times are Unix milliseconds.
CREATE TABLE anomaly_thresholds (
    org_id        BIGINT NOT NULL REFERENCES organizations(id),
    scope_kind    TEXT   NOT NULL CHECK (scope_kind IN ('global', 'customer', 'model', 'key', 'workspace')),
    scope_id      TEXT   NOT NULL,
    threshold_pct TEXT   NOT NULL,
    updated_at    BIGINT NOT NULL,
    updated_by    TEXT   NOT NULL,
    PRIMARY KEY (org_id, scope_kind, scope_id)
);
