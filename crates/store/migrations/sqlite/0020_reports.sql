-- Stored reports (issue 11): chargeback and compliance documents, each kept as generated — the
-- PDF, the CSV (chargeback) and the JSON — with the SHA-256 of each and of the whole. A row is
-- written while it builds; once it is ready (or failed) the trigger below refuses any UPDATE,
-- so a generated document never changes. Deleting removes it (audited by the caller).
CREATE TABLE report_documents (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id          BIGINT  NOT NULL,
    kind            TEXT    NOT NULL,
    scope           TEXT    NOT NULL,
    period_from     BIGINT  NOT NULL,
    period_to       BIGINT  NOT NULL,
    status          TEXT    NOT NULL,
    requested_by    TEXT    NOT NULL,
    requested_at    BIGINT  NOT NULL,
    generated_at    BIGINT,
    error           TEXT,
    pdf             BLOB,
    csv             BLOB,
    json            BLOB,
    pdf_sha256      TEXT,
    csv_sha256      TEXT,
    json_sha256     TEXT,
    content_sha256  TEXT,
    schedule_id     BIGINT
);
CREATE INDEX report_documents_org ON report_documents (org_id, id);
-- One build at a time of the same report: a second identical request joins the first.
CREATE UNIQUE INDEX report_documents_one_build
    ON report_documents (org_id, kind, scope, period_from, period_to)
    WHERE status = 'building';

CREATE TRIGGER report_documents_immutable BEFORE UPDATE ON report_documents
WHEN OLD.status <> 'building'
BEGIN
    SELECT RAISE(ABORT, 'a generated report is immutable');
END;

-- Reports generated every month for the month before, if asked.
CREATE TABLE report_schedules (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id          BIGINT  NOT NULL,
    kind            TEXT    NOT NULL,
    scope           TEXT    NOT NULL,
    cadence         TEXT    NOT NULL,
    created_by      TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    last_period_to  BIGINT,
    UNIQUE (org_id, kind, scope, cadence)
);
