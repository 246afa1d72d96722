//! Cost → Model pricing, the changes (admins only): new and edit forms that keep what was
//! typed and say what to fix, and delete behind a page that names the entry it removes. Every
//! change goes to the audit log.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use spendlens_domain::{Day, PriceSource};
use spendlens_store::StoreError;

use crate::AppState;
use crate::api::prices::describe;
use crate::dashboard::error::PageError;
use crate::dashboard::pricing::{
    ACTIVE, EntryForm, conditions_text, effective_text, provenance_label, show_form,
};
use crate::dashboard::session::{Viewer, capitalize, flash, redirect_with};
use crate::dashboard::{Layout, respond};

#[derive(Debug, Default, Deserialize)]
pub struct Prefill {
    #[serde(default)]
    pub provider: String,
    #[serde(default)]
    pub model: String,
}

/// The empty form (optionally for a provider and model, from the unpriced-models hint).
pub async fn new_form(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(prefill): Query<Prefill>,
) -> Result<Response, PageError> {
    viewer.require_admin()?;
    let form = EntryForm {
        provider: prefill.provider.chars().take(40).collect(),
        model: prefill.model.chars().take(200).collect(),
        effective_from: Day::of(state.now()).to_string(),
        currency: "USD".to_owned(),
        ..EntryForm::default()
    };
    show_form(&state, &viewer, &headers, None, &form, None).await
}

/// A store refusal the form can show (bad value, duplicate); anything else is an error page.
fn form_message(err: StoreError) -> Result<String, PageError> {
    match err {
        StoreError::Invalid(message) | StoreError::Conflict(message) => Ok(capitalize(&message)),
        other => Err(other.into()),
    }
}

pub async fn create(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<EntryForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin()?;
    let entry = match form.entry() {
        Ok(entry) => entry,
        Err(message) => {
            return show_form(
                &state,
                &viewer,
                &headers,
                None,
                &form,
                Some(capitalize(&message)),
            )
            .await;
        }
    };
    let name = viewer.actor();
    let actor = spendlens_store::Actor {
        name: &name,
        at: state.now(),
    };
    let added = match state
        .store()
        .add_price(viewer.org(), entry, actor, describe)
        .await
    {
        Ok(added) => added,
        Err(err) => {
            let message = form_message(err)?;
            return show_form(&state, &viewer, &headers, None, &form, Some(message)).await;
        }
    };
    Ok(redirect_with(
        "/cost/pricing",
        vec![flash(
            &headers,
            "ok",
            &format!(
                "Added a price for {} “{}”: {}.",
                added.provider.display_name(),
                added.model_glob,
                describe(&added)
            ),
        )],
    ))
}

pub async fn edit_form(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    viewer.require_admin()?;
    let entry = state.store().get_price(viewer.org(), id).await?;
    if entry.source == PriceSource::BuiltIn {
        return Err(PageError::BadRequest(
            "built-in prices are read-only: add your own price for the model instead (it takes precedence)".to_owned(),
        ));
    }
    show_form(
        &state,
        &viewer,
        &headers,
        Some(id),
        &EntryForm::from_entry(&entry),
        None,
    )
    .await
}

pub async fn edit(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<EntryForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin()?;
    let entry = match form.entry() {
        Ok(entry) => entry,
        Err(message) => {
            return show_form(
                &state,
                &viewer,
                &headers,
                Some(id),
                &form,
                Some(capitalize(&message)),
            )
            .await;
        }
    };
    let name = viewer.actor();
    let actor = spendlens_store::Actor {
        name: &name,
        at: state.now(),
    };
    let (_, after) = match state
        .store()
        .edit_price(viewer.org(), id, entry, actor, describe)
        .await
    {
        Ok(pair) => pair,
        Err(StoreError::NotFound { what }) => return Err(PageError::NotFound(what)),
        Err(err) => {
            let message = form_message(err)?;
            return show_form(&state, &viewer, &headers, Some(id), &form, Some(message)).await;
        }
    };
    Ok(redirect_with(
        "/cost/pricing",
        vec![flash(
            &headers,
            "ok",
            &format!("Saved price entry {id}: {}.", describe(&after)),
        )],
    ))
}

#[derive(Template)]
#[template(path = "pricing_delete.html")]
struct DeletePage {
    layout: Layout,
    id: i64,
    provider: &'static str,
    model: String,
    summary: String,
    effective: String,
    conditions: String,
    provenance: &'static str,
    note: String,
    after: String,
}

/// The confirmation page: which entry, its prices, and what prices those calls afterwards.
pub async fn confirm_delete(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    viewer.require_admin()?;
    let entry = state.store().get_price(viewer.org(), id).await?;
    if entry.source == PriceSource::BuiltIn {
        return Err(PageError::BadRequest(
            "built-in prices cannot be deleted one by one: add your own price for the model (it takes precedence), or refresh them with `spendlens prices import`".to_owned(),
        ));
    }
    let layout = Layout::new(&state, &viewer, &headers, "Model pricing", ACTIVE).await?;
    let summary = describe(&entry);
    let template = DeletePage {
        layout,
        id,
        provider: entry.provider.display_name(),
        model: entry.model_glob.clone(),
        summary: summary
            .split_once(' ')
            .map_or(summary.clone(), |(_, rest)| rest.to_owned()),
        effective: effective_text(&entry),
        conditions: conditions_text(&entry),
        provenance: provenance_label(entry.source),
        note: entry.note.clone(),
        after: format!(
            "Calls matching “{}” will then be priced by the next matching entry (often the built-in price), or stay unpriced when there is none.",
            entry.model_glob
        ),
    };
    respond(&template.layout, &headers, StatusCode::OK, &template)
}

#[derive(Debug, Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub confirm: Option<String>,
}

pub async fn delete(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<DeleteForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin()?;
    if form.confirm.as_deref() != Some("delete") {
        return Ok(redirect_with(
            &format!("/cost/pricing/{id}/delete"),
            vec![flash(
                &headers,
                "warn",
                "Nothing was deleted yet: confirm below, where the entry is shown.",
            )],
        ));
    }
    let actor = viewer.actor();
    let actor = spendlens_store::Actor {
        name: &actor,
        at: state.now(),
    };
    let deleted = state
        .store()
        .delete_price(viewer.org(), id, actor, describe)
        .await?;
    Ok(redirect_with(
        "/cost/pricing",
        vec![flash(
            &headers,
            "ok",
            &format!("Deleted price entry {id}: {}.", describe(&deleted)),
        )],
    ))
}
