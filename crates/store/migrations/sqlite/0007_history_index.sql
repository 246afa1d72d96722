-- Where each connection's history starts is read on every metric view (the earliest window and
-- the first start of a successful or partial sync run). Without these partial indexes that read
-- scans every run of every connection, and hourly syncs add 8,760 runs a year to each.
CREATE INDEX sync_runs_history_window ON sync_runs (connection_id, window_from)
    WHERE status IN ('success', 'partial');
CREATE INDEX sync_runs_history_started ON sync_runs (connection_id, started_at)
    WHERE status IN ('success', 'partial');
