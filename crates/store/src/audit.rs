//! The append-only audit log: every change (connection, rename, user, token) with who, when and
//! what, each entry hashed together with the one before it, so an edited or deleted entry breaks
//! the chain that `spendlens audit verify` checks.

use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::{OrgId, RowExt, Store, StoreResult, from_millis, millis, with_pool};

/// The hash before an organization's first entry.
pub(crate) const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Clone, Debug, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: String,
}

/// An entry as stored: id, at, actor, action, subject, detail, previous hash, hash.
type StoredEntry = (i64, i64, String, String, String, String, String, String);

/// What a verification found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuditVerdict {
    Intact { entries: usize },
    Broken { entry_id: i64, reason: String },
}

pub(crate) fn entry_hash(
    prev: &str,
    org: OrgId,
    at: i64,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &str,
) -> String {
    let mut hasher = Sha256::new();
    for part in [
        prev,
        &org.0.to_string(),
        &at.to_string(),
        actor,
        action,
        subject,
        detail,
    ] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// Appends an entry inside the caller's transaction `$tx` (which must already hold the
/// organization's row lock: `UPDATE organizations SET name = name WHERE id = …`), so a change
/// and its audit entry commit or fail together.
macro_rules! audit_in_tx {
    ($tx:expr, $org:expr, $actor:expr, $action:expr, $subject:expr, $detail:expr, $at:expr) => {{
        let prev: Option<String> = sqlx::query_scalar(
            "SELECT hash FROM audit_log WHERE org_id = $1 ORDER BY id DESC LIMIT 1",
        )
        .bind($org.0)
        .fetch_optional(&mut *$tx)
        .await?;
        let prev = prev.unwrap_or_else(|| $crate::audit::GENESIS.to_owned());
        let hash = $crate::audit::entry_hash(&prev, $org, $at, $actor, $action, $subject, $detail);
        sqlx::query(
            "INSERT INTO audit_log (org_id, at, actor, action, subject, detail, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind($org.0)
        .bind($at)
        .bind($actor)
        .bind($action)
        .bind($subject)
        .bind($detail)
        .bind(&prev)
        .bind(&hash)
        .execute(&mut *$tx)
        .await?;
    }};
}
pub(crate) use audit_in_tx;

/// Who makes a change, and when. A mutating method given one writes the change's audit entry
/// inside the change's own transaction: both commit or neither does (a crash between a change
/// and a separate append lost the record).
#[derive(Clone, Copy, Debug)]
pub struct Actor<'a> {
    /// As the log shows it: `admin@example.com`, `api token 7`, `cli`.
    pub name: &'a str,
    pub at: OffsetDateTime,
}

/// At the start of a change's transaction `$tx`: takes the organization's row lock (the write
/// lock on SQLite, so two appends cannot extend the same entry) and appends the entry of
/// `$actor` (an [`Actor`]). Rolled back with the change if the change fails.
macro_rules! audit_change {
    ($tx:expr, $org:expr, $actor:expr, $action:expr, $subject:expr, $detail:expr) => {{
        $crate::audit::lock_org!($tx, $org);
        $crate::audit::audit_actor!($tx, $org, $actor, $action, $subject, $detail);
    }};
}
pub(crate) use audit_change;

/// Takes the organization's row lock in `$tx` (first, before the change's own rows, so every
/// audited change locks in the same order).
macro_rules! lock_org {
    ($tx:expr, $org:expr) => {{
        sqlx::query("UPDATE organizations SET name = name WHERE id = $1")
            .bind($org.0)
            .execute(&mut *$tx)
            .await?;
    }};
}
pub(crate) use lock_org;

/// Appends `$actor`'s entry in `$tx`, which holds the organization's lock ([`lock_org`]):
/// for a change whose subject is known only once it is made.
macro_rules! audit_actor {
    ($tx:expr, $org:expr, $actor:expr, $action:expr, $subject:expr, $detail:expr) => {{
        let at = $crate::millis($actor.at);
        $crate::audit::audit_in_tx!($tx, $org, $actor.name, $action, $subject, $detail, at);
    }};
}
pub(crate) use audit_actor;

impl Store {
    /// Appends an entry to the organization's chain.
    pub async fn audit(
        &self,
        org: OrgId,
        actor: &str,
        action: &str,
        subject: &str,
        detail: &str,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let at = millis(now);
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            // Take the organization's row lock first (the write lock on SQLite) so two
            // appends cannot both extend the same entry.
            sqlx::query("UPDATE organizations SET name = name WHERE id = $1")
                .bind(org.0)
                .execute(&mut *tx)
                .await?;
            let prev: Option<String> = sqlx::query_scalar(
                "SELECT hash FROM audit_log WHERE org_id = $1 ORDER BY id DESC LIMIT 1",
            )
            .bind(org.0)
            .fetch_optional(&mut *tx)
            .await?;
            let prev = prev.unwrap_or_else(|| GENESIS.to_owned());
            let hash = entry_hash(&prev, org, at, actor, action, subject, detail);
            sqlx::query(
                "INSERT INTO audit_log (org_id, at, actor, action, subject, detail, prev_hash, hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(org.0)
            .bind(at)
            .bind(actor)
            .bind(action)
            .bind(subject)
            .bind(detail)
            .bind(&prev)
            .bind(&hash)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The newest entries first.
    pub async fn audit_entries(&self, org: OrgId, limit: i64) -> StoreResult<Vec<AuditEntry>> {
        with_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT id, at, actor, action, subject, detail FROM audit_log WHERE org_id = $1 ORDER BY id DESC LIMIT $2",
            )
            .bind(org.0)
            .bind(limit.clamp(1, 100_000))
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(AuditEntry {
                        id: row.int("id")?,
                        at: from_millis(row.int("at")?),
                        actor: row.text("actor")?,
                        action: row.text("action")?,
                        subject: row.text("subject")?,
                        detail: row.text("detail")?,
                    })
                })
                .collect()
        })
    }

    /// Recomputes the organization's chain from the first entry.
    pub async fn verify_audit(&self, org: OrgId) -> StoreResult<AuditVerdict> {
        let entries: Vec<StoredEntry> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, at, actor, action, subject, detail, prev_hash, hash FROM audit_log WHERE org_id = $1 ORDER BY id",
            )
            .bind(org.0)
            .fetch_all(pool)
            .await?
        });
        let mut prev = GENESIS.to_owned();
        for (id, at, actor, action, subject, detail, stored_prev, stored_hash) in &entries {
            if *stored_prev != prev {
                return Ok(AuditVerdict::Broken {
                    entry_id: *id,
                    reason:
                        "it does not follow the entry before it (an entry was removed or reordered)"
                            .to_owned(),
                });
            }
            let hash = entry_hash(&prev, org, *at, actor, action, subject, detail);
            if hash != *stored_hash {
                return Ok(AuditVerdict::Broken {
                    entry_id: *id,
                    reason: "its content does not match its hash (it was edited)".to_owned(),
                });
            }
            prev = hash;
        }
        Ok(AuditVerdict::Intact {
            entries: entries.len(),
        })
    }
}
