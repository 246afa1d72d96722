-- Cost records and token usage (issue 8): the catalog cost of each metered call split by side,
-- and the index the newest-first records list pages on.
--
-- Each priced line of a call is rounded on its own and the call's catalog cost is their sum,
-- so the split is exact: input (uncached input, cache reads and writes) + output (visible and
-- reasoning) + other (non-token units) = catalog_cost_nanos. NULL when the catalog did not
-- price the call, and for events stored before this migration (their split is unknown).
ALTER TABLE meter_events ADD COLUMN catalog_input_cost_nanos BIGINT;
ALTER TABLE meter_events ADD COLUMN catalog_output_cost_nanos BIGINT;

-- Records are listed newest first with a keyset cursor on (time_ms, event_id); this index
-- serves that order (read backwards) and every time-range read the old (org_id, time_ms)
-- index served, so it replaces it.
CREATE INDEX meter_events_org_time_id ON meter_events (org_id, time_ms, event_id);
DROP INDEX meter_events_org_time;
