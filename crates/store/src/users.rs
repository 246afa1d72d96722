//! Dashboard users (argon2 hashes, made by the caller), their roles, and login sessions. A
//! session is stored as the SHA-256 of its cookie, with its CSRF token and expiry.

use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::audit::{Actor, audit_actor, lock_org};
use crate::{OrgId, RowExt, Store, StoreError, StoreResult, from_millis, millis, with_pool};
pub use spendlens_domain::Role;

#[derive(Clone, Debug, Serialize)]
pub struct UserRow {
    pub id: i64,
    pub org_id: OrgId,
    pub email: String,
    pub role: Role,
    /// The one customer a tenant is bound to (the metered `customer` value); `None` for
    /// admins and viewers.
    pub customer: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_login_at: Option<OffsetDateTime>,
    /// Set while the user may not sign in (their sessions were ended when it was set).
    #[serde(with = "time::serde::rfc3339::option")]
    pub disabled_at: Option<OffsetDateTime>,
}

/// A live session: who, in which organization, with which CSRF token.
#[derive(Clone, Debug)]
pub struct SessionRow {
    pub user: UserRow,
    pub csrf_token: String,
    pub expires_at: OffsetDateTime,
}

/// A session just created: the cookie value exists only here and in the browser.
#[derive(Debug)]
pub struct NewSession {
    pub token: String,
    pub csrf_token: String,
    pub expires_at: OffsetDateTime,
}

fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    hex::encode(buffer)
}

pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// An email address as users type it: trimmed, lower-cased, one `@` with text on both sides.
pub fn normalize_email(email: &str) -> StoreResult<String> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split('@').count() == 2
        && email.split('@').all(|part| !part.is_empty())
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(email)
    } else {
        Err(StoreError::Invalid(format!(
            "\"{email}\" is not an email address"
        )))
    }
}

pub(crate) const USER_COLUMNS: &str =
    "id, org_id, email, role, customer, created_at, last_login_at, disabled_at";

pub(crate) fn user_from_row(row: &impl RowExt) -> StoreResult<UserRow> {
    Ok(UserRow {
        id: row.int("id")?,
        org_id: OrgId(row.int("org_id")?),
        email: row.text("email")?,
        role: row.text("role")?.parse()?,
        customer: row.opt_text("customer")?,
        created_at: from_millis(row.int("created_at")?),
        last_login_at: row.opt_int("last_login_at")?.map(from_millis),
        disabled_at: row.opt_int("disabled_at")?.map(from_millis),
    })
}

/// Whose entry a new user's row is written with.
enum NewUserAudit<'a> {
    /// Added by someone.
    By(Actor<'a>),
    /// The first admin, at the first-run setup: their own entry.
    FirstAdmin,
}

impl Store {
    /// Users across every organization (zero means the first-run setup is due).
    pub async fn count_users(&self) -> StoreResult<i64> {
        let count: i64 = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(pool).await?
        });
        Ok(count)
    }

    /// Adds an admin or viewer with an already computed password hash, not audited (tests,
    /// benches; a user someone adds goes through [`Store::create_user_bound`], the first
    /// admin through [`Store::create_first_admin`]).
    pub async fn create_user(
        &self,
        org: OrgId,
        email: &str,
        password_hash: &str,
        role: Role,
        now: OffsetDateTime,
    ) -> StoreResult<UserRow> {
        self.insert_user(org, email, password_hash, role, None, now, None)
            .await
    }

    /// Adds a user with an already computed password hash; a tenant is bound to `customer`
    /// (required for a tenant, refused for anyone else). Audited as `actor`'s (`user.create`,
    /// the email, `role=<role>[ customer=<customer>]`) in the same transaction.
    pub async fn create_user_bound(
        &self,
        org: OrgId,
        email: &str,
        password_hash: &str,
        role: Role,
        customer: Option<&str>,
        actor: Actor<'_>,
    ) -> StoreResult<UserRow> {
        self.insert_user(
            org,
            email,
            password_hash,
            role,
            customer,
            actor.at,
            Some(NewUserAudit::By(actor)),
        )
        .await
    }

    /// Adds the first admin at the first-run setup, audited as theirs (`user.create`,
    /// `role=admin (first-run setup)`) in the same transaction; refused (a conflict) once any
    /// user exists, checked under the organization's lock.
    pub async fn create_first_admin(
        &self,
        org: OrgId,
        email: &str,
        password_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<UserRow> {
        self.insert_user(
            org,
            email,
            password_hash,
            Role::Admin,
            None,
            now,
            Some(NewUserAudit::FirstAdmin),
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn insert_user(
        &self,
        org: OrgId,
        email: &str,
        password_hash: &str,
        role: Role,
        customer: Option<&str>,
        now: OffsetDateTime,
        audit: Option<NewUserAudit<'_>>,
    ) -> StoreResult<UserRow> {
        let email = normalize_email(email)?;
        let customer = spendlens_domain::tenant::binding(role, customer)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let id: i64 = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            if audit.is_some() {
                lock_org!(tx, org);
            }
            if matches!(audit, Some(NewUserAudit::FirstAdmin)) {
                // Checked again under the lock: two setups submitted at once make one admin.
                let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
                    .fetch_one(&mut *tx)
                    .await?;
                if users > 0 {
                    return Err(StoreError::Conflict(
                        "setup is done: an admin exists already; sign in instead".to_owned(),
                    ));
                }
            }
            let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
                .bind(&email)
                .fetch_optional(&mut *tx)
                .await?;
            if taken.is_some() {
                return Err(StoreError::Conflict(format!(
                    "a user with the email {email} already exists"
                )));
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO users (org_id, email, password_hash, role, customer, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(org.0)
            .bind(&email)
            .bind(password_hash)
            .bind(role.as_str())
            .bind(customer.as_deref())
            .bind(millis(now))
            .fetch_one(&mut *tx)
            .await?;
            match audit {
                Some(NewUserAudit::By(actor)) => {
                    let detail = match &customer {
                        Some(customer) => format!("role={role} customer={customer}"),
                        None => format!("role={role}"),
                    };
                    audit_actor!(tx, org, actor, "user.create", &email, &detail);
                }
                Some(NewUserAudit::FirstAdmin) => {
                    let actor = Actor { name: &email, at: now };
                    let detail = "role=admin (first-run setup)";
                    audit_actor!(tx, org, actor, "user.create", &email, detail);
                }
                None => {}
            }
            tx.commit().await?;
            id
        });
        self.get_user(org, id).await
    }

    pub async fn get_user(&self, org: OrgId, id: i64) -> StoreResult<UserRow> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE org_id = $1 AND id = $2");
        let row = with_pool!(self, pool => {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(org.0).bind(id).fetch_optional(pool).await?;
            row.as_ref().map(user_from_row).transpose()?
        });
        row.ok_or_else(|| StoreError::NotFound {
            what: format!("user {id}"),
        })
    }

    /// The user with this email and their password hash, for a login attempt.
    pub async fn user_for_login(&self, email: &str) -> StoreResult<Option<(UserRow, String)>> {
        let Ok(email) = normalize_email(email) else {
            return Ok(None);
        };
        let sql = format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = $1");
        with_pool!(self, pool => {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&email).fetch_optional(pool).await?;
            match row {
                Some(row) => Ok(Some((user_from_row(&row)?, row.text("password_hash")?))),
                None => Ok(None),
            }
        })
    }

    pub async fn list_users(&self, org: OrgId) -> StoreResult<Vec<UserRow>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE org_id = $1 ORDER BY email");
        with_pool!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(org.0).fetch_all(pool).await?;
            rows.iter().map(user_from_row).collect()
        })
    }

    /// Starts a session for a user who just proved who they are.
    pub async fn create_session(
        &self,
        user: &UserRow,
        now: OffsetDateTime,
        lifetime: time::Duration,
    ) -> StoreResult<NewSession> {
        let token = random_hex(32);
        let csrf_token = random_hex(32);
        let expires_at = now + lifetime;
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO sessions (token_hash, user_id, org_id, csrf_token, created_at, expires_at, last_seen_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $5)",
            )
            .bind(token_hash(&token))
            .bind(user.id)
            .bind(user.org_id.0)
            .bind(&csrf_token)
            .bind(millis(now))
            .bind(millis(expires_at))
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE users SET last_login_at = $1 WHERE id = $2")
                .bind(millis(now))
                .bind(user.id)
                .execute(&mut *tx)
                .await?;
            // Expired sessions of everyone go when anyone logs in.
            sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
                .bind(millis(now))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(NewSession {
            token,
            csrf_token,
            expires_at,
        })
    }

    /// The live session a cookie names, if any: not expired, used within `idle`, its user not
    /// disabled. Using it moves its last-seen time (at most once a minute).
    pub async fn session(
        &self,
        token: &str,
        now: OffsetDateTime,
        idle: time::Duration,
    ) -> StoreResult<Option<SessionRow>> {
        if token.is_empty() || token.len() > 128 {
            return Ok(None);
        }
        let hash = token_hash(token);
        let now_ms = millis(now);
        let sql = "SELECT u.id, u.org_id, u.email, u.role, u.customer, u.created_at, u.last_login_at, u.disabled_at, \
                   s.csrf_token, s.expires_at, s.last_seen_at \
                   FROM sessions s JOIN users u ON u.id = s.user_id \
                   WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3 AND u.disabled_at IS NULL";
        let found = with_pool!(self, pool => {
            let row = sqlx::query(sql)
                .bind(&hash)
                .bind(now_ms)
                .bind(millis(now - idle))
                .fetch_optional(pool)
                .await?;
            match row {
                Some(row) => Some((
                    SessionRow {
                        user: user_from_row(&row)?,
                        csrf_token: row.text("csrf_token")?,
                        expires_at: from_millis(row.int("expires_at")?),
                    },
                    row.int("last_seen_at")?,
                )),
                None => None,
            }
        });
        let Some((session, last_seen)) = found else {
            return Ok(None);
        };
        if now_ms - last_seen >= 60_000 {
            with_pool!(self, pool => {
                sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
                    .bind(now_ms)
                    .bind(&hash)
                    .execute(pool)
                    .await?;
            });
        }
        Ok(Some(session))
    }

    pub async fn delete_session(&self, token: &str) -> StoreResult<()> {
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                .bind(token_hash(token))
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}
