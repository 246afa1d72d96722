//! Organizations: the owners of everything else.

use time::OffsetDateTime;

use crate::{OrgId, Store, StoreResult, millis, with_pool};

impl Store {
    /// The organization a single-tenant install works in, created on first use.
    pub async fn ensure_default_org(&self, now: OffsetDateTime) -> StoreResult<OrgId> {
        let id = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let existing: Option<i64> =
                sqlx::query_scalar("SELECT id FROM organizations ORDER BY id LIMIT 1")
                    .fetch_optional(&mut *tx)
                    .await?;
            let id = match existing {
                Some(id) => id,
                None => {
                    sqlx::query_scalar(
                        "INSERT INTO organizations (name, created_at) VALUES ($1, $2) RETURNING id",
                    )
                    .bind("Default organization")
                    .bind(millis(now))
                    .fetch_one(&mut *tx)
                    .await?
                }
            };
            tx.commit().await?;
            id
        });
        Ok(OrgId(id))
    }

    /// Creates another organization (multi-tenant installs and tests of isolation).
    pub async fn create_org(&self, name: &str, now: OffsetDateTime) -> StoreResult<OrgId> {
        let id: i64 = with_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO organizations (name, created_at) VALUES ($1, $2) RETURNING id",
            )
            .bind(name)
            .bind(millis(now))
            .fetch_one(pool)
            .await?
        });
        Ok(OrgId(id))
    }

    pub async fn org_name(&self, org: OrgId) -> StoreResult<String> {
        let name: Option<String> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT name FROM organizations WHERE id = $1")
                .bind(org.0)
                .fetch_optional(pool)
                .await?
        });
        name.ok_or_else(|| crate::StoreError::NotFound {
            what: format!("organization {}", org.0),
        })
    }
}
