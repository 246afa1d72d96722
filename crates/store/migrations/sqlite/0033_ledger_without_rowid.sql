-- The idempotency ledger (`meter_event_ids`) becomes a WITHOUT ROWID table: its primary key
-- (org, event id) is then the table itself, so accepting an event writes one B-tree instead of
-- two (the rowid table and the key's index). Metered ingest spent a fifth of its SQLite
-- transaction here (issue 8). The rows are copied as they are.
CREATE TABLE meter_event_ids_keyed (
    org_id          BIGINT  NOT NULL,
    event_id        TEXT    NOT NULL,
    day             INTEGER NOT NULL,
    payload_hash    TEXT    NOT NULL,
    PRIMARY KEY (org_id, event_id)
) WITHOUT ROWID;
INSERT INTO meter_event_ids_keyed (org_id, event_id, day, payload_hash)
    SELECT org_id, event_id, day, payload_hash FROM meter_event_ids;
DROP TABLE meter_event_ids;
ALTER TABLE meter_event_ids_keyed RENAME TO meter_event_ids;
