//! Alerts' storage: rules (with a version bumped by every edit), the channels they deliver to
//! (a webhook's signing secret sealed by the vault), and the organization's SMTP settings (the
//! password sealed). The firing history, the armed/fired state and the delivery log are in
//! [`history`].

mod history;

use rust_decimal::Decimal;
use serde::Serialize;
use spendlens_domain::alerts::{RuleKind, RuleSpec, ScopeKind};
use time::OffsetDateTime;

use crate::audit::{Actor, audit_actor, audit_change, lock_org};
use crate::vault::Vault;
use crate::{OrgId, RowExt, Store, StoreError, StoreResult, from_millis, millis, with_pool};

pub use history::{DeliveryRow, FireAlert, FiringRow, NotificationJob};

/// A stored rule.
#[derive(Clone, Debug, Serialize)]
pub struct AlertRuleRow {
    pub id: i64,
    pub name: String,
    pub spec: RuleSpec,
    /// The channels its firings go to (ids of [`AlertChannelRow`]s).
    pub channels: Vec<i64>,
    pub enabled: bool,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A rule to add or the new content of one.
#[derive(Clone, Debug)]
pub struct NewAlertRule {
    pub name: String,
    pub spec: RuleSpec,
    pub channels: Vec<i64>,
    pub enabled: bool,
}

/// A stored channel; its secret is never read back here (see [`Store::alert_channel_secret`]).
#[derive(Clone, Debug, Serialize)]
pub struct AlertChannelRow {
    pub id: i64,
    pub name: String,
    /// `webhook` (generic JSON, signed), `slack` (Slack-compatible JSON) or `email`.
    pub kind: String,
    /// The URL, or the email addresses (comma-separated).
    pub target: String,
    pub has_secret: bool,
    pub enabled: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A channel to add: `kind` is `webhook`, `slack` or `email`; `target` the URL or addresses;
/// `secret` the webhook's signing secret (sealed at rest).
#[derive(Clone, Copy, Debug)]
pub struct NewAlertChannel<'a> {
    pub name: &'a str,
    pub kind: &'a str,
    pub target: &'a str,
    pub secret: Option<&'a str>,
}

/// The organization's SMTP server (the password is never read back here).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    /// `none`, `starttls` or `tls`.
    pub security: String,
    pub username: Option<String>,
    pub from_address: String,
    pub password_set: bool,
}

/// What to do with a stored password on save.
#[derive(Clone, Debug)]
pub enum PasswordChange {
    Keep,
    Clear,
    Set(String),
}

impl PasswordChange {
    /// `password kept`, `password cleared` or `password set`, as pages and the log say it.
    pub fn describe(&self) -> &'static str {
        match self {
            PasswordChange::Keep => "password kept",
            PasswordChange::Clear => "password cleared",
            PasswordChange::Set(_) => "password set",
        }
    }
}

const RULE_COLUMNS: &str = "id, name, kind, source, scope_kind, scope_value, period, window_hours, \
     threshold, min_calls, channels, enabled, version, created_at, updated_at";

fn channel_context(id: i64) -> String {
    format!("alert_channels/{id}/secret")
}

fn smtp_context(org: OrgId) -> String {
    format!("alert_smtp/{}/password", org.0)
}

fn corrupt(what: &str, err: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("alert rule {what}: {err}"))
}

fn rule_from_row<R: RowExt>(row: &R) -> StoreResult<AlertRuleRow> {
    let kind: RuleKind = row.text("kind")?.parse().map_err(|e| corrupt("kind", e))?;
    let scope: ScopeKind = row
        .text("scope_kind")?
        .parse()
        .map_err(|e| corrupt("scope", e))?;
    let period = row
        .opt_text("period")?
        .map(|p| p.parse())
        .transpose()
        .map_err(|e| corrupt("period", e))?;
    let threshold: Decimal = row
        .text("threshold")?
        .parse()
        .map_err(|e| corrupt("threshold", e))?;
    let channels = row
        .text("channels")?
        .split(',')
        .filter(|c| !c.is_empty())
        .map(|c| c.parse::<i64>().map_err(|e| corrupt("channels", e)))
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(AlertRuleRow {
        id: row.int("id")?,
        name: row.text("name")?,
        spec: RuleSpec {
            kind,
            source: row
                .text("source")?
                .parse()
                .map_err(|e| corrupt("source", e))?,
            scope,
            scope_value: row.opt_text("scope_value")?,
            period,
            window_hours: row.opt_int("window_hours")?,
            threshold,
            min_calls: row.int("min_calls")?,
        },
        channels,
        enabled: row.flag("enabled")?,
        version: row.int("version")?,
        created_at: from_millis(row.int("created_at")?),
        updated_at: from_millis(row.int("updated_at")?),
    })
}

fn channel_from_row<R: RowExt>(row: &R) -> StoreResult<AlertChannelRow> {
    Ok(AlertChannelRow {
        id: row.int("id")?,
        name: row.text("name")?,
        kind: row.text("kind")?,
        target: row.text("target")?,
        has_secret: row.flag("has_secret")?,
        enabled: row.flag("enabled")?,
        created_at: from_millis(row.int("created_at")?),
    })
}

fn name_taken(err: sqlx::Error, what: &str, name: &str) -> StoreError {
    match err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(format!(
            "an alert {what} named \"{name}\" already exists; choose another name"
        )),
        other => other.into(),
    }
}

fn channel_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

impl Store {
    /// Checks that every channel id belongs to the organization.
    async fn check_channels(&self, org: OrgId, ids: &[i64]) -> StoreResult<()> {
        let known: Vec<i64> = self
            .list_alert_channels(org)
            .await?
            .iter()
            .map(|c| c.id)
            .collect();
        if let Some(missing) = ids.iter().find(|id| !known.contains(id)) {
            return Err(StoreError::Invalid(format!(
                "there is no alert channel {missing}; list them with GET /api/v1/alerts/channels"
            )));
        }
        Ok(())
    }

    /// Adds a rule, audited as `actor`'s (`alert_rule.add`, `alert rule <id>`, the rule as
    /// `describe` words it) in the same transaction.
    pub async fn create_alert_rule(
        &self,
        org: OrgId,
        new: &NewAlertRule,
        actor: Actor<'_>,
        describe: impl FnOnce(&AlertRuleRow) -> String,
    ) -> StoreResult<AlertRuleRow> {
        self.check_channels(org, &new.channels).await?;
        let s = &new.spec;
        let sql = format!("SELECT {RULE_COLUMNS} FROM alert_rules WHERE org_id = $1 AND id = $2");
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            lock_org!(tx, org);
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO alert_rules (org_id, name, kind, source, scope_kind, scope_value, period, \
                 window_hours, threshold, min_calls, channels, enabled, version, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1, $13, $13) RETURNING id",
            )
            .bind(org.0)
            .bind(&new.name)
            .bind(s.kind.as_str())
            .bind(s.source.as_str())
            .bind(s.scope.as_str())
            .bind(s.scope_value.as_deref())
            .bind(s.period.map(|p| p.as_str()))
            .bind(s.window_hours)
            .bind(s.threshold.normalize().to_string())
            .bind(s.min_calls)
            .bind(channel_list(&new.channels))
            .bind(new.enabled)
            .bind(millis(actor.at))
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| name_taken(e, "rule", &new.name))?;
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(org.0)
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            let added = rule_from_row(&row)?;
            let (subject, detail) = (format!("alert rule {id}"), describe(&added));
            audit_actor!(tx, org, actor, "alert_rule.add", &subject, &detail);
            tx.commit().await?;
            Ok(added)
        })
    }

    pub async fn list_alert_rules(&self, org: OrgId) -> StoreResult<Vec<AlertRuleRow>> {
        let sql = format!("SELECT {RULE_COLUMNS} FROM alert_rules WHERE org_id = $1 ORDER BY name");
        with_pool!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(org.0).fetch_all(pool).await?;
            rows.iter().map(rule_from_row).collect()
        })
    }

    pub async fn get_alert_rule(&self, org: OrgId, id: i64) -> StoreResult<AlertRuleRow> {
        let sql = format!("SELECT {RULE_COLUMNS} FROM alert_rules WHERE org_id = $1 AND id = $2");
        with_pool!(self, pool => {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(org.0)
                .bind(id)
                .fetch_optional(pool)
                .await?
                .ok_or_else(|| StoreError::NotFound { what: format!("alert rule {id}") })?;
            rule_from_row(&row)
        })
    }

    /// Replaces a rule's definition, bumping its version; its armed/fired state is cleared (an
    /// edited rule starts armed). Returns the rule before and after. Audited as `actor`'s
    /// (`alert_rule.edit`, `alert rule <id>`, `was …; now … (version <n>)` as `describe` words
    /// the two) in the same transaction.
    pub async fn update_alert_rule(
        &self,
        org: OrgId,
        id: i64,
        new: &NewAlertRule,
        actor: Actor<'_>,
        describe: impl Fn(&AlertRuleRow) -> String,
    ) -> StoreResult<(AlertRuleRow, AlertRuleRow)> {
        let before = self.get_alert_rule(org, id).await?;
        self.check_channels(org, &new.channels).await?;
        let s = &new.spec;
        let sql = format!("SELECT {RULE_COLUMNS} FROM alert_rules WHERE org_id = $1 AND id = $2");
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            lock_org!(tx, org);
            let changed = sqlx::query(
                "UPDATE alert_rules SET name = $3, kind = $4, source = $5, scope_kind = $6, scope_value = $7, \
                 period = $8, window_hours = $9, threshold = $10, min_calls = $11, channels = $12, enabled = $13, \
                 version = version + 1, updated_at = $14 WHERE org_id = $1 AND id = $2",
            )
            .bind(org.0)
            .bind(id)
            .bind(&new.name)
            .bind(s.kind.as_str())
            .bind(s.source.as_str())
            .bind(s.scope.as_str())
            .bind(s.scope_value.as_deref())
            .bind(s.period.map(|p| p.as_str()))
            .bind(s.window_hours)
            .bind(s.threshold.normalize().to_string())
            .bind(s.min_calls)
            .bind(channel_list(&new.channels))
            .bind(new.enabled)
            .bind(millis(actor.at))
            .execute(&mut *tx)
            .await
            .map_err(|e| name_taken(e, "rule", &new.name))?
            .rows_affected();
            if changed == 0 {
                // Deleted since the read: nothing changed, nothing is logged.
                return Err(StoreError::NotFound {
                    what: format!("alert rule {id}"),
                });
            }
            sqlx::query("DELETE FROM alert_rule_state WHERE rule_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(org.0)
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            let after = rule_from_row(&row)?;
            let detail = format!(
                "was {}; now {} (version {})",
                describe(&before),
                describe(&after),
                after.version
            );
            audit_actor!(tx, org, actor, "alert_rule.edit", &format!("alert rule {id}"), &detail);
            tx.commit().await?;
            Ok((before, after))
        })
    }

    /// Deletes a rule; its firings stay in the history (with its name). Audited as `actor`'s
    /// (`alert_rule.delete`, `alert rule <id>`, the rule as `describe` words it) in the same
    /// transaction.
    pub async fn delete_alert_rule(
        &self,
        org: OrgId,
        id: i64,
        actor: Actor<'_>,
        describe: impl FnOnce(&AlertRuleRow) -> String,
    ) -> StoreResult<AlertRuleRow> {
        let rule = self.get_alert_rule(org, id).await?;
        let (subject, detail) = (format!("alert rule {id}"), describe(&rule));
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            audit_change!(tx, org, actor, "alert_rule.delete", &subject, &detail);
            sqlx::query("DELETE FROM alert_rules WHERE org_id = $1 AND id = $2")
                .bind(org.0)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(rule)
    }

    /// The organizations with at least one enabled rule.
    pub async fn orgs_with_alert_rules(&self) -> StoreResult<Vec<OrgId>> {
        let ids: Vec<i64> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT DISTINCT org_id FROM alert_rules WHERE enabled ORDER BY org_id")
                .fetch_all(pool)
                .await?
        });
        Ok(ids.into_iter().map(OrgId).collect())
    }

    /// Adds a channel, its secret (if any) sealed with `vault`. Audited as `actor`'s
    /// (`alert_channel.add`, `alert channel <id>`, `<name> <kind> <target as shown>`, the target
    /// as `show_target` gives it) in the same transaction.
    pub async fn create_alert_channel(
        &self,
        org: OrgId,
        new: &NewAlertChannel<'_>,
        vault: &Vault,
        actor: Actor<'_>,
        show_target: impl FnOnce(&AlertChannelRow) -> String,
    ) -> StoreResult<AlertChannelRow> {
        let NewAlertChannel {
            name,
            kind,
            target,
            secret,
        } = *new;
        let id = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            lock_org!(tx, org);
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO alert_channels (org_id, name, kind, target, enabled, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, TRUE, $5, $5) RETURNING id",
            )
            .bind(org.0)
            .bind(name)
            .bind(kind)
            .bind(target)
            .bind(millis(actor.at))
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| name_taken(e, "channel", name))?;
            if let Some(secret) = secret {
                let sealed = vault.seal(secret.as_bytes(), &channel_context(id))?;
                sqlx::query("UPDATE alert_channels SET secret = $1 WHERE id = $2")
                    .bind(sealed)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            let row = sqlx::query(
                "SELECT id, name, kind, target, secret IS NOT NULL AS has_secret, enabled, created_at \
                 FROM alert_channels WHERE id = $1",
            )
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
            let added = channel_from_row(&row)?;
            let subject = format!("alert channel {id}");
            let detail = format!("{} {} {}", added.name, added.kind, show_target(&added));
            audit_actor!(tx, org, actor, "alert_channel.add", &subject, &detail);
            tx.commit().await?;
            id
        });
        self.get_alert_channel(org, id).await
    }

    pub async fn list_alert_channels(&self, org: OrgId) -> StoreResult<Vec<AlertChannelRow>> {
        with_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT id, name, kind, target, secret IS NOT NULL AS has_secret, enabled, created_at \
                 FROM alert_channels WHERE org_id = $1 ORDER BY name",
            )
            .bind(org.0)
            .fetch_all(pool)
            .await?;
            rows.iter().map(channel_from_row).collect()
        })
    }

    pub async fn get_alert_channel(&self, org: OrgId, id: i64) -> StoreResult<AlertChannelRow> {
        self.list_alert_channels(org)
            .await?
            .into_iter()
            .find(|c| c.id == id)
            .ok_or_else(|| StoreError::NotFound {
                what: format!("alert channel {id}"),
            })
    }

    /// A channel's signing secret, opened.
    pub async fn alert_channel_secret(
        &self,
        org: OrgId,
        id: i64,
        vault: &Vault,
    ) -> StoreResult<Option<String>> {
        let sealed: Option<Option<Vec<u8>>> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT secret FROM alert_channels WHERE org_id = $1 AND id = $2")
                .bind(org.0)
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        let Some(Some(sealed)) = sealed else {
            return Ok(None);
        };
        let plain = vault.open(&sealed, &channel_context(id))?;
        String::from_utf8(plain)
            .map(Some)
            .map_err(|_| crate::vault::VaultError::Damaged.into())
    }

    /// Deletes a channel; rules that named it stop delivering there, and its log stays.
    /// Deletes a channel and takes it out of every rule, audited as `actor`'s
    /// (`alert_channel.delete`, `alert channel <id>`, its name and kind) in the same transaction.
    pub async fn delete_alert_channel(
        &self,
        org: OrgId,
        id: i64,
        actor: Actor<'_>,
    ) -> StoreResult<AlertChannelRow> {
        let channel = self.get_alert_channel(org, id).await?;
        let rules = self.list_alert_rules(org).await?;
        let (subject, detail) = (
            format!("alert channel {id}"),
            format!("{} {}", channel.name, channel.kind),
        );
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            audit_change!(tx, org, actor, "alert_channel.delete", &subject, &detail);
            for rule in rules.iter().filter(|r| r.channels.contains(&id)) {
                let rest: Vec<i64> = rule.channels.iter().copied().filter(|c| *c != id).collect();
                sqlx::query("UPDATE alert_rules SET channels = $1 WHERE id = $2")
                    .bind(channel_list(&rest))
                    .bind(rule.id)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("DELETE FROM alert_channels WHERE org_id = $1 AND id = $2")
                .bind(org.0)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(channel)
    }

    pub async fn alert_smtp(&self, org: OrgId) -> StoreResult<Option<SmtpSettings>> {
        with_pool!(self, pool => {
            let row = sqlx::query(
                "SELECT host, port, security, username, password IS NOT NULL AS password_set, from_address \
                 FROM alert_smtp WHERE org_id = $1",
            )
            .bind(org.0)
            .fetch_optional(pool)
            .await?;
            row.map(|row| {
                Ok(SmtpSettings {
                    host: row.text("host")?,
                    port: u16::try_from(row.int("port")?).map_err(|e| corrupt("smtp port", e))?,
                    security: row.text("security")?,
                    username: row.opt_text("username")?,
                    from_address: row.text("from_address")?,
                    password_set: row.flag("password_set")?,
                })
            })
            .transpose()
        })
    }

    /// The SMTP password, opened.
    pub async fn alert_smtp_password(
        &self,
        org: OrgId,
        vault: &Vault,
    ) -> StoreResult<Option<String>> {
        let sealed: Option<Option<Vec<u8>>> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT password FROM alert_smtp WHERE org_id = $1")
                .bind(org.0)
                .fetch_optional(pool)
                .await?
        });
        let Some(Some(sealed)) = sealed else {
            return Ok(None);
        };
        let plain = vault.open(&sealed, &smtp_context(org))?;
        String::from_utf8(plain)
            .map(Some)
            .map_err(|_| crate::vault::VaultError::Damaged.into())
    }

    /// Saves the SMTP settings (the password per `password`), audited as `actor`'s
    /// (`alert_smtp.set`, `SMTP settings`, `<host>:<port> <security> user <user> from <from>
    /// (password kept|cleared|set)`) in the same transaction.
    pub async fn put_alert_smtp(
        &self,
        org: OrgId,
        settings: &SmtpSettings,
        password: PasswordChange,
        vault: &Vault,
        actor: Actor<'_>,
    ) -> StoreResult<SmtpSettings> {
        let sealed = match &password {
            PasswordChange::Set(p) => Some(vault.seal(p.as_bytes(), &smtp_context(org))?),
            _ => None,
        };
        let detail = format!(
            "{}:{} {} user {} from {} ({})",
            settings.host,
            settings.port,
            settings.security,
            settings.username.as_deref().unwrap_or("-"),
            settings.from_address,
            password.describe()
        );
        let now = actor.at;
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            audit_change!(tx, org, actor, "alert_smtp.set", "SMTP settings", &detail);
            sqlx::query(
                "INSERT INTO alert_smtp (org_id, host, port, security, username, from_address, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (org_id) DO UPDATE SET host = excluded.host, \
                 port = excluded.port, security = excluded.security, username = excluded.username, \
                 from_address = excluded.from_address, updated_at = excluded.updated_at",
            )
            .bind(org.0)
            .bind(&settings.host)
            .bind(i64::from(settings.port))
            .bind(&settings.security)
            .bind(settings.username.as_deref())
            .bind(&settings.from_address)
            .bind(millis(now))
            .execute(&mut *tx)
            .await?;
            match password {
                PasswordChange::Keep => {}
                PasswordChange::Clear | PasswordChange::Set(_) => {
                    sqlx::query("UPDATE alert_smtp SET password = $1 WHERE org_id = $2")
                        .bind(sealed)
                        .bind(org.0)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await?;
        });
        self.alert_smtp(org)
            .await?
            .ok_or_else(|| StoreError::Corrupt("the SMTP settings just saved are gone".into()))
    }
}
