//! `GET /v1/organization/projects` (`limit` 1–100, default 20, `after`, `include_archived`,
//! default false) and `GET /v1/organization/projects/{project_id}/api_keys` (`limit` 1–100,
//! default 20, `after`). Both in creation order, in the `{"object": "list", "data", "first_id",
//! "last_id", "has_more"}` envelope. The deleted key is in no list. Key owners use the older
//! documented shape (`owner.user` with `object: "organization.project.user"`, or
//! `owner.service_account`). Under [`Fault::MissingField`](crate::Fault::MissingField) items lack
//! `id`; an unknown `after` is a 400, an unknown project a 404.

use std::sync::Arc;

use serde_json::{Value, json};

use super::data::Data;
use super::org::{Key, Owner, Project};
use super::params;
use crate::common::listing::{ListPage, list_page};
use crate::common::query::Query;
use crate::common::respond::{ApiError, Prepared, Variant, json_bytes};

fn page_of<'a, T>(
    items: &[&'a T],
    id: impl Fn(&T) -> &str,
    q: &Query,
) -> Result<ListPage<'a, T>, ApiError> {
    let limit = params::limit(q, 20, 100)?;
    list_page(items, id, q.first("after"), None, limit).map_err(|unknown| {
        ApiError::invalid(format!(
            "Invalid 'after': no object with id '{}'.",
            unknown.0
        ))
        .param("after")
        .code("invalid_value")
    })
}

/// The list envelope; under `RepeatPage` `last_id` is the `after` that was sent.
fn envelope(
    mut items: Vec<Value>,
    ids: Vec<String>,
    has_more: bool,
    after: Option<&str>,
    variant: Variant,
) -> Result<Vec<u8>, ApiError> {
    if variant == Variant::MissingField {
        for item in &mut items {
            if let Some(map) = item.as_object_mut() {
                map.remove("id");
            }
        }
    }
    let (last_id, has_more) = match variant {
        Variant::RepeatPage => (after.map(str::to_owned), true),
        _ => (ids.last().cloned(), has_more),
    };
    json_bytes(&json!({
        "object": "list",
        "data": items,
        "first_id": ids.first(),
        "last_id": last_id,
        "has_more": has_more,
    }))
}

fn project_json(p: &Project) -> Value {
    json!({
        "id": p.id,
        "object": "organization.project",
        "name": p.name,
        "created_at": p.created_at,
        "archived_at": p.archived_at,
        "status": if p.archived_at.is_some() { "archived" } else { "active" },
        "external_key_id": null,
    })
}

pub(crate) fn projects(data: &Arc<Data>, q: &Query) -> Result<Prepared, ApiError> {
    let include_archived = params::boolean(q, "include_archived")?.unwrap_or(false);
    let visible: Vec<&Project> = data
        .org
        .projects
        .iter()
        .filter(|p| include_archived || p.archived_at.is_none())
        .collect();
    let page = page_of(&visible, |p| p.id.as_str(), q)?;
    let items: Vec<Value> = page.items.iter().map(|p| project_json(p)).collect();
    let ids: Vec<String> = page.items.iter().map(|p| p.id.clone()).collect();
    let has_more = page.has_more;
    let after = q.first("after").map(str::to_owned);
    Ok(Prepared {
        page: page.page,
        render: Arc::new(move |variant| {
            envelope(
                items.clone(),
                ids.clone(),
                has_more,
                after.as_deref(),
                variant,
            )
        }),
    })
}

fn key_json(data: &Data, index: usize, k: &Key) -> Value {
    let org = &data.org;
    let owner = match k.owner {
        Owner::User(u) => {
            let u = &org.users[usize::from(u)];
            json!({"type": "user", "user": {
                "object": "organization.project.user", "id": u.id, "name": u.name,
                "email": u.email, "role": u.role, "added_at": u.added_at,
            }})
        }
        Owner::ServiceAccount(s) => {
            let s = &org.service_accounts[usize::from(s)];
            json!({"type": "service_account", "service_account": {
                "object": "organization.project.service_account", "id": s.id, "name": s.name,
                "role": "member", "created_at": s.created_at,
            }})
        }
    };
    json!({
        "object": "organization.project.api_key",
        "id": k.id,
        "name": k.name,
        "redacted_value": k.redacted_value,
        "created_at": k.created_at,
        "last_used_at": data.last_used_at.get(index).copied().flatten(),
        "owner": owner,
    })
}

pub(crate) fn api_keys(
    data: &Arc<Data>,
    project_id: &str,
    q: &Query,
) -> Result<Prepared, ApiError> {
    let org = &data.org;
    let Some(project) = org.projects.iter().position(|p| p.id == project_id) else {
        return Err(
            ApiError::not_found(format!("No such project: '{project_id}'.")).param("project_id"),
        );
    };
    let listed: Vec<(usize, &Key)> = org
        .keys
        .iter()
        .enumerate()
        .filter(|(_, k)| k.listed && usize::from(k.project) == project)
        .collect();
    let refs: Vec<&(usize, &Key)> = listed.iter().collect();
    let page = page_of(&refs, |(_, k)| k.id.as_str(), q)?;
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|(i, k)| key_json(data, *i, k))
        .collect();
    let ids: Vec<String> = page.items.iter().map(|(_, k)| k.id.clone()).collect();
    let has_more = page.has_more;
    let after = q.first("after").map(str::to_owned);
    Ok(Prepared {
        page: page.page,
        render: Arc::new(move |variant| {
            envelope(
                items.clone(),
                ids.clone(),
                has_more,
                after.as_deref(),
                variant,
            )
        }),
    })
}
