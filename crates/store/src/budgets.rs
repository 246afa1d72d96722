//! Budget caps (migration 0018): the caps of an organization, each edit bumping its version
//! with the replaced definition kept in `budget_cap_versions`, and every change audited in the
//! same transaction. Creates and edits take the organization's row lock first and check the
//! tenant ceiling (`domain::budget::eval`) against the caps read under it, so two concurrent
//! edits cannot together put a tenant cap above its platform cap.

use serde::Serialize;
use spendlens_domain::Money;
use spendlens_domain::budget::eval::{ExistingCap, check_ceiling, tenants_above};
use spendlens_domain::budget::{BudgetError, CapScope, CapSpec};
use time::OffsetDateTime;

use crate::audit::audit_in_tx;
use crate::{OrgId, RowExt, Store, StoreError, StoreResult, from_millis, millis, with_pool};

/// The overlapping caps among `caps` worth a warning (duplicates and caps that can never deny
/// alone; see `domain::budget::overlap`).
pub fn overlaps_of(caps: &[BudgetCapRow]) -> Vec<spendlens_domain::budget::overlap::Overlap> {
    let existing: Vec<ExistingCap<'_>> = caps
        .iter()
        .map(|c| ExistingCap {
            id: c.id,
            spec: &c.spec,
        })
        .collect();
    spendlens_domain::budget::overlap::overlaps(&existing)
}

/// A stored cap.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BudgetCapRow {
    pub id: i64,
    #[serde(flatten)]
    pub spec: CapSpec,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub updated_by: String,
}

/// One version of a cap: what it was from `changed_at` on (for `deleted`, what was removed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BudgetCapVersion {
    pub cap_id: i64,
    pub version: i64,
    /// `created`, `edited` or `deleted`.
    pub change: String,
    #[serde(flatten)]
    pub spec: CapSpec,
    #[serde(with = "time::serde::rfc3339")]
    pub changed_at: OffsetDateTime,
    pub changed_by: String,
}

const CAP_COLUMNS: &str = "id, name, provider, workspace, api_key, customer, model, period, \
     limit_nanos, soft_pct, enabled, provenance, unpriced, version, created_at, updated_at, updated_by";

const VERSION_COLUMNS: &str = "cap_id, version, change, name, provider, workspace, api_key, \
     customer, model, period, limit_nanos, soft_pct, enabled, provenance, unpriced, changed_at, changed_by";

fn corrupt(err: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("budget cap: {err}"))
}

fn spec_from_row<R: RowExt>(row: &R) -> StoreResult<CapSpec> {
    let soft = row.int("soft_pct")?;
    Ok(CapSpec {
        name: row.text("name")?,
        scope: CapScope {
            provider: row.opt_text("provider")?,
            workspace: row.opt_text("workspace")?,
            api_key: row.opt_text("api_key")?,
            customer: row.opt_text("customer")?,
            model: row.opt_text("model")?,
        },
        period: row.text("period")?.parse().map_err(corrupt)?,
        limit: Money::from_nanos(row.int("limit_nanos")?),
        soft_pct: u8::try_from(soft).map_err(corrupt)?,
        enabled: row.flag("enabled")?,
        provenance: row.text("provenance")?.parse().map_err(corrupt)?,
        unpriced: row.text("unpriced")?.parse().map_err(corrupt)?,
    })
}

fn cap_from_row<R: RowExt>(row: &R) -> StoreResult<BudgetCapRow> {
    Ok(BudgetCapRow {
        id: row.int("id")?,
        spec: spec_from_row(row)?,
        version: row.int("version")?,
        created_at: from_millis(row.int("created_at")?),
        updated_at: from_millis(row.int("updated_at")?),
        updated_by: row.text("updated_by")?,
    })
}

fn version_from_row<R: RowExt>(row: &R) -> StoreResult<BudgetCapVersion> {
    Ok(BudgetCapVersion {
        cap_id: row.int("cap_id")?,
        version: row.int("version")?,
        change: row.text("change")?,
        spec: spec_from_row(row)?,
        changed_at: from_millis(row.int("changed_at")?),
        changed_by: row.text("changed_by")?,
    })
}

fn name_taken(err: sqlx::Error, name: &str) -> StoreError {
    match err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(format!(
            "a budget named \"{name}\" already exists; choose another name"
        )),
        other => other.into(),
    }
}

fn refused(err: BudgetError) -> StoreError {
    StoreError::Invalid(err.to_string())
}

/// The ceiling both ways: a tenant cap under its platform cap, and a platform cap not below a
/// tenant cap it governs.
fn check_caps(spec: &CapSpec, caps: &[BudgetCapRow], except: Option<i64>) -> StoreResult<()> {
    spec.validate().map_err(refused)?;
    let existing: Vec<ExistingCap<'_>> = caps
        .iter()
        .map(|c| ExistingCap {
            id: c.id,
            spec: &c.spec,
        })
        .collect();
    check_ceiling(spec, &existing, except).map_err(refused)?;
    let above = tenants_above(spec, &existing, except);
    if let Some(first) = above
        .first()
        .and_then(|id| caps.iter().find(|c| c.id == *id))
    {
        return Err(StoreError::Invalid(format!(
            "the limit {} USD is below the tenant cap \"{}\" (id {}, {} USD) it governs; lower that cap first",
            spec.limit, first.spec.name, first.id, first.spec.limit
        )));
    }
    Ok(())
}

/// Whether a tenant of `owner` may change `cap` (a tenant cap of that customer); anyone
/// when `owner` is `None`.
fn owned_by(cap: &BudgetCapRow, owner: Option<&str>) -> bool {
    match owner {
        None => true,
        Some(customer) => {
            cap.spec.provenance == spendlens_domain::budget::Provenance::Tenant
                && cap.spec.scope.customer.as_deref() == Some(customer)
        }
    }
}

/// How a definition reads in the audit log.
pub fn describe(spec: &CapSpec) -> String {
    format!(
        "{} · {} · {} USD per {} · soft {} % · {} · {} · unpriced {}",
        spec.name,
        spec.scope,
        spec.limit,
        spec.period.noun(),
        spec.soft_pct,
        if spec.enabled { "enabled" } else { "disabled" },
        spec.provenance.as_str(),
        spec.unpriced.as_str()
    )
}

macro_rules! insert_version {
    ($tx:expr, $org:expr, $id:expr, $version:expr, $change:expr, $spec:expr, $actor:expr, $at:expr) => {{
        let s: &CapSpec = $spec;
        sqlx::query(
            "INSERT INTO budget_cap_versions (cap_id, version, org_id, change, name, provider, workspace, \
             api_key, customer, model, period, limit_nanos, soft_pct, enabled, provenance, unpriced, \
             changed_at, changed_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
        )
        .bind($id)
        .bind($version)
        .bind($org.0)
        .bind($change)
        .bind(&s.name)
        .bind(s.scope.provider.as_deref())
        .bind(s.scope.workspace.as_deref())
        .bind(s.scope.api_key.as_deref())
        .bind(s.scope.customer.as_deref())
        .bind(s.scope.model.as_deref())
        .bind(s.period.as_str())
        .bind(s.limit.nanos())
        .bind(i64::from(s.soft_pct))
        .bind(s.enabled)
        .bind(s.provenance.as_str())
        .bind(s.unpriced.as_str())
        .bind($at)
        .bind($actor)
        .execute(&mut *$tx)
        .await?;
    }};
}

macro_rules! lock_and_read_caps {
    ($tx:expr, $org:expr) => {{
        sqlx::query("UPDATE organizations SET name = name WHERE id = $1")
            .bind($org.0)
            .execute(&mut *$tx)
            .await?;
        let sql = format!("SELECT {CAP_COLUMNS} FROM budget_caps WHERE org_id = $1 ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind($org.0)
            .fetch_all(&mut *$tx)
            .await?;
        rows.iter()
            .map(cap_from_row)
            .collect::<StoreResult<Vec<BudgetCapRow>>>()?
    }};
}

impl Store {
    /// Every cap of the organization, by name.
    pub async fn list_budget_caps(&self, org: OrgId) -> StoreResult<Vec<BudgetCapRow>> {
        let sql = format!("SELECT {CAP_COLUMNS} FROM budget_caps WHERE org_id = $1 ORDER BY name");
        with_pool!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(org.0).fetch_all(pool).await?;
            rows.iter().map(cap_from_row).collect()
        })
    }

    pub async fn get_budget_cap(&self, org: OrgId, id: i64) -> StoreResult<BudgetCapRow> {
        let sql = format!("SELECT {CAP_COLUMNS} FROM budget_caps WHERE org_id = $1 AND id = $2");
        with_pool!(self, pool => {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(org.0)
                .bind(id)
                .fetch_optional(pool)
                .await?
                .ok_or_else(|| StoreError::NotFound { what: format!("budget {id}") })?;
            cap_from_row(&row)
        })
    }

    /// Every version of a cap, newest first (kept after the cap is deleted).
    pub async fn budget_cap_versions(
        &self,
        org: OrgId,
        id: i64,
    ) -> StoreResult<Vec<BudgetCapVersion>> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM budget_cap_versions WHERE org_id = $1 AND cap_id = $2 \
             ORDER BY version DESC, change"
        );
        let versions: Vec<BudgetCapVersion> = with_pool!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(org.0).bind(id).fetch_all(pool).await?;
            rows.iter().map(version_from_row).collect::<StoreResult<Vec<_>>>()?
        });
        if versions.is_empty() {
            return Err(StoreError::NotFound {
                what: format!("budget {id}"),
            });
        }
        Ok(versions)
    }

    /// Adds a cap (version 1), refused when a tenant cap would sit above its platform cap.
    pub async fn create_budget_cap(
        &self,
        org: OrgId,
        spec: &CapSpec,
        actor: &str,
        now: OffsetDateTime,
    ) -> StoreResult<BudgetCapRow> {
        let at = millis(now);
        let id: i64 = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let caps = lock_and_read_caps!(tx, org);
            check_caps(spec, &caps, None)?;
            let s = spec;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO budget_caps (org_id, name, provider, workspace, api_key, customer, model, period, \
                 limit_nanos, soft_pct, enabled, provenance, unpriced, version, created_at, updated_at, updated_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1, $14, $14, $15) RETURNING id",
            )
            .bind(org.0)
            .bind(s.name.trim())
            .bind(s.scope.provider.as_deref())
            .bind(s.scope.workspace.as_deref())
            .bind(s.scope.api_key.as_deref())
            .bind(s.scope.customer.as_deref())
            .bind(s.scope.model.as_deref())
            .bind(s.period.as_str())
            .bind(s.limit.nanos())
            .bind(i64::from(s.soft_pct))
            .bind(s.enabled)
            .bind(s.provenance.as_str())
            .bind(s.unpriced.as_str())
            .bind(at)
            .bind(actor)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| name_taken(e, &s.name))?;
            insert_version!(tx, org, id, 1_i64, "created", spec, actor, at);
            let subject = format!("budget {id}");
            let detail = describe(spec);
            audit_in_tx!(tx, org, actor, "budget.create", &subject, &detail, at);
            tx.commit().await?;
            id
        });
        self.get_budget_cap(org, id).await
    }

    /// Replaces a cap's definition, bumping its version (the new definition is kept as that
    /// version). `expected_version`: refused when the cap changed since it was read. Returns
    /// the cap before and after.
    pub async fn update_budget_cap(
        &self,
        org: OrgId,
        id: i64,
        spec: &CapSpec,
        expected_version: Option<i64>,
        actor: &str,
        now: OffsetDateTime,
    ) -> StoreResult<(BudgetCapRow, BudgetCapRow)> {
        self.update_budget_cap_owned(org, id, spec, expected_version, None, actor, now)
            .await
    }

    /// [`Store::update_budget_cap`] for a tenant user: only a tenant cap of `customer` is
    /// found (checked in the transaction that changes it, so a cap moved to another customer
    /// meanwhile is not touched).
    #[allow(clippy::too_many_arguments)]
    pub async fn update_tenant_budget_cap(
        &self,
        org: OrgId,
        customer: &str,
        id: i64,
        spec: &CapSpec,
        expected_version: Option<i64>,
        actor: &str,
        now: OffsetDateTime,
    ) -> StoreResult<(BudgetCapRow, BudgetCapRow)> {
        self.update_budget_cap_owned(org, id, spec, expected_version, Some(customer), actor, now)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn update_budget_cap_owned(
        &self,
        org: OrgId,
        id: i64,
        spec: &CapSpec,
        expected_version: Option<i64>,
        owner: Option<&str>,
        actor: &str,
        now: OffsetDateTime,
    ) -> StoreResult<(BudgetCapRow, BudgetCapRow)> {
        let at = millis(now);
        let before: BudgetCapRow = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let caps = lock_and_read_caps!(tx, org);
            let before = caps
                .iter()
                .find(|c| c.id == id && owned_by(c, owner))
                .cloned()
                .ok_or_else(|| StoreError::NotFound { what: format!("budget {id}") })?;
            if let Some(expected) = expected_version
                && expected != before.version
            {
                return Err(StoreError::Conflict(format!(
                    "budget {id} is at version {} now, not {expected}: someone changed it; reload and edit again",
                    before.version
                )));
            }
            check_caps(spec, &caps, Some(id))?;
            let s = spec;
            let version = before.version + 1;
            sqlx::query(
                "UPDATE budget_caps SET name = $3, provider = $4, workspace = $5, api_key = $6, customer = $7, \
                 model = $8, period = $9, limit_nanos = $10, soft_pct = $11, enabled = $12, provenance = $13, \
                 unpriced = $14, version = $15, updated_at = $16, updated_by = $17 WHERE org_id = $1 AND id = $2",
            )
            .bind(org.0)
            .bind(id)
            .bind(s.name.trim())
            .bind(s.scope.provider.as_deref())
            .bind(s.scope.workspace.as_deref())
            .bind(s.scope.api_key.as_deref())
            .bind(s.scope.customer.as_deref())
            .bind(s.scope.model.as_deref())
            .bind(s.period.as_str())
            .bind(s.limit.nanos())
            .bind(i64::from(s.soft_pct))
            .bind(s.enabled)
            .bind(s.provenance.as_str())
            .bind(s.unpriced.as_str())
            .bind(version)
            .bind(at)
            .bind(actor)
            .execute(&mut *tx)
            .await
            .map_err(|e| name_taken(e, &s.name))?;
            insert_version!(tx, org, id, version, "edited", spec, actor, at);
            let subject = format!("budget {id}");
            let detail = format!("v{} {} → v{version} {}", before.version, describe(&before.spec), describe(spec));
            audit_in_tx!(tx, org, actor, "budget.edit", &subject, &detail, at);
            tx.commit().await?;
            before
        });
        let after = self.get_budget_cap(org, id).await?;
        Ok((before, after))
    }

    /// Deletes a cap; its versions stay, with a `deleted` entry naming what went.
    pub async fn delete_budget_cap(
        &self,
        org: OrgId,
        id: i64,
        actor: &str,
        now: OffsetDateTime,
    ) -> StoreResult<BudgetCapRow> {
        self.delete_budget_cap_owned(org, id, None, actor, now)
            .await
    }

    /// [`Store::delete_budget_cap`] for a tenant user: only a tenant cap of `customer` is
    /// found (checked in the deleting transaction).
    pub async fn delete_tenant_budget_cap(
        &self,
        org: OrgId,
        customer: &str,
        id: i64,
        actor: &str,
        now: OffsetDateTime,
    ) -> StoreResult<BudgetCapRow> {
        self.delete_budget_cap_owned(org, id, Some(customer), actor, now)
            .await
    }

    async fn delete_budget_cap_owned(
        &self,
        org: OrgId,
        id: i64,
        owner: Option<&str>,
        actor: &str,
        now: OffsetDateTime,
    ) -> StoreResult<BudgetCapRow> {
        let at = millis(now);
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let caps = lock_and_read_caps!(tx, org);
            let cap = caps
                .iter()
                .find(|c| c.id == id && owned_by(c, owner))
                .cloned()
                .ok_or_else(|| StoreError::NotFound { what: format!("budget {id}") })?;
            sqlx::query("DELETE FROM budget_caps WHERE org_id = $1 AND id = $2")
                .bind(org.0)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            insert_version!(tx, org, id, cap.version + 1, "deleted", &cap.spec, actor, at);
            let subject = format!("budget {id}");
            let detail = format!("v{} {}", cap.version, describe(&cap.spec));
            audit_in_tx!(tx, org, actor, "budget.delete", &subject, &detail, at);
            tx.commit().await?;
            Ok(cap)
        })
    }
}
