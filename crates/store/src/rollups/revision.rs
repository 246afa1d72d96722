//! The billed-rollup revision: a number per organization that moves in the same transaction as
//! every write of its cost rollups — a window replacement, cost deltas, a deleted connection's
//! series, a rebuild — so a reader that keeps what it read under the revision it read first
//! (before the data) never serves a bill older than the database's. Metered rollups (ingest,
//! many small writes a second) leave it alone: they are read fresh.

use crate::{OrgId, Store, StoreResult, with_pool};

/// Moves one organization's revision (`$1`).
pub(super) const BUMP_ORG: &str = "INSERT INTO rollup_revisions (org_id, revision) VALUES ($1, 1) \
    ON CONFLICT (org_id) DO UPDATE SET revision = rollup_revisions.revision + 1";

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

impl Store {
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
