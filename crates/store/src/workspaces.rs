//! Workspaces and their display names: rename with history (old, new, when, who) and revert.
//! Workspaces given the same display name are one row in the Workspaces view.

use serde::Serialize;
use spendlens_domain::ProviderKind;
use time::OffsetDateTime;

use crate::audit::{Actor, audit_change};
use crate::{
    ConnectionId, OrgId, RowExt, Store, StoreError, StoreResult, WorkspaceId, from_millis, millis,
    with_pool,
};

/// The longest display name accepted.
pub const MAX_DISPLAY_NAME: usize = 120;

/// A stored workspace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WorkspaceRow {
    pub id: WorkspaceId,
    pub connection_id: ConnectionId,
    pub provider: ProviderKind,
    /// The provider's id for it (`proj_…`, `wrkspc_…`, `default`).
    pub provider_id: String,
    /// The provider's own name for it.
    pub provider_name: String,
    /// The name spendlens shows (the provider's unless renamed).
    pub display_name: String,
    pub renamed: bool,
    pub archived: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub created_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub first_seen_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen_at: OffsetDateTime,
}

/// One rename in a workspace's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WorkspaceNameChange {
    pub id: i64,
    pub workspace_id: WorkspaceId,
    pub old_name: String,
    pub new_name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub changed_at: OffsetDateTime,
    pub changed_by: String,
}

const COLUMNS: &str = "w.id, w.connection_id, c.provider, w.provider_id, w.provider_name, w.display_name, \
    w.display_name_custom, w.archived, w.created_at, w.first_seen_at, w.last_seen_at";

fn from_row(row: &impl RowExt) -> StoreResult<WorkspaceRow> {
    let provider = row.text("provider")?;
    Ok(WorkspaceRow {
        id: WorkspaceId(row.int("id")?),
        connection_id: ConnectionId(row.int("connection_id")?),
        provider: provider
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("provider \"{provider}\"")))?,
        provider_id: row.text("provider_id")?,
        provider_name: row.text("provider_name")?,
        display_name: row.text("display_name")?,
        renamed: row.flag("display_name_custom")?,
        archived: row.flag("archived")?,
        created_at: row.opt_int("created_at")?.map(from_millis),
        first_seen_at: from_millis(row.int("first_seen_at")?),
        last_seen_at: from_millis(row.int("last_seen_at")?),
    })
}

/// A display name: trimmed, 1–120 characters, no control characters.
pub fn validate_display_name(name: &str) -> StoreResult<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(StoreError::Invalid(
            "a workspace name cannot be empty".to_owned(),
        ));
    }
    let length = name.chars().count();
    if length > MAX_DISPLAY_NAME {
        return Err(StoreError::Invalid(format!(
            "a workspace name can be at most {MAX_DISPLAY_NAME} characters (this one has {length})"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(StoreError::Invalid(
            "a workspace name cannot contain control characters".to_owned(),
        ));
    }
    Ok(name.to_owned())
}

/// In `$tx`: gives the workspace `$current` (a [`WorkspaceRow`] as read) the display name
/// `$new_name` and records the change as `$actor`'s; nothing when the name is already that.
macro_rules! rename_in_tx {
    ($tx:expr, $org:expr, $current:expr, $new_name:expr, $actor:expr) => {{
        let current: &WorkspaceRow = &$current;
        let new_name: &str = $new_name;
        if current.display_name != new_name {
            sqlx::query(
                "UPDATE workspaces SET display_name = $1, display_name_custom = $2 WHERE org_id = $3 AND id = $4",
            )
            .bind(new_name)
            .bind(new_name != current.provider_name)
            .bind($org.0)
            .bind(current.id.0)
            .execute(&mut *$tx)
            .await?;
            sqlx::query(
                "INSERT INTO workspace_names (org_id, workspace_id, old_name, new_name, changed_at, changed_by) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind($org.0)
            .bind(current.id.0)
            .bind(&current.display_name)
            .bind(new_name)
            .bind(millis($actor.at))
            .bind($actor.name)
            .execute(&mut *$tx)
            .await?;
        }
    }};
}

impl Store {
    pub async fn list_workspaces(&self, org: OrgId) -> StoreResult<Vec<WorkspaceRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM workspaces w JOIN connections c ON c.id = w.connection_id \
             WHERE w.org_id = $1 ORDER BY w.display_name, w.id"
        );
        with_pool!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(org.0).fetch_all(pool).await?;
            rows.iter().map(from_row).collect()
        })
    }

    pub async fn get_workspace(&self, org: OrgId, id: WorkspaceId) -> StoreResult<WorkspaceRow> {
        let sql = format!(
            "SELECT {COLUMNS} FROM workspaces w JOIN connections c ON c.id = w.connection_id \
             WHERE w.org_id = $1 AND w.id = $2"
        );
        let row = with_pool!(self, pool => {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(org.0).bind(id.0).fetch_optional(pool).await?;
            row.as_ref().map(from_row).transpose()?
        });
        row.ok_or_else(|| StoreError::NotFound {
            what: format!("workspace {}", id.0),
        })
    }

    /// Renames a workspace for display, recording the change (by `actor`, at its time) and
    /// auditing it as `actor`'s (`workspace.rename`, `workspace <id>`, `“old” → “new”`) in the
    /// same transaction. Renaming to the current name changes nothing (and is still logged,
    /// as it always was).
    pub async fn rename_workspace(
        &self,
        org: OrgId,
        id: WorkspaceId,
        new_name: &str,
        actor: Actor<'_>,
    ) -> StoreResult<WorkspaceRow> {
        let new_name = validate_display_name(new_name)?;
        let current = self.get_workspace(org, id).await?;
        let subject = format!("workspace {}", id.0);
        let detail = format!("“{}” → “{new_name}”", current.display_name);
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            audit_change!(tx, org, actor, "workspace.rename", &subject, &detail);
            rename_in_tx!(tx, org, current, &new_name, actor);
            tx.commit().await?;
        });
        self.get_workspace(org, id).await
    }

    /// Gives every workspace of `ids` the display name `new_name` in one transaction, audited
    /// once as `actor`'s (`workspace.bulk_rename`, `<n> workspaces`, `→ “new”`). An unknown id
    /// changes nothing (`NotFound`).
    pub async fn rename_workspaces(
        &self,
        org: OrgId,
        ids: &[WorkspaceId],
        new_name: &str,
        actor: Actor<'_>,
    ) -> StoreResult<()> {
        let new_name = validate_display_name(new_name)?;
        let mut current = Vec::with_capacity(ids.len());
        let mut seen = std::collections::HashSet::new();
        for id in ids {
            let row = self.get_workspace(org, *id).await?;
            // An id listed twice is renamed once.
            if seen.insert(id.0) {
                current.push(row);
            }
        }
        let subject = format!("{} workspaces", ids.len());
        let detail = format!("→ “{new_name}”");
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            audit_change!(tx, org, actor, "workspace.bulk_rename", &subject, &detail);
            for row in &current {
                rename_in_tx!(tx, org, row, &new_name, actor);
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// The renames of a workspace, newest first.
    pub async fn workspace_history(
        &self,
        org: OrgId,
        id: WorkspaceId,
    ) -> StoreResult<Vec<WorkspaceNameChange>> {
        self.get_workspace(org, id).await?;
        with_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT id, workspace_id, old_name, new_name, changed_at, changed_by FROM workspace_names \
                 WHERE org_id = $1 AND workspace_id = $2 ORDER BY changed_at DESC, id DESC",
            )
            .bind(org.0)
            .bind(id.0)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(WorkspaceNameChange {
                        id: row.int("id")?,
                        workspace_id: WorkspaceId(row.int("workspace_id")?),
                        old_name: row.text("old_name")?,
                        new_name: row.text("new_name")?,
                        changed_at: from_millis(row.int("changed_at")?),
                        changed_by: row.text("changed_by")?,
                    })
                })
                .collect()
        })
    }

    /// Every rename of every workspace of the organization, newest first (one query for a
    /// page that shows all histories).
    pub async fn all_workspace_history(&self, org: OrgId) -> StoreResult<Vec<WorkspaceNameChange>> {
        with_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT id, workspace_id, old_name, new_name, changed_at, changed_by FROM workspace_names \
                 WHERE org_id = $1 ORDER BY changed_at DESC, id DESC",
            )
            .bind(org.0)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(WorkspaceNameChange {
                        id: row.int("id")?,
                        workspace_id: WorkspaceId(row.int("workspace_id")?),
                        old_name: row.text("old_name")?,
                        new_name: row.text("new_name")?,
                        changed_at: from_millis(row.int("changed_at")?),
                        changed_by: row.text("changed_by")?,
                    })
                })
                .collect()
        })
    }

    /// Reverts to the name a workspace had before the given change (recorded as a rename),
    /// audited as `actor`'s (`workspace.revert`, `workspace <id>`, `back to “name”`) in the
    /// same transaction.
    pub async fn revert_workspace_name(
        &self,
        org: OrgId,
        id: WorkspaceId,
        change_id: i64,
        actor: Actor<'_>,
    ) -> StoreResult<WorkspaceRow> {
        let history = self.workspace_history(org, id).await?;
        let change =
            history
                .iter()
                .find(|c| c.id == change_id)
                .ok_or_else(|| StoreError::NotFound {
                    what: format!("name change {change_id} of workspace {}", id.0),
                })?;
        let current = self.get_workspace(org, id).await?;
        let subject = format!("workspace {}", id.0);
        let detail = format!("back to “{}”", change.old_name);
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            audit_change!(tx, org, actor, "workspace.revert", &subject, &detail);
            rename_in_tx!(tx, org, current, &change.old_name, actor);
            tx.commit().await?;
        });
        self.get_workspace(org, id).await
    }
}
