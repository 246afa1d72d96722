-- What each move of an organization's billed-rollup revision (0029) changed, when it was a
-- window rewritten by a sync: the rollup kind, the connection and the buckets. Written in the
-- same transaction as the move, so a server that kept the bill read at an older revision reads
-- again only those windows; a move with no row here (a deleted connection, cost deltas, a
-- rebuild) or rows pruned away make it read the whole bill again.
CREATE TABLE rollup_changes (
    org_id         BIGINT NOT NULL REFERENCES organizations(id),
    revision       BIGINT NOT NULL,
    kind           TEXT NOT NULL,
    connection_id  BIGINT NOT NULL,
    first_bucket   BIGINT NOT NULL,
    last_bucket    BIGINT NOT NULL,
    PRIMARY KEY (org_id, revision)
);
