//! Connections: provider + name + encrypted credential + sync settings and state, and the
//! lease that lets exactly one process sync a connection at a time.

use serde::Serialize;
use spendlens_domain::{Credential, Day, ProviderKind};
use time::OffsetDateTime;

use crate::audit::{Actor, audit_change};
use crate::vault::Vault;
use crate::{
    ConnectionId, OrgId, RowExt, Store, StoreError, StoreResult, from_millis, millis, with_pool,
};
pub use spendlens_domain::ConnectionStatus;

/// What a new connection is made of.
#[derive(Debug)]
pub struct NewConnection<'a> {
    pub name: &'a str,
    pub credential: &'a Credential,
    pub base_url: Option<&'a str>,
    pub sync_interval_secs: i64,
    pub backfill_days: i64,
    /// The connection's own look-back in days; `None`: the provider's (`ProviderKind::lookback`).
    pub lookback_days: Option<i64>,
}

/// A stored connection, without its secret.
#[derive(Clone, Debug, Serialize)]
pub struct ConnectionRow {
    pub id: ConnectionId,
    pub org_id: OrgId,
    pub provider: ProviderKind,
    pub name: String,
    pub credential_hint: Option<String>,
    pub has_credential: bool,
    pub base_url: Option<String>,
    pub status: ConnectionStatus,
    pub status_message: Option<String>,
    pub notes: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_sync_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_success_at: Option<OffsetDateTime>,
    /// The last day the data is complete through (the sync watermark).
    pub synced_through: Option<Day>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_sync_at: Option<OffsetDateTime>,
    pub sync_interval_secs: i64,
    pub backfill_days: i64,
    /// The connection's own look-back in days; `null`: the provider's own policy.
    pub lookback_days: Option<i64>,
    pub auth_failures: i64,
}

const COLUMNS: &str = "id, org_id, provider, name, credential_hint, credential IS NOT NULL AS has_credential, \
    base_url, status, status_message, notes, created_at, last_sync_at, last_success_at, synced_through, \
    next_sync_at, sync_interval_secs, backfill_days, lookback_override_days AS lookback_days, auth_failures";

fn from_row(row: &impl RowExt) -> StoreResult<ConnectionRow> {
    let provider = row.text("provider")?;
    Ok(ConnectionRow {
        id: ConnectionId(row.int("id")?),
        org_id: OrgId(row.int("org_id")?),
        provider: provider
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("provider \"{provider}\"")))?,
        name: row.text("name")?,
        credential_hint: row.opt_text("credential_hint")?,
        has_credential: row.flag("has_credential")?,
        base_url: row.opt_text("base_url")?,
        status: row.text("status")?.parse()?,
        status_message: row.opt_text("status_message")?,
        notes: row.opt_text("notes")?,
        created_at: from_millis(row.int("created_at")?),
        last_sync_at: row.opt_int("last_sync_at")?.map(from_millis),
        last_success_at: row.opt_int("last_success_at")?.map(from_millis),
        synced_through: row
            .opt_int("synced_through")?
            .map(day_from_number)
            .transpose()?,
        next_sync_at: row.opt_int("next_sync_at")?.map(from_millis),
        sync_interval_secs: row.int("sync_interval_secs")?,
        backfill_days: row.int("backfill_days")?,
        lookback_days: row.opt_int("lookback_days")?,
        auth_failures: row.int("auth_failures")?,
    })
}

pub(crate) fn day_from_number(number: i64) -> StoreResult<Day> {
    i32::try_from(number)
        .ok()
        .and_then(|n| Day::from_number(n).ok())
        .ok_or_else(|| StoreError::Corrupt(format!("day number {number}")))
}

fn credential_context(id: ConnectionId) -> String {
    format!("connections/{}/credential", id.0)
}

/// A connection name: 1–80 characters, not only digits (so `ID|NAME` stays unambiguous).
pub fn validate_connection_name(name: &str) -> StoreResult<&str> {
    let name = name.trim();
    if name.is_empty() {
        return Err(StoreError::Invalid("a connection needs a name".to_owned()));
    }
    if name.chars().count() > 80 {
        return Err(StoreError::Invalid(
            "a connection name can be at most 80 characters".to_owned(),
        ));
    }
    if name.chars().all(|c| c.is_ascii_digit()) {
        return Err(StoreError::Invalid(
            "a connection name cannot be only digits (it would read as an id)".to_owned(),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(StoreError::Invalid(
            "a connection name cannot contain control characters".to_owned(),
        ));
    }
    Ok(name)
}

impl Store {
    /// Saves a connection with its credential sealed by `vault`. Status starts as pending. Not
    /// audited (tests, the demo's seeding): a connection someone adds goes through
    /// [`Store::create_connection_as`].
    pub async fn create_connection(
        &self,
        org: OrgId,
        new: NewConnection<'_>,
        vault: &Vault,
        now: OffsetDateTime,
    ) -> StoreResult<ConnectionRow> {
        self.insert_connection(org, new, vault, now, None).await
    }

    /// Saves a connection as [`Store::create_connection`] does, audited as `actor`'s
    /// (`connection.add`, its name, `<provider> key <hint>`) in the same transaction.
    pub async fn create_connection_as(
        &self,
        org: OrgId,
        new: NewConnection<'_>,
        vault: &Vault,
        actor: Actor<'_>,
    ) -> StoreResult<ConnectionRow> {
        self.insert_connection(org, new, vault, actor.at, Some(actor))
            .await
    }

    async fn insert_connection(
        &self,
        org: OrgId,
        new: NewConnection<'_>,
        vault: &Vault,
        now: OffsetDateTime,
        audit: Option<Actor<'_>>,
    ) -> StoreResult<ConnectionRow> {
        let name = validate_connection_name(new.name)?;
        let id = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            if let Some(actor) = audit {
                let detail = format!(
                    "{} key {}",
                    new.credential.provider().as_str(),
                    new.credential.hint()
                );
                audit_change!(tx, org, actor, "connection.add", name, &detail);
            }
            let taken: Option<i64> =
                sqlx::query_scalar("SELECT id FROM connections WHERE org_id = $1 AND name = $2")
                    .bind(org.0)
                    .bind(name)
                    .fetch_optional(&mut *tx)
                    .await?;
            if taken.is_some() {
                return Err(StoreError::Conflict(format!(
                    "a connection named \"{name}\" already exists; choose another name or remove it first"
                )));
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO connections (org_id, provider, name, credential_hint, base_url, status, created_at, \
                 sync_interval_secs, backfill_days, lookback_override_days) \
                 VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8, $9) RETURNING id",
            )
            .bind(org.0)
            .bind(new.credential.provider().as_str())
            .bind(name)
            .bind(new.credential.hint())
            .bind(new.base_url)
            .bind(millis(now))
            .bind(new.sync_interval_secs)
            .bind(new.backfill_days)
            .bind(new.lookback_days)
            .fetch_one(&mut *tx)
            .await?;
            let sealed = vault.seal(
                new.credential.expose_secret().as_bytes(),
                &credential_context(ConnectionId(id)),
            )?;
            sqlx::query("UPDATE connections SET credential = $1 WHERE id = $2")
                .bind(sealed)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            id
        });
        self.get_connection(org, ConnectionId(id)).await
    }

    pub async fn list_connections(&self, org: OrgId) -> StoreResult<Vec<ConnectionRow>> {
        let sql = format!("SELECT {COLUMNS} FROM connections WHERE org_id = $1 ORDER BY name");
        with_pool!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(org.0).fetch_all(pool).await?;
            rows.iter().map(from_row).collect()
        })
    }

    pub async fn get_connection(&self, org: OrgId, id: ConnectionId) -> StoreResult<ConnectionRow> {
        let sql = format!("SELECT {COLUMNS} FROM connections WHERE org_id = $1 AND id = $2");
        let row = with_pool!(self, pool => {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(org.0)
                .bind(id.0)
                .fetch_optional(pool)
                .await?;
            row.as_ref().map(from_row).transpose()?
        });
        row.ok_or_else(|| StoreError::NotFound {
            what: format!("connection {}", id.0),
        })
    }

    /// A connection by id (digits) or by name.
    pub async fn find_connection(
        &self,
        org: OrgId,
        id_or_name: &str,
    ) -> StoreResult<ConnectionRow> {
        let wanted = id_or_name.trim();
        if let Ok(id) = wanted.parse::<i64>() {
            return self.get_connection(org, ConnectionId(id)).await;
        }
        self.list_connections(org)
            .await?
            .into_iter()
            .find(|c| c.name == wanted)
            .ok_or_else(|| StoreError::NotFound {
                what: format!("connection \"{wanted}\""),
            })
    }

    /// The decrypted credential, or `None` when it was removed.
    pub async fn load_credential(
        &self,
        org: OrgId,
        id: ConnectionId,
        vault: &Vault,
    ) -> StoreResult<Option<Credential>> {
        let row: Option<(String, Option<Vec<u8>>)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT provider, credential FROM connections WHERE org_id = $1 AND id = $2")
                .bind(org.0)
                .bind(id.0)
                .fetch_optional(pool)
                .await?
        });
        let Some((provider, sealed)) = row else {
            return Err(StoreError::NotFound {
                what: format!("connection {}", id.0),
            });
        };
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let secret = vault.open(&sealed, &credential_context(id))?;
        let secret = String::from_utf8(secret).map_err(|_| crate::vault::VaultError::Damaged)?;
        let provider: ProviderKind = provider
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("provider \"{provider}\"")))?;
        Credential::parse(provider, &secret)
            .map(Some)
            .map_err(|err| StoreError::Corrupt(format!("stored credential: {err}")))
    }

    /// Replaces a connection's credential (a rotated key, or a new key for a disconnected
    /// connection) and makes it pending again; its history stays. Audited as `actor`'s
    /// (`connection.replace_credential`, its name, `<provider> key <hint>`) in the same
    /// transaction.
    pub async fn replace_credential(
        &self,
        org: OrgId,
        id: ConnectionId,
        credential: &Credential,
        vault: &Vault,
        actor: Actor<'_>,
    ) -> StoreResult<ConnectionRow> {
        let current = self.get_connection(org, id).await?;
        if current.provider != credential.provider() {
            return Err(StoreError::Invalid(format!(
                "connection \"{}\" is a {} connection; this credential is for {}",
                current.name,
                current.provider.display_name(),
                credential.provider().display_name()
            )));
        }
        let sealed = vault.seal(
            credential.expose_secret().as_bytes(),
            &credential_context(id),
        )?;
        let detail = format!(
            "{} key {}",
            credential.provider().as_str(),
            credential.hint()
        );
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            audit_change!(tx, org, actor, "connection.replace_credential", &current.name, &detail);
            sqlx::query(
                "UPDATE connections SET credential = $1, credential_hint = $2, status = 'pending', \
                 status_message = NULL, auth_failures = 0, next_sync_at = NULL WHERE org_id = $3 AND id = $4",
            )
            .bind(sealed)
            .bind(credential.hint())
            .bind(org.0)
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        self.get_connection(org, id).await
    }

    /// Forgets the credential; the connection and its history stay, disconnected.
    pub async fn remove_credential(
        &self,
        org: OrgId,
        id: ConnectionId,
        actor: Actor<'_>,
        detail: &str,
    ) -> StoreResult<()> {
        let connection = self.get_connection(org, id).await?;
        let done = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            audit_change!(tx, org, actor, "connection.remove_credential", &connection.name, detail);
            let done = sqlx::query(
                "UPDATE connections SET credential = NULL, status = 'disconnected', \
                 status_message = 'The credential was removed; give it a new key on its page to resume syncing.', \
                 next_sync_at = NULL WHERE org_id = $1 AND id = $2",
            )
            .bind(org.0)
            .bind(id.0)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            done
        });
        if done == 0 {
            return Err(StoreError::NotFound {
                what: format!("connection {}", id.0),
            });
        }
        Ok(())
    }

    /// Deletes a connection and everything synced through it, audited as `actor`'s with
    /// `detail` (what was lost) in the same transaction.
    pub async fn delete_connection(
        &self,
        org: OrgId,
        id: ConnectionId,
        actor: Actor<'_>,
        detail: &str,
    ) -> StoreResult<()> {
        let connection = self.get_connection(org, id).await?;
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            audit_change!(tx, org, actor, "connection.delete", &connection.name, detail);
            crate::rollups::RollupWrite::delete_connection_rollups(&mut *tx, id).await?;
            for sql in [
                "DELETE FROM cost_lines WHERE connection_id = $1",
                "DELETE FROM cost_line_versions WHERE connection_id = $1",
                "DELETE FROM api_keys WHERE connection_id = $1",
                "DELETE FROM workspace_names WHERE workspace_id IN (SELECT id FROM workspaces WHERE connection_id = $1)",
                "DELETE FROM workspaces WHERE connection_id = $1",
                "DELETE FROM sync_runs WHERE connection_id = $1",
                "DELETE FROM observed_prices WHERE connection_id = $1",
                "DELETE FROM connection_services WHERE connection_id = $1",
                "DELETE FROM invoice_month_days WHERE connection_id = $1",
                "DELETE FROM connections WHERE id = $1",
            ] {
                sqlx::query(sql).bind(id.0).execute(&mut *tx).await?;
            }
            // The observed prices it brought went too: the provider's observed catalog entries
            // are rebuilt in the same transaction, stamped with the connection's last sync (no
            // clock is passed here).
            let stamp = connection.last_sync_at.unwrap_or(connection.created_at);
            crate::observed_prices::rebuild_entries!(tx, org, connection.provider, stamp);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Sets the connection's own look-back in days, or clears it (`None`: the provider's own
    /// policy). Refuses a number outside 0–`MAX_LOOKBACK_DAYS`. Audited as `actor`'s
    /// (`connection.lookback`, its name, `said`: the look-back in words) in the same
    /// transaction.
    pub async fn set_connection_lookback(
        &self,
        org: OrgId,
        id: ConnectionId,
        days: Option<i64>,
        actor: Actor<'_>,
        said: &str,
    ) -> StoreResult<()> {
        let max = spendlens_domain::MAX_LOOKBACK_DAYS;
        if let Some(days) = days
            && !(0..=max).contains(&days)
        {
            return Err(StoreError::Invalid(format!(
                "a look-back of {days} days is outside 0–{max}; nothing was changed"
            )));
        }
        let connection = self.get_connection(org, id).await?;
        let changed = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            audit_change!(tx, org, actor, "connection.lookback", &connection.name, said);
            let changed = sqlx::query("UPDATE connections SET lookback_override_days = $1 WHERE org_id = $2 AND id = $3")
                .bind(days)
                .bind(org.0)
                .bind(id.0)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if changed > 0 {
                tx.commit().await?;
            }
            changed
        });
        if changed == 0 {
            return Err(StoreError::NotFound {
                what: format!("connection {}", id.0),
            });
        }
        Ok(())
    }

    pub async fn set_connection_status(
        &self,
        org: OrgId,
        id: ConnectionId,
        status: ConnectionStatus,
        message: Option<&str>,
    ) -> StoreResult<()> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE connections SET status = $1, status_message = $2 WHERE org_id = $3 AND id = $4")
                .bind(status.as_str())
                .bind(message)
                .bind(org.0)
                .bind(id.0)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Records the end of a sync: status, message, watermark (on success), times and the
    /// count of consecutive credential rejections.
    #[expect(
        clippy::too_many_arguments,
        reason = "one row's worth of sync outcome, named at the call site"
    )]
    pub async fn record_sync_outcome(
        &self,
        org: OrgId,
        id: ConnectionId,
        status: ConnectionStatus,
        message: Option<&str>,
        synced_through: Option<Day>,
        auth_rejected: bool,
        notes: Option<&str>,
        now: OffsetDateTime,
        next_sync_at: Option<OffsetDateTime>,
    ) -> StoreResult<()> {
        let success = status == ConnectionStatus::Connected;
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE connections SET status = $1, status_message = $2, \
                 synced_through = CASE WHEN $3 THEN $4 ELSE synced_through END, \
                 last_sync_at = $5, \
                 last_success_at = CASE WHEN $3 THEN $5 ELSE last_success_at END, \
                 auth_failures = CASE WHEN $6 THEN auth_failures + 1 WHEN $3 THEN 0 ELSE auth_failures END, \
                 notes = CASE WHEN $3 THEN $7 ELSE notes END, \
                 next_sync_at = $8 \
                 WHERE id = $9 AND org_id = $10",
            )
            .bind(status.as_str())
            .bind(message)
            .bind(success)
            .bind(synced_through.map(|d| i64::from(d.number())))
            .bind(millis(now))
            .bind(auth_rejected)
            .bind(notes)
            .bind(next_sync_at.map(millis))
            .bind(id.0)
            .bind(org.0)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Takes the sync lease of a connection until `until`, unless another holder's lease is
    /// still running. Exactly one caller wins, on either backend.
    pub async fn claim_sync_lease(
        &self,
        org: OrgId,
        id: ConnectionId,
        owner: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> StoreResult<bool> {
        let claimed = with_pool!(self, pool => {
            sqlx::query(
                "UPDATE connections SET lease_owner = $1, lease_until = $2 \
                 WHERE id = $3 AND org_id = $5 AND (lease_until IS NULL OR lease_until < $4 OR lease_owner = $1)",
            )
            .bind(owner)
            .bind(millis(until))
            .bind(id.0)
            .bind(millis(now))
            .bind(org.0)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(claimed == 1)
    }

    pub async fn release_sync_lease(
        &self,
        org: OrgId,
        id: ConnectionId,
        owner: &str,
    ) -> StoreResult<()> {
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE connections SET lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2 AND org_id = $3",
            )
            .bind(id.0)
            .bind(owner)
            .bind(org.0)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Connections of every organization whose next scheduled sync is due.
    pub async fn due_connections(&self, now: OffsetDateTime) -> StoreResult<Vec<ConnectionRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM connections WHERE credential IS NOT NULL AND status <> 'disconnected' \
             AND (next_sync_at IS NULL OR next_sync_at <= $1) AND (lease_until IS NULL OR lease_until < $1) \
             ORDER BY next_sync_at"
        );
        with_pool!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(millis(now)).fetch_all(pool).await?;
            rows.iter().map(from_row).collect()
        })
    }
}
