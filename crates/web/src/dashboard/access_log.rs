//! Access Log (admins): sign-ins, failed and refused sign-ins, API token use and denied
//! requests, newest first, filtered by kind, actor and days, with the hash chain's verdict.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use spendlens_store::{AccessKind, AuditVerdict};

use crate::AppState;
use crate::api::access_log::{AccessParams, access_filter};
use crate::dashboard::error::PageError;
use crate::dashboard::session::Viewer;
use crate::dashboard::{Layout, format, respond};

pub struct KindOption {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

pub struct Row {
    pub at: String,
    pub kind: &'static str,
    pub label: &'static str,
    pub actor: String,
    pub client: String,
    pub request: String,
    pub status: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "access_log.html")]
struct AccessLogPage {
    layout: Layout,
    kinds: Vec<KindOption>,
    actor: String,
    from: String,
    to: String,
    rows: Vec<Row>,
    chain: String,
    chain_ok: bool,
    older_href: Option<String>,
}

fn label(kind: AccessKind) -> &'static str {
    match kind {
        AccessKind::SignIn => "Sign-in",
        AccessKind::SignInFailed => "Failed sign-in",
        AccessKind::SignInRefused => "Refused sign-in",
        AccessKind::TokenUse => "API token use",
        AccessKind::Denied => "Denied request",
    }
}

pub async fn page(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(params): Query<AccessParams>,
) -> Result<Response, PageError> {
    viewer.require_admin()?;
    let filter = access_filter(&params, 200).map_err(|e| {
        PageError::BadRequest(format!(
            "This filter cannot be used: {e}. Fix it, or start again from /access-log."
        ))
    })?;
    let entries = state.store().access_entries(viewer.org(), &filter).await?;
    // Checked in full on the first page only (see the API): older pages say so.
    let (chain, chain_ok) = if filter.before_id.is_some() {
        (
            "The hash chain is checked on the first page of the log; go back to it for the verdict."
                .to_owned(),
            true,
        )
    } else {
        match state.store().verify_access_log(viewer.org()).await? {
            AuditVerdict::Intact { entries } => (
                format!(
                    "The hash chain of all {entries} entries verifies: none was edited or removed."
                ),
                true,
            ),
            AuditVerdict::Broken { entry_id, reason } => (
                format!(
                    "The hash chain is BROKEN at entry {entry_id}: {reason}. The log was tampered with."
                ),
                false,
            ),
        }
    };
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let older_href = (entries.len() as i64 == filter.limit)
        .then(|| entries.last().map(|e| e.id))
        .flatten()
        .map(|id| {
            let pairs = [
                ("kind", text(&params.kind)),
                ("actor", text(&params.actor)),
                ("from", text(&params.from)),
                ("to", text(&params.to)),
                ("before", id.to_string()),
            ];
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs.iter().filter(|(_, v)| !v.is_empty()))
                .finish();
            format!("/access-log?{query}")
        });
    let selected = filter.kinds.first().copied();
    let mut kinds = vec![KindOption {
        value: "",
        label: "Every kind",
        selected: selected.is_none(),
    }];
    kinds.extend(AccessKind::ALL.into_iter().map(|k| KindOption {
        value: k.as_str(),
        label: label(k),
        selected: selected == Some(k),
    }));
    let rows = entries
        .iter()
        .map(|e| Row {
            at: format::instant(Some(e.at)),
            kind: e.kind.as_str(),
            label: label(e.kind),
            actor: e.actor.clone(),
            client: e.client.clone(),
            request: format!("{} {}", e.method, e.path),
            status: if e.status == 0 {
                "—".to_owned()
            } else {
                e.status.to_string()
            },
            detail: e.detail.clone(),
        })
        .collect();
    let layout = Layout::new(&state, &viewer, &headers, "Access Log", "/access-log").await?;
    let template = AccessLogPage {
        layout,
        kinds,
        actor: text(&params.actor),
        from: text(&params.from),
        to: text(&params.to),
        rows,
        chain,
        chain_ok,
        older_href,
    };
    respond(&template.layout, &headers, StatusCode::OK, &template)
}
