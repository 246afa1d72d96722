-- Each organization's billed-rollup revision: bumped in the same transaction as every write of
-- its cost rollups (a sync's window, a deleted connection, a rebuild), so a server can keep
-- what it read of the bill in memory and read it again only when this number moves. Metered
-- rollups (ingest) do not move it.
CREATE TABLE rollup_revisions (
    org_id    BIGINT NOT NULL PRIMARY KEY REFERENCES organizations(id),
    revision  BIGINT NOT NULL
);
