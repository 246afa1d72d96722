//! API keys as providers list them: name, hint, status, workspace. Never the key itself.

use serde::Serialize;
use spendlens_domain::ProviderKind;
use time::OffsetDateTime;

use crate::{
    ApiKeyId, ConnectionId, OrgId, RowExt, Store, StoreError, StoreResult, WorkspaceId,
    from_millis, with_pool,
};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApiKeyRow {
    pub id: ApiKeyId,
    pub connection_id: ConnectionId,
    pub provider: ProviderKind,
    pub provider_id: String,
    pub workspace_id: Option<WorkspaceId>,
    pub name: Option<String>,
    pub hint: Option<String>,
    pub status: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub created_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub first_seen_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen_at: OffsetDateTime,
}

impl Store {
    pub async fn list_api_keys(&self, org: OrgId) -> StoreResult<Vec<ApiKeyRow>> {
        with_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT k.id, k.connection_id, c.provider, k.provider_id, k.workspace_ref, k.name, k.hint, \
                 k.status, k.created_at, k.last_used_at, k.first_seen_at, k.last_seen_at \
                 FROM api_keys k JOIN connections c ON c.id = k.connection_id WHERE k.org_id = $1 \
                 ORDER BY k.name, k.id",
            )
            .bind(org.0)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    let provider = row.text("provider")?;
                    Ok(ApiKeyRow {
                        id: ApiKeyId(row.int("id")?),
                        connection_id: ConnectionId(row.int("connection_id")?),
                        provider: provider
                            .parse()
                            .map_err(|_| StoreError::Corrupt(format!("provider \"{provider}\"")))?,
                        provider_id: row.text("provider_id")?,
                        workspace_id: row.opt_int("workspace_ref")?.map(WorkspaceId),
                        name: row.opt_text("name")?,
                        hint: row.opt_text("hint")?,
                        status: row.text("status")?,
                        created_at: row.opt_int("created_at")?.map(from_millis),
                        last_used_at: row.opt_int("last_used_at")?.map(from_millis),
                        first_seen_at: from_millis(row.int("first_seen_at")?),
                        last_seen_at: from_millis(row.int("last_seen_at")?),
                    })
                })
                .collect()
        })
    }
}
