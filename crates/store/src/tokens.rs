//! API tokens for scripts and the JSON API: random, shown once, stored as SHA-256 hashes.

use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

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
}

pub fn hash_token(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.trim().as_bytes()))
}

impl Store {
    pub async fn create_api_token(
        &self,
        org: OrgId,
        name: &str,
        now: OffsetDateTime,
    ) -> StoreResult<NewApiToken> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 80 {
            return Err(StoreError::Invalid(
                "a token needs a name of 1 to 80 characters".to_owned(),
            ));
        }
        let mut bytes = [0u8; 24];
        rand::rng().fill_bytes(&mut bytes);
        let secret = format!("{TOKEN_PREFIX}{}", hex::encode(bytes));
        let prefix: String = secret.chars().take(TOKEN_PREFIX.len() + 6).collect();
        let id: i64 = with_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO api_tokens (org_id, name, token_hash, prefix, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(org.0)
            .bind(name)
            .bind(hash_token(&secret))
            .bind(prefix)
            .bind(millis(now))
            .fetch_one(pool)
            .await?
        });
        Ok(NewApiToken { id, secret })
    }

    /// The organization a presented token belongs to, if it is valid and not revoked.
    pub async fn authenticate_api_token(
        &self,
        secret: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<OrgId>> {
        let hash = hash_token(secret);
        let found: Option<(i64, i64, Option<i64>)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, org_id, last_used_at FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
            )
            .bind(&hash)
            .fetch_optional(pool)
            .await?
        });
        let Some((id, org, last_used)) = found else {
            return Ok(None);
        };
        // Record use at most once a minute: a script calling the API in a loop should not turn
        // every read into a write.
        let now = millis(now);
        if last_used.is_none_or(|at| now - at >= LAST_USED_RESOLUTION_MS) {
            with_pool!(self, pool => {
                sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(id)
                    .execute(pool)
                    .await?;
            });
        }
        Ok(Some(OrgId(org)))
    }

    pub async fn list_api_tokens(&self, org: OrgId) -> StoreResult<Vec<ApiTokenRow>> {
        with_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT id, name, prefix, created_at, last_used_at, revoked_at FROM api_tokens WHERE org_id = $1 ORDER BY id",
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
                    })
                })
                .collect()
        })
    }

    pub async fn revoke_api_token(
        &self,
        org: OrgId,
        id: i64,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let changed = with_pool!(self, pool => {
            sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE org_id = $2 AND id = $3 AND revoked_at IS NULL")
                .bind(millis(now))
                .bind(org.0)
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if changed == 0 {
            return Err(StoreError::NotFound {
                what: format!("active token {id}"),
            });
        }
        Ok(())
    }
}
