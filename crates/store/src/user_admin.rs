//! Managing people: disable, enable and remove users and change their role and a tenant's
//! customer (never the last active admin's role), set passwords, and list and end sessions. Disabling or removing a user ends their sessions in the same transaction.

use serde::Serialize;
use time::OffsetDateTime;

use crate::audit::{Actor, audit_actor, audit_change, lock_org};
use crate::users::{USER_COLUMNS, user_from_row};
use crate::{
    OrgId, RowExt, Store, StoreError, StoreResult, UserRow, from_millis, millis, with_pool,
};
use spendlens_domain::Role;

/// One signed-in browser of a user.
#[derive(Clone, Debug, Serialize)]
pub struct SessionInfo {
    /// The SHA-256 of the session cookie (the cookie itself is never stored): enough to name
    /// the session, useless to take it over.
    pub id: String,
    pub user_id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// `viewer`, `admin`, or `tenant of acme`: a user's access as pages and the log word it.
pub fn access_text(role: Role, customer: Option<&str>) -> String {
    match (role, customer) {
        (Role::Tenant, Some(customer)) => format!("tenant of {customer}"),
        (role, _) => role.to_string(),
    }
}

/// In a transaction `$tx` holding the organization's lock: refuses (a `Conflict`, which rolls
/// the transaction back) to `$doing` the user `$user` when they are the last active admin, so
/// two admins changing each other at once cannot leave none.
macro_rules! last_admin_check {
    ($tx:expr, $org:expr, $user:expr, $doing:expr) => {{
        if $user.role == Role::Admin && $user.disabled_at.is_none() {
            let admins: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM users WHERE org_id = $1 AND role = $2 AND disabled_at IS NULL",
            )
            .bind($org.0)
            .bind(Role::Admin.as_str())
            .fetch_one(&mut *$tx)
            .await?;
            if admins <= 1 {
                return Err(StoreError::Conflict(format!(
                    "{} is the last active admin; add another admin before you {} this one",
                    $user.email, $doing
                )));
            }
        }
    }};
}

impl Store {
    /// The user with this email in the organization.
    pub async fn user_by_email(&self, org: OrgId, email: &str) -> StoreResult<UserRow> {
        let email = crate::normalize_email(email)?;
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE org_id = $1 AND email = $2");
        let row = with_pool!(self, pool => {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(org.0).bind(&email).fetch_optional(pool).await?;
            row.as_ref().map(user_from_row).transpose()?
        });
        row.ok_or_else(|| StoreError::NotFound {
            what: format!("user {email}"),
        })
    }

    /// Disables (and signs out everywhere) or re-enables a user, audited as `actor`'s
    /// (`user.disable` or `user.enable`, the email) in the same transaction. The last active
    /// admin cannot be disabled (checked again under the organization's lock).
    pub async fn set_user_disabled(
        &self,
        org: OrgId,
        id: i64,
        disabled: bool,
        actor: Actor<'_>,
    ) -> StoreResult<UserRow> {
        let user = self.get_user(org, id).await?;
        if disabled {
            self.refuse_last_admin(org, &user, "disable").await?;
        }
        let action = if disabled {
            "user.disable"
        } else {
            "user.enable"
        };
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            audit_change!(tx, org, actor, action, &user.email, "");
            if disabled {
                last_admin_check!(tx, org, user, "disable");
            }
            sqlx::query("UPDATE users SET disabled_at = $1 WHERE org_id = $2 AND id = $3")
                .bind(disabled.then(|| millis(actor.at)))
                .bind(org.0)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            if disabled {
                sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        self.get_user(org, id).await
    }

    /// Removes a user and their sessions (the audit log keeps their email on what they did),
    /// audited as `actor`'s (`user.remove`) in the same transaction. The last active admin is
    /// refused, checked under the organization's lock so two admins removing each other at
    /// once cannot leave none.
    pub async fn remove_user(&self, org: OrgId, id: i64, actor: Actor<'_>) -> StoreResult<UserRow> {
        let user = self.get_user(org, id).await?;
        self.refuse_last_admin(org, &user, "remove").await?;
        let detail = format!("role={}", user.role);
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            audit_change!(tx, org, actor, "user.remove", &user.email, &detail);
            last_admin_check!(tx, org, user, "remove");
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM users WHERE org_id = $1 AND id = $2")
                .bind(org.0)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(user)
    }

    async fn refuse_last_admin(&self, org: OrgId, user: &UserRow, doing: &str) -> StoreResult<()> {
        if user.role != Role::Admin || user.disabled_at.is_some() {
            return Ok(());
        }
        let admins: i64 = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM users WHERE org_id = $1 AND role = $2 AND disabled_at IS NULL",
            )
            .bind(org.0)
            .bind(Role::Admin.as_str())
            .fetch_one(pool)
            .await?
        });
        if admins <= 1 {
            return Err(StoreError::Conflict(format!(
                "{} is the last active admin; add another admin before you {doing} this one",
                user.email
            )));
        }
        Ok(())
    }

    /// A user's live sessions, newest first.
    pub async fn list_sessions(
        &self,
        org: OrgId,
        user_id: i64,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<SessionInfo>> {
        with_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT token_hash, user_id, created_at, last_seen_at, expires_at FROM sessions \
                 WHERE org_id = $1 AND user_id = $2 AND expires_at > $3 ORDER BY last_seen_at DESC",
            )
            .bind(org.0)
            .bind(user_id)
            .bind(millis(now))
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(SessionInfo {
                        id: row.text("token_hash")?,
                        user_id: row.int("user_id")?,
                        created_at: from_millis(row.int("created_at")?),
                        last_seen_at: from_millis(row.int("last_seen_at")?),
                        expires_at: from_millis(row.int("expires_at")?),
                    })
                })
                .collect()
        })
    }

    /// Ends one session of a user (`Some(id)`), or all of them (`None`). Returns how many
    /// ended. Audited as `actor`'s (`session.revoke`, the email, `<n> ended (one session|all
    /// sessions)`) in the same transaction, even when none ended.
    pub async fn revoke_sessions(
        &self,
        org: OrgId,
        user_id: i64,
        session: Option<&str>,
        actor: Actor<'_>,
    ) -> StoreResult<u64> {
        let user = self.get_user(org, user_id).await?;
        let ended = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            lock_org!(tx, org);
            let ended = match session {
                Some(id) => sqlx::query(
                    "DELETE FROM sessions WHERE org_id = $1 AND user_id = $2 AND token_hash = $3",
                )
                .bind(org.0)
                .bind(user_id)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected(),
                None => sqlx::query("DELETE FROM sessions WHERE org_id = $1 AND user_id = $2")
                    .bind(org.0)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected(),
            };
            let detail = format!(
                "{ended} ended ({})",
                if session.is_some() {
                    "one session"
                } else {
                    "all sessions"
                }
            );
            audit_actor!(tx, org, actor, "session.revoke", &user.email, &detail);
            tx.commit().await?;
            ended
        });
        Ok(ended)
    }

    /// Changes an admin's or viewer's role (see [`Store::set_user_access`]).
    pub async fn set_user_role(
        &self,
        org: OrgId,
        id: i64,
        role: Role,
        actor: Actor<'_>,
    ) -> StoreResult<UserRow> {
        self.set_user_access(org, id, role, None, actor).await
    }

    /// Changes a user's role and the customer a tenant is bound to (required for a tenant,
    /// refused for anyone else). The last active admin cannot lose the role (checked again
    /// under the organization's lock). Audited as `actor`'s in the same transaction: a change
    /// of role as `user.role` (`viewer -> tenant of acme`), a change of customer as
    /// `user.customer` (`customer (none) -> acme`); nothing when neither changes.
    pub async fn set_user_access(
        &self,
        org: OrgId,
        id: i64,
        role: Role,
        customer: Option<&str>,
        actor: Actor<'_>,
    ) -> StoreResult<UserRow> {
        let customer = spendlens_domain::tenant::binding(role, customer)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let user = self.get_user(org, id).await?;
        if role != Role::Admin {
            self.refuse_last_admin(org, &user, "change the role of")
                .await?;
        }
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE org_id = $1 AND id = $2");
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            lock_org!(tx, org);
            // Read again under the lock: the entries say what this change replaced.
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(org.0)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(before) = row.as_ref().map(user_from_row).transpose()? else {
                return Err(StoreError::NotFound {
                    what: format!("user {id}"),
                });
            };
            if role != Role::Admin {
                last_admin_check!(tx, org, before, "change the role of");
            }
            sqlx::query("UPDATE users SET role = $1, customer = $2 WHERE org_id = $3 AND id = $4")
                .bind(role.as_str())
                .bind(customer.as_deref())
                .bind(org.0)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            if before.role != role {
                let detail = format!(
                    "{} -> {}",
                    access_text(before.role, before.customer.as_deref()),
                    access_text(role, customer.as_deref())
                );
                audit_actor!(tx, org, actor, "user.role", &before.email, &detail);
            }
            if before.customer != customer {
                let shown = |c: Option<&str>| c.unwrap_or("(none)").to_owned();
                let detail = format!(
                    "customer {} -> {}",
                    shown(before.customer.as_deref()),
                    shown(customer.as_deref())
                );
                audit_actor!(tx, org, actor, "user.customer", &before.email, &detail);
            }
            tx.commit().await?;
        });
        self.get_user(org, id).await
    }

    /// Replaces a user's password hash and ends their sessions in the same transaction, all
    /// but `keep` (a session id, [`SessionInfo::id`]: the browser of a user changing their own).
    /// Returns how many sessions ended. Audited as `actor`'s (`user.password`, the email,
    /// `detail` of the number ended) in the same transaction.
    pub async fn set_user_password(
        &self,
        org: OrgId,
        id: i64,
        password_hash: &str,
        keep: Option<&str>,
        actor: Actor<'_>,
        detail: impl FnOnce(u64) -> String,
    ) -> StoreResult<u64> {
        let user = self.get_user(org, id).await?;
        let ended = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            lock_org!(tx, org);
            let changed = sqlx::query("UPDATE users SET password_hash = $1 WHERE org_id = $2 AND id = $3")
                .bind(password_hash)
                .bind(org.0)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if changed == 0 {
                // Removed since the read: nothing changed, nothing is logged.
                return Err(StoreError::NotFound {
                    what: format!("user {id}"),
                });
            }
            let ended = sqlx::query(
                "DELETE FROM sessions WHERE org_id = $1 AND user_id = $2 AND token_hash <> $3",
            )
            .bind(org.0)
            .bind(id)
            .bind(keep.unwrap_or(""))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let detail = detail(ended);
            audit_actor!(tx, org, actor, "user.password", &user.email, &detail);
            tx.commit().await?;
            ended
        });
        Ok(ended)
    }

    /// A user's password hash, to check the current password before a change.
    pub async fn user_password_hash(&self, org: OrgId, id: i64) -> StoreResult<String> {
        let hash: Option<String> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT password_hash FROM users WHERE org_id = $1 AND id = $2")
                .bind(org.0)
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        hash.ok_or_else(|| StoreError::NotFound {
            what: format!("user {id}"),
        })
    }

    /// The session id ([`SessionInfo::id`]) of a cookie, to mark "this browser" in a list.
    pub fn session_id_of(cookie: &str) -> String {
        crate::users::token_hash(cookie)
    }
}
