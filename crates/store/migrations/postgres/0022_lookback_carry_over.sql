-- Look-back set before migration 0019 (issue 12). Until then `spendlens connections add
-- --lookback-days N` stored N in connections.lookback_days (default 3); since 0019 syncs read
-- only lookback_override_days, so an upgraded install silently fell back to the provider's own
-- look-back. Carry every non-default value over, clamped to the 0–62 days a connection may set
-- now (the sync clamps to the same range). Left alone: a connection whose override is set, and
-- one whose look-back was edited since (audited as connection.lookback), including one
-- returned to the provider's own with --provider-lookback.
-- lookback_days stays for older binaries; nothing reads it, and it is no longer written.
UPDATE connections
SET lookback_override_days = GREATEST(0, LEAST(lookback_days, 62))
WHERE lookback_override_days IS NULL
  AND lookback_days <> 3
  AND NOT EXISTS (
      SELECT 1 FROM audit_log
      WHERE audit_log.org_id = connections.org_id
        AND audit_log.action = 'connection.lookback'
        AND audit_log.subject = connections.name
  );
