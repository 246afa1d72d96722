//! The access log, beside the audit log: who signed in (or failed, or was refused), which API
//! tokens were used, and which requests were denied (401/403), with the client and the request
//! line. Append-only twice over: the table refuses UPDATE and DELETE (triggers, migration
//! 0017), and each entry is hashed with the one before it in its organization, so a row edited
//! or removed by hand breaks the chain [`Store::verify_access_log`] checks.

use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::{
    AuditVerdict, OrgId, RowExt, Store, StoreError, StoreResult, from_millis, millis, with_pool,
};

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What an access entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessKind {
    /// A dashboard sign-in that started a session.
    SignIn,
    /// A wrong email or password.
    SignInFailed,
    /// A sign-in refused before or after the password check: throttled, locked, disabled.
    SignInRefused,
    /// An API token used (at most one entry per token and minute, like its last-used time).
    TokenUse,
    /// A request answered 401 or 403.
    Denied,
}

impl AccessKind {
    pub const ALL: [AccessKind; 5] = [
        AccessKind::SignIn,
        AccessKind::SignInFailed,
        AccessKind::SignInRefused,
        AccessKind::TokenUse,
        AccessKind::Denied,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AccessKind::SignIn => "sign_in",
            AccessKind::SignInFailed => "sign_in_failed",
            AccessKind::SignInRefused => "sign_in_refused",
            AccessKind::TokenUse => "token_use",
            AccessKind::Denied => "denied",
        }
    }

    /// The kind a stored or typed name stands for.
    pub fn parse(text: &str) -> Option<AccessKind> {
        AccessKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// One access to record. Never a secret: actors are emails, token names with their public
/// prefix, or masked keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAccess<'a> {
    pub kind: AccessKind,
    pub actor: &'a str,
    pub client: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub detail: &'a str,
}

/// A stored entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccessEntry {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub kind: AccessKind,
    pub actor: String,
    pub client: String,
    pub method: String,
    pub path: String,
    pub status: i64,
    pub detail: String,
}

/// Which entries to list: newest first, before `before_id` (a page's last id), at most `limit`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessFilter {
    pub kinds: Vec<AccessKind>,
    /// Only actors containing this text (case-insensitive).
    pub actor: Option<String>,
    pub from: Option<OffsetDateTime>,
    /// Exclusive.
    pub to: Option<OffsetDateTime>,
    pub before_id: Option<i64>,
    pub limit: i64,
}

fn entry_hash(prev: &str, org: OrgId, at: i64, e: &NewAccess<'_>) -> String {
    let mut hasher = Sha256::new();
    for part in [
        prev,
        &org.0.to_string(),
        &at.to_string(),
        e.kind.as_str(),
        e.actor,
        e.client,
        e.method,
        e.path,
        &e.status.to_string(),
        e.detail,
    ] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// Text cut to at most `max` characters (a request path can be long).
fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

fn token_label(name: &str, prefix: &str, revoked: bool) -> String {
    format!(
        "API token \"{name}\" ({prefix}…){}",
        if revoked { ", revoked" } else { "" }
    )
}

impl Store {
    /// How the access log names an API token: its name and public prefix, never the secret.
    pub async fn api_token_label(&self, org: OrgId, token_id: i64) -> StoreResult<String> {
        let row: Option<(String, String, Option<i64>)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT name, prefix, revoked_at FROM api_tokens WHERE org_id = $1 AND id = $2")
                .bind(org.0)
                .bind(token_id)
                .fetch_optional(pool)
                .await?
        });
        let (name, prefix, revoked) = row.ok_or_else(|| StoreError::NotFound {
            what: format!("API token {token_id}"),
        })?;
        Ok(token_label(&name, &prefix, revoked.is_some()))
    }

    /// The organization and label of the API token a presented secret is (valid or not),
    /// without recording a use.
    pub async fn api_token_by_secret(&self, secret: &str) -> StoreResult<Option<(OrgId, String)>> {
        let row: Option<(i64, String, String, Option<i64>)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT org_id, name, prefix, revoked_at FROM api_tokens WHERE token_hash = $1")
                .bind(crate::tokens::hash_token(secret))
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|(org, name, prefix, revoked)| {
            (OrgId(org), token_label(&name, &prefix, revoked.is_some()))
        }))
    }

    /// The organization of the ingest key a presented secret is (current or replaced), without
    /// recording a use.
    pub async fn ingest_key_org(&self, secret: &str) -> StoreResult<Option<OrgId>> {
        let hash = crate::tokens::hash_token(secret);
        let org: Option<i64> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT org_id FROM ingest_keys WHERE key_hash = $1 OR previous_hash = $1 LIMIT 1")
                .bind(&hash)
                .fetch_optional(pool)
                .await?
        });
        Ok(org.map(OrgId))
    }

    /// Appends an entry to the organization's access chain.
    pub async fn record_access(
        &self,
        org: OrgId,
        entry: &NewAccess<'_>,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let at = millis(now);
        let (actor, client, method, path, detail) = (
            cut(entry.actor, 300),
            cut(entry.client, 100),
            cut(entry.method, 16),
            cut(entry.path, 500),
            cut(entry.detail, 1000),
        );
        let entry = NewAccess {
            actor: &actor,
            client: &client,
            method: &method,
            path: &path,
            detail: &detail,
            ..*entry
        };
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            // The organization's row lock (the write lock on SQLite) orders concurrent appends.
            sqlx::query("UPDATE organizations SET name = name WHERE id = $1")
                .bind(org.0)
                .execute(&mut *tx)
                .await?;
            let prev: Option<String> = sqlx::query_scalar(
                "SELECT hash FROM access_log WHERE org_id = $1 ORDER BY id DESC LIMIT 1",
            )
            .bind(org.0)
            .fetch_optional(&mut *tx)
            .await?;
            let prev = prev.unwrap_or_else(|| GENESIS.to_owned());
            let hash = entry_hash(&prev, org, at, &entry);
            sqlx::query(
                "INSERT INTO access_log (org_id, at, kind, actor, client, method, path, status, detail, prev_hash, hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(org.0)
            .bind(at)
            .bind(entry.kind.as_str())
            .bind(entry.actor)
            .bind(entry.client)
            .bind(entry.method)
            .bind(entry.path)
            .bind(i64::from(entry.status))
            .bind(entry.detail)
            .bind(&prev)
            .bind(&hash)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Entries matching `filter`, newest first.
    pub async fn access_entries(
        &self,
        org: OrgId,
        filter: &AccessFilter,
    ) -> StoreResult<Vec<AccessEntry>> {
        let mut sql = String::from(
            "SELECT id, at, kind, actor, client, method, path, status, detail FROM access_log WHERE org_id = $1",
        );
        let mut binds: Vec<String> = Vec::new();
        if !filter.kinds.is_empty() {
            let list: Vec<String> = filter
                .kinds
                .iter()
                .map(|k| format!("'{}'", k.as_str()))
                .collect();
            sql.push_str(&format!(" AND kind IN ({})", list.join(", ")));
        }
        if let Some(actor) = &filter.actor {
            binds.push(format!("%{}%", actor.to_lowercase()));
            sql.push_str(&format!(" AND LOWER(actor) LIKE ${}", binds.len() + 1));
        }
        for (bound, op) in [(filter.from, ">="), (filter.to, "<")] {
            if let Some(t) = bound {
                sql.push_str(&format!(" AND at {op} {}", millis(t)));
            }
        }
        if let Some(id) = filter.before_id {
            sql.push_str(&format!(" AND id < {id}"));
        }
        sql.push_str(&format!(
            " ORDER BY id DESC LIMIT {}",
            filter.limit.clamp(1, 10_000)
        ));
        with_pool!(self, pool => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(org.0);
            for value in &binds {
                query = query.bind(value);
            }
            let rows = query.fetch_all(pool).await?;
            rows.iter()
                .map(|row| {
                    let kind = row.text("kind")?;
                    Ok(AccessEntry {
                        id: row.int("id")?,
                        at: from_millis(row.int("at")?),
                        kind: AccessKind::parse(&kind)
                            .ok_or_else(|| StoreError::Corrupt(format!("access kind \"{kind}\"")))?,
                        actor: row.text("actor")?,
                        client: row.text("client")?,
                        method: row.text("method")?,
                        path: row.text("path")?,
                        status: row.int("status")?,
                        detail: row.text("detail")?,
                    })
                })
                .collect()
        })
    }

    /// Recomputes the organization's access chain from the first entry.
    pub async fn verify_access_log(&self, org: OrgId) -> StoreResult<AuditVerdict> {
        type Stored = (
            i64,
            i64,
            String,
            String,
            String,
            String,
            String,
            i64,
            String,
            String,
            String,
        );
        let rows: Vec<Stored> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, at, kind, actor, client, method, path, status, detail, prev_hash, hash \
                 FROM access_log WHERE org_id = $1 ORDER BY id",
            )
            .bind(org.0)
            .fetch_all(pool)
            .await?
        });
        let mut prev = GENESIS.to_owned();
        for (id, at, kind, actor, client, method, path, status, detail, stored_prev, stored_hash) in
            &rows
        {
            if *stored_prev != prev {
                return Ok(AuditVerdict::Broken {
                    entry_id: *id,
                    reason:
                        "it does not follow the entry before it (an entry was removed or reordered)"
                            .to_owned(),
                });
            }
            let Some(kind) = AccessKind::parse(kind) else {
                return Ok(AuditVerdict::Broken {
                    entry_id: *id,
                    reason: format!("its kind \"{kind}\" is not one spendlens writes"),
                });
            };
            let entry = NewAccess {
                kind,
                actor,
                client,
                method,
                path,
                status: u16::try_from(*status).unwrap_or(u16::MAX),
                detail,
            };
            let hash = entry_hash(&prev, org, *at, &entry);
            if hash != *stored_hash {
                return Ok(AuditVerdict::Broken {
                    entry_id: *id,
                    reason: "its content does not match its hash (it was edited)".to_owned(),
                });
            }
            prev = hash;
        }
        Ok(AuditVerdict::Intact {
            entries: rows.len(),
        })
    }
}
