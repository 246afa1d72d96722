//! The billed-rollup revision: a number per organization that moves in the same transaction as
//! every write of its cost rollups — a window replacement, cost deltas, a deleted connection's
//! series, a rebuild — so a reader that keeps what it read under the revision it read first
//! (before the data) never serves a bill older than the database's. Metered rollups (ingest,
//! many small writes a second) leave it alone, except a restate of metered costs (rare, asked
//! for by a person), which moves it too: coverage keeps what it computed from metered days under
//! it (see `spendlens_query::coverage::keep`).
//!
//! A move made by a window replacement also logs what it rewrote (`rollup_changes`, migration
//! 0032, same transaction), so such a reader can read again just those windows
//! ([`Store::billed_changes`]); any other move leaves no row, and a reader missing a row reads
//! everything again.

use super::{BucketRange, RollupKind};
use crate::{ConnectionId, OrgId, Store, StoreResult, with_pool};

/// Moves one organization's revision (`$1`) and says where it moved to.
pub(crate) const BUMP_ORG: &str = "INSERT INTO rollup_revisions (org_id, revision) \
    VALUES ($1, 1) ON CONFLICT (org_id) DO UPDATE SET revision = rollup_revisions.revision + 1 \
    RETURNING revision";

/// Logs what the move to revision `$2` of organization `$1` rewrote.
pub(super) const LOG_WINDOW: &str = "INSERT INTO rollup_changes \
    (org_id, revision, kind, connection_id, first_bucket, last_bucket) \
    VALUES ($1, $2, $3, $4, $5, $6)";

/// Forgets the log of organization `$1` up to revision `$2`.
pub(super) const PRUNE_LOG: &str =
    "DELETE FROM rollup_changes WHERE org_id = $1 AND revision <= $2";

/// Revisions of log kept behind the newest: a reader further behind reads everything again.
pub(super) const LOG_KEPT: i64 = 10_000;

/// Moves the revision of the organization of connection `$1`.
pub(super) const BUMP_CONNECTION_ORG: &str = "INSERT INTO rollup_revisions (org_id, revision) \
    SELECT org_id, 1 FROM connections WHERE id = $1 \
    ON CONFLICT (org_id) DO UPDATE SET revision = rollup_revisions.revision + 1";

/// Moves every organization's revision.
pub(super) const BUMP_ALL: &str = "INSERT INTO rollup_revisions (org_id, revision) \
    SELECT id, 1 FROM organizations WHERE true \
    ON CONFLICT (org_id) DO UPDATE SET revision = rollup_revisions.revision + 1";

/// Whether writing `kind` moves the revision: the bill's kinds, not the meter's.
pub(super) fn is_billed(kind: &super::RollupKind) -> bool {
    kind.name.starts_with("cost.")
}

/// One window a sync rewrote in a billed rollup kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WindowChange {
    pub connection: ConnectionId,
    pub buckets: BucketRange,
}

impl Store {
    /// The windows of `kind` rewritten by the revision moves after `after` up to `through`, or
    /// `None` when a move among them was something else (or its row was pruned): then only a
    /// whole read is current.
    pub(crate) async fn rollup_changes(
        &self,
        org: OrgId,
        kind: &RollupKind,
        after: i64,
        through: i64,
    ) -> StoreResult<Option<Vec<WindowChange>>> {
        if through < after {
            return Ok(None);
        }
        let rows: Vec<(String, i64, i64, i64)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT kind, connection_id, first_bucket, last_bucket FROM rollup_changes \
                 WHERE org_id = $1 AND revision > $2 AND revision <= $3 ORDER BY revision",
            )
            .bind(org.0)
            .bind(after)
            .bind(through)
            .fetch_all(pool)
            .await?
        });
        if i64::try_from(rows.len()).ok() != Some(through - after) {
            return Ok(None);
        }
        Ok(Some(
            rows.into_iter()
                .filter(|(name, ..)| name == kind.name)
                .map(|(_, connection, first, last)| WindowChange {
                    connection: ConnectionId(connection),
                    buckets: BucketRange { first, last },
                })
                .collect(),
        ))
    }

    /// The organization's billed-rollup revision (0: its bill's rollups were never written
    /// since revisions exist). Read it *before* the data it stands for.
    pub async fn rollup_revision(&self, org: OrgId) -> StoreResult<i64> {
        let revision: Option<i64> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT revision FROM rollup_revisions WHERE org_id = $1")
                .bind(org.0)
                .fetch_optional(pool)
                .await?
        });
        Ok(revision.unwrap_or(0))
    }
}
