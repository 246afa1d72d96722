//! `GET /v1/organizations/workspaces` (`limit` 1–1000, default 20, `after_id`, `before_id`,
//! `include_archived`, default false) and `GET /v1/organizations/api_keys` (`limit` 1–1000,
//! default 20, `after_id`, `before_id`, filters `status`, `workspace_id`,
//! `created_by_user_id`), in creation order, in the `{"data", "has_more", "first_id",
//! "last_id"}` envelope. The default workspace is not listed; its keys have
//! `workspace_id: null`. Keys carry the newer `expires_at`; workspaces the newer
//! `data_residency`. Under [`Fault::MissingField`](crate::Fault::MissingField) items lack `id`.

use std::sync::Arc;

use serde_json::{Value, json};

use super::data::Data;
use super::org::{Creator, Key, Status, Workspace};
use super::params;
use crate::common::listing::list_page;
use crate::common::query::Query;
use crate::common::respond::{ApiError, Prepared, Variant, json_bytes};
use crate::common::time_text::rfc3339;

fn boolean(q: &Query, name: &str) -> Result<bool, ApiError> {
    match q.first(name) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(ApiError::invalid(format!(
            "{name}: Input should be a valid boolean"
        ))),
    }
}

/// Pages `items` by `after_id`/`before_id` and renders with `to_json`.
fn listing<T: Sync>(
    items: &[&T],
    id: impl Fn(&T) -> &str,
    to_json: impl Fn(&T) -> Value,
    q: &Query,
) -> Result<Prepared, ApiError> {
    let limit = params::limit(q, 20, 1000)?;
    let after = q.first("after_id");
    let page = list_page(items, &id, after, q.first("before_id"), limit)
        .map_err(|unknown| ApiError::invalid(format!("invalid cursor id '{}'", unknown.0)))?;
    let values: Vec<Value> = page.items.iter().map(|item| to_json(item)).collect();
    let ids: Vec<String> = page.items.iter().map(|item| id(item).to_owned()).collect();
    let has_more = page.has_more;
    let after = after.map(str::to_owned);
    Ok(Prepared {
        page: page.page,
        render: Arc::new(move |variant| {
            let mut values = values.clone();
            if variant == Variant::MissingField {
                for v in &mut values {
                    if let Some(map) = v.as_object_mut() {
                        map.remove("id");
                    }
                }
            }
            let (last_id, has_more) = match variant {
                Variant::RepeatPage => (after.clone(), true),
                _ => (ids.last().cloned(), has_more),
            };
            json_bytes(&json!({
                "data": values,
                "has_more": has_more,
                "first_id": ids.first(),
                "last_id": last_id,
            }))
        }),
    })
}

fn workspace_json(w: &Workspace) -> Value {
    json!({
        "id": w.id,
        "type": "workspace",
        "name": w.name,
        "created_at": rfc3339(w.created_at),
        "archived_at": w.archived_at.map(rfc3339),
        "display_color": w.display_color,
        "data_residency": {
            "workspace_geo": "us",
            "allowed_inference_geos": "unrestricted",
            "default_inference_geo": "global",
        },
    })
}

pub(crate) fn workspaces(data: &Arc<Data>, q: &Query) -> Result<Prepared, ApiError> {
    let include_archived = boolean(q, "include_archived")?;
    let visible: Vec<&Workspace> = data
        .org
        .workspaces
        .iter()
        .filter(|w| include_archived || w.archived_at.is_none())
        .collect();
    listing(&visible, |w| w.id.as_str(), workspace_json, q)
}

pub(crate) fn api_keys(data: &Arc<Data>, q: &Query) -> Result<Prepared, ApiError> {
    let org = &data.org;
    let status = match q.first("status") {
        None => None,
        Some(text) => Some(
            [
                Status::Active,
                Status::Inactive,
                Status::Archived,
                Status::Expired,
            ]
            .into_iter()
            .find(|s| s.text() == text)
            .ok_or_else(|| {
                ApiError::invalid(
                    "status: Input should be 'active', 'inactive', 'archived' or 'expired'",
                )
            })?,
        ),
    };
    let workspace = q.first("workspace_id");
    let creator = q.first("created_by_user_id");
    let workspace_of = |k: &Key| {
        k.workspace
            .map(|w| org.workspaces[usize::from(w)].id.as_str())
    };
    let user_of = |k: &Key| match k.creator {
        Creator::User(u) => Some(org.users[usize::from(u)].0.as_str()),
        Creator::ServiceAccount | Creator::Unknown => None,
    };
    let selected: Vec<&Key> = org
        .keys
        .iter()
        .filter(|k| status.is_none_or(|s| k.status == s))
        .filter(|k| workspace.is_none_or(|w| workspace_of(k) == Some(w)))
        .filter(|k| creator.is_none_or(|c| user_of(k) == Some(c)))
        .collect();
    let to_json = |k: &Key| {
        let created_by = match k.creator {
            Creator::User(_) => json!({"id": user_of(k), "type": "user"}),
            Creator::ServiceAccount => {
                json!({"id": org.service_account, "type": "service_account"})
            }
            Creator::Unknown => Value::Null,
        };
        json!({
            "id": k.id,
            "type": "api_key",
            "name": k.name,
            "workspace_id": workspace_of(k),
            "created_at": rfc3339(k.created_at),
            "created_by": created_by,
            "partial_key_hint": k.partial_key_hint,
            "status": k.status.text(),
            "expires_at": k.expires_at.map(rfc3339),
        })
    };
    listing(&selected, |k| k.id.as_str(), to_json, q)
}
