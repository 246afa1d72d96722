//! Schema migrations: one ordered list per dialect, embedded in the binary, each applied once
//! inside a transaction and recorded in `schema_migrations`.

use crate::{Store, StoreError, StoreResult, with_pool};

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "core",
        sqlite: include_str!("../migrations/sqlite/0001_core.sql"),
        postgres: include_str!("../migrations/postgres/0001_core.sql"),
    },
    Migration {
        version: 2,
        name: "users",
        sqlite: include_str!("../migrations/sqlite/0002_users.sql"),
        postgres: include_str!("../migrations/postgres/0002_users.sql"),
    },
    Migration {
        version: 3,
        name: "rollups",
        sqlite: include_str!("../migrations/sqlite/0003_rollups.sql"),
        postgres: include_str!("../migrations/postgres/0003_rollups.sql"),
    },
    Migration {
        version: 7,
        name: "history_index",
        sqlite: include_str!("../migrations/sqlite/0007_history_index.sql"),
        postgres: include_str!("../migrations/postgres/0007_history_index.sql"),
    },
    Migration {
        version: 8,
        name: "metering",
        sqlite: include_str!("../migrations/sqlite/0008_metering.sql"),
        postgres: include_str!("../migrations/postgres/0008_metering.sql"),
    },
    Migration {
        version: 9,
        name: "prices",
        sqlite: include_str!("../migrations/sqlite/0009_prices.sql"),
        postgres: include_str!("../migrations/postgres/0009_prices.sql"),
    },
    Migration {
        version: 10,
        name: "health_probe",
        sqlite: include_str!("../migrations/sqlite/0010_health_probe.sql"),
        postgres: include_str!("../migrations/postgres/0010_health_probe.sql"),
    },
    Migration {
        version: 11,
        name: "least_privilege",
        sqlite: include_str!("../migrations/sqlite/0011_least_privilege.sql"),
        postgres: include_str!("../migrations/postgres/0011_least_privilege.sql"),
    },
    Migration {
        version: 12,
        name: "cost_records",
        sqlite: include_str!("../migrations/sqlite/0012_cost_records.sql"),
        postgres: include_str!("../migrations/postgres/0012_cost_records.sql"),
    },
    Migration {
        version: 13,
        name: "coverage",
        sqlite: include_str!("../migrations/sqlite/0013_coverage.sql"),
        postgres: include_str!("../migrations/postgres/0013_coverage.sql"),
    },
    Migration {
        version: 15,
        name: "alerts",
        sqlite: include_str!("../migrations/sqlite/0015_alerts.sql"),
        postgres: include_str!("../migrations/postgres/0015_alerts.sql"),
    },
    Migration {
        version: 16,
        name: "anomaly_thresholds",
        sqlite: include_str!("../migrations/sqlite/0016_anomaly_thresholds.sql"),
        postgres: include_str!("../migrations/postgres/0016_anomaly_thresholds.sql"),
    },
    Migration {
        version: 17,
        name: "access_log",
        sqlite: include_str!("../migrations/sqlite/0017_access_log.sql"),
        postgres: include_str!("../migrations/postgres/0017_access_log.sql"),
    },
    Migration {
        version: 18,
        name: "budgets",
        sqlite: include_str!("../migrations/sqlite/0018_budgets.sql"),
        postgres: include_str!("../migrations/postgres/0018_budgets.sql"),
    },
    Migration {
        version: 19,
        name: "billing_currency",
        sqlite: include_str!("../migrations/sqlite/0019_billing_currency.sql"),
        postgres: include_str!("../migrations/postgres/0019_billing_currency.sql"),
    },
    Migration {
        version: 20,
        name: "reports",
        sqlite: include_str!("../migrations/sqlite/0020_reports.sql"),
        postgres: include_str!("../migrations/postgres/0020_reports.sql"),
    },
    Migration {
        version: 21,
        name: "alert_firings_time",
        sqlite: include_str!("../migrations/sqlite/0021_alert_firings_time.sql"),
        postgres: include_str!("../migrations/postgres/0021_alert_firings_time.sql"),
    },
    Migration {
        version: 22,
        name: "lookback_carry_over",
        sqlite: include_str!("../migrations/sqlite/0022_lookback_carry_over.sql"),
        postgres: include_str!("../migrations/postgres/0022_lookback_carry_over.sql"),
    },
    Migration {
        version: 23,
        name: "key_unit",
        sqlite: include_str!("../migrations/sqlite/0023_key_unit.sql"),
        postgres: include_str!("../migrations/postgres/0023_key_unit.sql"),
    },
    Migration {
        version: 27,
        name: "meter_coverage",
        sqlite: include_str!("../migrations/sqlite/0027_meter_coverage.sql"),
        postgres: include_str!("../migrations/postgres/0027_meter_coverage.sql"),
    },
    Migration {
        version: 24,
        name: "tenant_users",
        sqlite: include_str!("../migrations/sqlite/0024_tenant_users.sql"),
        postgres: include_str!("../migrations/postgres/0024_tenant_users.sql"),
    },
    Migration {
        version: 25,
        name: "observed_prices",
        sqlite: include_str!("../migrations/sqlite/0025_observed_prices.sql"),
        postgres: include_str!("../migrations/postgres/0025_observed_prices.sql"),
    },
    Migration {
        version: 26,
        name: "unpriced_lines",
        sqlite: include_str!("../migrations/sqlite/0026_unpriced_lines.sql"),
        postgres: include_str!("../migrations/postgres/0026_unpriced_lines.sql"),
    },
    Migration {
        version: 28,
        name: "budget_denials",
        sqlite: include_str!("../migrations/sqlite/0028_budget_denials.sql"),
        postgres: include_str!("../migrations/postgres/0028_budget_denials.sql"),
    },
    Migration {
        version: 29,
        name: "rollup_revisions",
        sqlite: include_str!("../migrations/sqlite/0029_rollup_revisions.sql"),
        postgres: include_str!("../migrations/postgres/0029_rollup_revisions.sql"),
    },
    Migration {
        version: 30,
        name: "connection_services",
        sqlite: include_str!("../migrations/sqlite/0030_connection_services.sql"),
        postgres: include_str!("../migrations/postgres/0030_connection_services.sql"),
    },
    Migration {
        version: 31,
        name: "cost_line_versions",
        sqlite: include_str!("../migrations/sqlite/0031_cost_line_versions.sql"),
        postgres: include_str!("../migrations/postgres/0031_cost_line_versions.sql"),
    },
    Migration {
        version: 32,
        name: "rollup_changes",
        sqlite: include_str!("../migrations/sqlite/0032_rollup_changes.sql"),
        postgres: include_str!("../migrations/postgres/0032_rollup_changes.sql"),
    },
    Migration {
        version: 33,
        name: "ledger_without_rowid",
        sqlite: include_str!("../migrations/sqlite/0033_ledger_without_rowid.sql"),
        postgres: include_str!("../migrations/postgres/0033_ledger_without_rowid.sql"),
    },
    Migration {
        version: 34,
        name: "meter_attribution",
        sqlite: include_str!("../migrations/sqlite/0034_meter_attribution.sql"),
        postgres: include_str!("../migrations/postgres/0034_meter_attribution.sql"),
    },
    Migration {
        version: 35,
        name: "foreign_billing_index",
        sqlite: include_str!("../migrations/sqlite/0035_foreign_billing_index.sql"),
        postgres: include_str!("../migrations/postgres/0035_foreign_billing_index.sql"),
    },
];

/// Applies every migration not yet applied up to `through` (every one when `None`).
pub(crate) async fn run(store: &Store, through: Option<i64>) -> StoreResult<usize> {
    with_pool!(store, pool => {
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version BIGINT PRIMARY KEY,
                name TEXT NOT NULL,
                applied_at BIGINT NOT NULL
            )",
        )
        .execute(pool)
        .await?;
    });
    let mut applied = 0;
    for migration in in_order()?
        .into_iter()
        .filter(|m| through.is_none_or(|last| m.version <= last))
    {
        let sql = match store.backend() {
            crate::Backend::Sqlite => migration.sqlite,
            crate::Backend::Postgres => migration.postgres,
        };
        let wrap = |source| StoreError::Migration {
            version: migration.version,
            name: migration.name,
            source,
        };
        let ran = with_pool!(store, pool => {
            let mut tx = pool.begin().await?;
            // Serialize concurrent starters on PostgreSQL; SQLite's writer lock does it there.
            if store.backend() == crate::Backend::Postgres {
                sqlx::query("LOCK TABLE schema_migrations IN EXCLUSIVE MODE")
                    .execute(&mut *tx)
                    .await?;
            }
            let done: Option<i64> =
                sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
                    .bind(migration.version)
                    .fetch_optional(&mut *tx)
                    .await?;
            if done.is_some() {
                false
            } else {
                sqlx::raw_sql(sql).execute(&mut *tx).await.map_err(wrap)?;
                sqlx::query(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                )
                .bind(migration.version)
                .bind(migration.name)
                .bind(crate::millis(applied_at()))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                true
            }
        });
        if ran {
            tracing::info!(
                version = migration.version,
                name = migration.name,
                "applied migration"
            );
            applied += 1;
        }
    }
    Ok(applied)
}

/// The migrations by version (the list is kept in any order, so branches that each add one
/// merge without touching each other's lines); two with one version are refused, since the
/// second would never run.
fn in_order() -> StoreResult<Vec<&'static Migration>> {
    let mut ordered: Vec<&'static Migration> = MIGRATIONS.iter().collect();
    ordered.sort_by_key(|m| m.version);
    if let Some(pair) = ordered.windows(2).find(|w| w[0].version == w[1].version) {
        return Err(StoreError::Invalid(format!(
            "migrations {} and {} both have version {}; renumber one",
            pair[0].name, pair[1].name, pair[0].version
        )));
    }
    Ok(ordered)
}

/// When a migration was applied: the wall clock (schema metadata, not product data).
#[expect(
    clippy::disallowed_methods,
    reason = "schema metadata, recorded once per migration"
)]
fn applied_at() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_has_a_version_of_its_own_and_runs_in_version_order() {
        let ordered = in_order().unwrap();
        assert_eq!(ordered.len(), MIGRATIONS.len());
        assert!(ordered.windows(2).all(|w| w[0].version < w[1].version));
    }
}
