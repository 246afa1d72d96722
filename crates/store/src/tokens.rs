//! API tokens for scripts and the JSON API: random, shown once, stored as SHA-256 hashes, with
//! scopes (what the token may do) and an optional expiry.

use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use spendlens_domain::Scopes;

use crate::audit::{Actor, audit_actor, audit_change, lock_org};
use crate::{OrgId, RowExt, Store, StoreError, StoreResult, from_millis, millis, with_pool};

/// Every token starts with this, so leaked tokens are easy to recognize and scan for.
pub const TOKEN_PREFIX: &str = "sl_";

/// How precisely `last_used_at` is kept.
const LAST_USED_RESOLUTION_MS: i64 = 60_000;

/// A token just created: the only time its secret exists outside the caller's hands.
#[derive(Debug)]
pub struct NewApiToken {
    pub id: i64,
    pub secret: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct ApiTokenRow {
    pub id: i64,
    pub name: String,
    /// The first characters of the token, to tell tokens apart.
    pub prefix: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    /// What the token may do (`read,sync`, …).
    #[serde(serialize_with = "scopes_text")]
    pub scopes: Scopes,
    /// After this instant the token is refused.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

fn scopes_text<S: serde::Serializer>(scopes: &Scopes, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(scopes)
}

/// A caller a presented API token names: its organization, the token and what it may do.
#[derive(Clone, Copy, Debug)]
pub struct TokenAuth {
    pub org: OrgId,
    pub token_id: i64,
    pub scopes: Scopes,
    /// This use moved the token's last-used time (at most once a minute): the access log
    /// records such uses.
    pub use_recorded: bool,
}

/// Stored scopes back as [`Scopes`]; text this version cannot read grants only reading.
fn stored_scopes(text: &str) -> Scopes {
    text.parse().unwrap_or(Scopes::READ)
}

pub fn hash_token(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.trim().as_bytes()))
}

impl Store {
    /// A token with full access and no expiry (the first token of a new install, tests). Not
    /// audited: a change someone makes goes through [`Store::create_scoped_api_token`].
    pub async fn create_api_token(
        &self,
        org: OrgId,
        name: &str,
        now: OffsetDateTime,
    ) -> StoreResult<NewApiToken> {
        self.insert_api_token(org, name, Scopes::ADMIN, None, now, None)
            .await
    }

    /// A token that may do what `scopes` allow, until `expires_at` if given. Audited as
    /// `actor`'s (`token.create`, its name, `token <id> scopes <scopes>[ expires <at>]`) in the
    /// same transaction.
    pub async fn create_scoped_api_token(
        &self,
        org: OrgId,
        name: &str,
        scopes: Scopes,
        expires_at: Option<OffsetDateTime>,
        actor: Actor<'_>,
    ) -> StoreResult<NewApiToken> {
        self.insert_api_token(org, name, scopes, expires_at, actor.at, Some(actor))
            .await
    }

    /// Inserts a token; with `audit`, its entry goes in the same transaction.
    async fn insert_api_token(
        &self,
        org: OrgId,
        name: &str,
        scopes: Scopes,
        expires_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
        audit: Option<Actor<'_>>,
    ) -> StoreResult<NewApiToken> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 80 {
            return Err(StoreError::Invalid(
                "a token needs a name of 1 to 80 characters".to_owned(),
            ));
        }
        if expires_at.is_some_and(|at| at <= now) {
            return Err(StoreError::Invalid(
                "a token's expiry must be in the future".to_owned(),
            ));
        }
        let mut bytes = [0u8; 24];
        rand::rng().fill_bytes(&mut bytes);
        let secret = format!("{TOKEN_PREFIX}{}", hex::encode(bytes));
        let prefix: String = secret.chars().take(TOKEN_PREFIX.len() + 6).collect();
        let id: i64 = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            if audit.is_some() {
                lock_org!(tx, org);
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO api_tokens (org_id, name, token_hash, prefix, created_at, scopes, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(org.0)
            .bind(name)
            .bind(hash_token(&secret))
            .bind(prefix)
            .bind(millis(now))
            .bind(scopes.to_string())
            .bind(expires_at.map(millis))
            .fetch_one(&mut *tx)
            .await?;
            if let Some(actor) = audit {
                let detail = format!(
                    "token {id} scopes {scopes}{}",
                    expires_at.map_or_else(String::new, |at| format!(" expires {at}"))
                );
                audit_actor!(tx, org, actor, "token.create", name, &detail);
            }
            tx.commit().await?;
            id
        });
        Ok(NewApiToken { id, secret })
    }

    /// The organization a presented token belongs to, if it is valid, not revoked and not
    /// expired.
    pub async fn authenticate_api_token(
        &self,
        secret: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<OrgId>> {
        Ok(self
            .authenticate_token(secret, now)
            .await?
            .map(|auth| auth.org))
    }

    /// The caller a presented token names, if it is valid, not revoked and not expired.
    pub async fn authenticate_token(
        &self,
        secret: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<TokenAuth>> {
        let hash = hash_token(secret);
        let now = millis(now);
        let found: Option<(i64, i64, Option<i64>, String)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, org_id, last_used_at, scopes FROM api_tokens \
                 WHERE token_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)",
            )
            .bind(&hash)
            .bind(now)
            .fetch_optional(pool)
            .await?
        });
        let Some((id, org, last_used, scopes)) = found else {
            return Ok(None);
        };
        // Record use at most once a minute: a script calling the API in a loop should not turn
        // every read into a write.
        let use_recorded = last_used.is_none_or(|at| now - at >= LAST_USED_RESOLUTION_MS);
        if use_recorded {
            with_pool!(self, pool => {
                sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(id)
                    .execute(pool)
                    .await?;
            });
        }
        Ok(Some(TokenAuth {
            org: OrgId(org),
            token_id: id,
            scopes: stored_scopes(&scopes),
            use_recorded,
        }))
    }

    pub async fn list_api_tokens(&self, org: OrgId) -> StoreResult<Vec<ApiTokenRow>> {
        with_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT id, name, prefix, created_at, last_used_at, revoked_at, scopes, expires_at FROM api_tokens WHERE org_id = $1 ORDER BY id",
            )
            .bind(org.0)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(ApiTokenRow {
                        id: row.int("id")?,
                        name: row.text("name")?,
                        prefix: row.text("prefix")?,
                        created_at: from_millis(row.int("created_at")?),
                        last_used_at: row.opt_int("last_used_at")?.map(from_millis),
                        revoked_at: row.opt_int("revoked_at")?.map(from_millis),
                        scopes: stored_scopes(&row.text("scopes")?),
                        expires_at: row.opt_int("expires_at")?.map(from_millis),
                    })
                })
                .collect()
        })
    }

    /// Revokes an active token, audited as `actor`'s (`token.revoke`, the token's name, its id)
    /// in the same transaction. `NotFound` when no active token has that id.
    pub async fn revoke_api_token(&self, org: OrgId, id: i64, actor: Actor<'_>) -> StoreResult<()> {
        let name = with_pool!(self, pool => {
            sqlx::query_scalar::<_, String>(
                "SELECT name FROM api_tokens WHERE org_id = $1 AND id = $2 AND revoked_at IS NULL",
            )
            .bind(org.0)
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        let Some(name) = name else {
            return Err(StoreError::NotFound {
                what: format!("active token {id}"),
            });
        };
        let changed = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            audit_change!(tx, org, actor, "token.revoke", &name, &format!("token {id}"));
            let changed = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE org_id = $2 AND id = $3 AND revoked_at IS NULL")
                .bind(millis(actor.at))
                .bind(org.0)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if changed == 1 {
                tx.commit().await?;
            }
            changed
        });
        if changed == 0 {
            // Revoked by someone else since the read: nothing changed, nothing is logged.
            return Err(StoreError::NotFound {
                what: format!("active token {id}"),
            });
        }
        Ok(())
    }
}
