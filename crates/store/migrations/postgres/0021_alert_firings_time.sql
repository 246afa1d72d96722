-- The header badge counts an organization's firings of the last 24 hours on every page view:
-- without an index on (org_id, fired_at) that count walked every firing the organization has.
CREATE INDEX alert_firings_org_time ON alert_firings (org_id, fired_at);
