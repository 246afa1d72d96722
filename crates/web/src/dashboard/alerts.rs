//! Cost → Alerts: the history of firings (value that crossed, threshold, deliveries), the
//! rules, the channels, the delivery log and the SMTP settings. Everyone reads; admins add,
//! enable or disable and delete (after a page naming what goes), and every change is audited.
//! A webhook's generated signing secret is shown once, on the page that answers its creation.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;
use spendlens_store::{AlertRuleRow, NewAlertChannel, NewAlertRule, StoreError};

use crate::AppState;
use crate::alerts::input::{
    ChannelInput, RuleInput, SmtpInput, channel_json, describe_rule, mask_url,
};
use crate::dashboard::error::PageError;
use crate::dashboard::format::instant;
use crate::dashboard::session::{Viewer, capitalize, flash, redirect_with};
use crate::dashboard::{Layout, respond};

const ACTIVE: &str = "/cost";
const PAGE: &str = "/cost/alerts";

pub struct RuleRow {
    pub id: i64,
    pub name: String,
    pub kind: &'static str,
    pub scope: String,
    pub when: String,
    pub threshold: String,
    pub channels: String,
    pub enabled: bool,
    pub version: i64,
}

pub struct ChannelRow {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub target: String,
    pub signed: bool,
}

pub struct FiringView {
    pub at: String,
    pub rule: String,
    pub subject: String,
    pub value: String,
    pub threshold: String,
    pub period: String,
    pub message: String,
    pub delivered: i64,
    pub failed: i64,
    pub pending: i64,
}

pub struct DeliveryView {
    pub at: String,
    pub rule: String,
    pub channel: String,
    pub attempt: i64,
    pub outcome: String,
    pub status: String,
    pub error: String,
}

/// The rule form as typed (kept on errors).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct RuleForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub scope: String,
    #[serde(default)]
    pub scope_value: String,
    #[serde(default)]
    pub period: String,
    #[serde(default)]
    pub window_hours: String,
    #[serde(default)]
    pub threshold: String,
    #[serde(default)]
    pub min_calls: String,
    #[serde(default)]
    pub channel: String,
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct AlertsPage {
    layout: Layout,
    recent: i64,
    firings: Vec<FiringView>,
    rules: Vec<RuleRow>,
    channels: Vec<ChannelRow>,
    deliveries: Vec<DeliveryView>,
    smtp_host: String,
    smtp_port: String,
    smtp_security: String,
    smtp_username: String,
    smtp_from: String,
    smtp_password_set: bool,
    form: RuleForm,
    kinds: Vec<(&'static str, &'static str)>,
}

fn rule_row(rule: &AlertRuleRow, channels: &[ChannelRow]) -> RuleRow {
    let s = &rule.spec;
    let when = match (s.period, s.window_hours) {
        (Some(p), _) => format!("per {}", p.as_str()),
        (None, Some(w)) => format!("last {w} h"),
        _ => "as it happens".to_owned(),
    };
    let names: Vec<&str> = rule
        .channels
        .iter()
        .filter_map(|id| channels.iter().find(|c| c.id == *id))
        .map(|c| c.name.as_str())
        .collect();
    RuleRow {
        id: rule.id,
        name: rule.name.clone(),
        kind: s.kind.title(),
        scope: format!("{} ({})", s.scope_text(), s.source.as_str()),
        when,
        threshold: s.threshold.normalize().to_string(),
        channels: if names.is_empty() {
            "in-app only".to_owned()
        } else {
            names.join(", ")
        },
        enabled: rule.enabled,
        version: rule.version,
    }
}

async fn show(
    state: &AppState,
    viewer: &Viewer,
    headers: &HeaderMap,
    notice: Option<(&str, String)>,
    form: RuleForm,
    status: StatusCode,
) -> Result<Response, PageError> {
    let org = viewer.org();
    let store = state.store();
    let mut layout = Layout::new(state, viewer, headers, "Alerts", ACTIVE).await?;
    layout.auto_refresh = Some(30);
    if let Some((kind, text)) = notice {
        layout = layout.with_notice(kind, text);
    }
    let channels: Vec<ChannelRow> = store
        .list_alert_channels(org)
        .await?
        .iter()
        .map(|c| {
            let json = channel_json(c);
            ChannelRow {
                id: c.id,
                name: c.name.clone(),
                kind: c.kind.clone(),
                target: json["target"].as_str().unwrap_or_default().to_owned(),
                signed: c.has_secret,
            }
        })
        .collect();
    let rules = store
        .list_alert_rules(org)
        .await?
        .iter()
        .map(|r| rule_row(r, &channels))
        .collect();
    let firings = store
        .list_alert_firings(org, 50)
        .await?
        .into_iter()
        .map(|f| FiringView {
            at: instant(Some(f.fired_at)),
            rule: f.rule_name,
            subject: if f.subject.is_empty() {
                f.scope
            } else {
                format!("{} · {}", f.scope, f.subject)
            },
            value: f.value,
            threshold: f.threshold,
            period: f.period_key,
            message: f.message,
            delivered: f.delivered,
            failed: f.failed,
            pending: f.pending,
        })
        .collect();
    let deliveries = store
        .list_alert_deliveries(org, 50)
        .await?
        .into_iter()
        .map(|d| DeliveryView {
            at: instant(Some(d.at)),
            rule: d.rule_name,
            channel: d.channel_name,
            attempt: d.attempt,
            outcome: d.outcome,
            status: d.http_status.map(|s| s.to_string()).unwrap_or_default(),
            error: d.error.unwrap_or_default(),
        })
        .collect();
    let smtp = store.alert_smtp(org).await?;
    let recent = store
        .count_alert_firings_since(org, state.now() - time::Duration::days(1))
        .await?;
    let template = AlertsPage {
        recent,
        firings,
        rules,
        channels,
        deliveries,
        smtp_host: smtp.as_ref().map(|s| s.host.clone()).unwrap_or_default(),
        smtp_port: smtp
            .as_ref()
            .map(|s| s.port.to_string())
            .unwrap_or_default(),
        smtp_security: smtp
            .as_ref()
            .map_or_else(|| "starttls".to_owned(), |s| s.security.clone()),
        smtp_username: smtp
            .as_ref()
            .and_then(|s| s.username.clone())
            .unwrap_or_default(),
        smtp_from: smtp
            .as_ref()
            .map(|s| s.from_address.clone())
            .unwrap_or_default(),
        smtp_password_set: smtp.as_ref().is_some_and(|s| s.password_set),
        form,
        kinds: spendlens_domain::alerts::RuleKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.title()))
            .collect(),
        layout,
    };
    respond(&template.layout, headers, status, &template)
}

pub async fn page(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let form = RuleForm {
        kind: "spend".to_owned(),
        scope: "org".to_owned(),
        period: "day".to_owned(),
        ..RuleForm::default()
    };
    show(&state, &viewer, &headers, None, form, StatusCode::OK).await
}

fn blank(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

impl RuleForm {
    fn input(&self) -> Result<RuleInput, String> {
        let int = |text: &str, what: &str| -> Result<Option<i64>, String> {
            blank(text)
                .map(|t| {
                    t.parse::<i64>()
                        .map_err(|_| format!("{what} must be a whole number, got \"{t}\""))
                })
                .transpose()
        };
        let channel = int(&self.channel, "the channel")?;
        Ok(RuleInput {
            name: self.name.clone(),
            kind: self.kind.clone(),
            source: blank(&self.source),
            scope: blank(&self.scope),
            scope_value: blank(&self.scope_value),
            period: blank(&self.period),
            window_hours: int(&self.window_hours, "the window")?,
            threshold: Value::String(self.threshold.clone()),
            min_calls: int(&self.min_calls, "min calls")?,
            channels: channel.into_iter().collect(),
            enabled: Some(true),
        })
    }
}

fn refusal(err: StoreError) -> Result<String, PageError> {
    match err {
        StoreError::Invalid(message) | StoreError::Conflict(message) => Ok(capitalize(&message)),
        other => Err(other.into()),
    }
}

pub async fn create_rule(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<RuleForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin()?;
    let rule: NewAlertRule = match form.input().and_then(RuleInput::into_rule) {
        Ok(rule) => rule,
        Err(message) => {
            let text = format!("The rule was not added: {}.", capitalize(&message));
            return show(
                &state,
                &viewer,
                &headers,
                Some(("error", text)),
                form,
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    let actor = viewer.actor();
    let actor = spendlens_store::Actor {
        name: &actor,
        at: state.now(),
    };
    let added = match state
        .store()
        .create_alert_rule(viewer.org(), &rule, actor, describe_rule)
        .await
    {
        Ok(added) => added,
        Err(err) => {
            let text = format!("The rule was not added: {}", refusal(err)?);
            return show(
                &state,
                &viewer,
                &headers,
                Some(("error", text)),
                form,
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    let detail = describe_rule(&added);
    Ok(redirect_with(
        PAGE,
        vec![flash(&headers, "ok", &format!("Added the rule {detail}."))],
    ))
}

#[derive(Debug, Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub confirm: Option<String>,
}

pub async fn toggle_rule(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin()?;
    let org = viewer.org();
    let rule = state.store().get_alert_rule(org, id).await?;
    let new = NewAlertRule {
        name: rule.name.clone(),
        spec: rule.spec.clone(),
        channels: rule.channels.clone(),
        enabled: !rule.enabled,
    };
    let actor = viewer.actor();
    let actor = spendlens_store::Actor {
        name: &actor,
        at: state.now(),
    };
    let (_, after) = state
        .store()
        .update_alert_rule(org, id, &new, actor, describe_rule)
        .await?;
    let word = if after.enabled { "Enabled" } else { "Disabled" };
    Ok(redirect_with(
        PAGE,
        vec![flash(
            &headers,
            "ok",
            &format!("{word} the rule “{}”.", after.name),
        )],
    ))
}

#[derive(Template)]
#[template(path = "alert_delete.html")]
struct DeletePage {
    layout: Layout,
    what: &'static str,
    action: String,
    name: String,
    summary: String,
    consequence: String,
}

pub async fn confirm_delete(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path((what, id)): Path<(String, i64)>,
) -> Result<Response, PageError> {
    viewer.require_admin()?;
    let org = viewer.org();
    let layout = Layout::new(&state, &viewer, &headers, "Alerts", ACTIVE).await?;
    let template = match what.as_str() {
        "rules" => {
            let rule = state.store().get_alert_rule(org, id).await?;
            DeletePage {
                layout,
                what: "rule",
                action: format!("{PAGE}/rules/{id}/delete"),
                name: rule.name.clone(),
                summary: describe_rule(&rule),
                consequence:
                    "It stops watching spend at once; its past firings stay in the history."
                        .to_owned(),
            }
        }
        "channels" => {
            let channel = state.store().get_alert_channel(org, id).await?;
            let users = state
                .store()
                .list_alert_rules(org)
                .await?
                .into_iter()
                .filter(|r| r.channels.contains(&id))
                .map(|r| r.name)
                .collect::<Vec<_>>();
            DeletePage {
                layout,
                what: "channel",
                action: format!("{PAGE}/channels/{id}/delete"),
                name: channel.name.clone(),
                summary: format!(
                    "{} to {}",
                    channel.kind,
                    channel_json(&channel)["target"]
                        .as_str()
                        .unwrap_or_default()
                ),
                consequence: if users.is_empty() {
                    "No rule delivers there; its delivery log stays.".to_owned()
                } else {
                    format!(
                        "The rules {} stop delivering there (their other channels and the history stay), and its signing secret is lost.",
                        users.join(", ")
                    )
                },
            }
        }
        _ => return Err(PageError::NotFound(format!("alert {what}"))),
    };
    respond(&template.layout, &headers, StatusCode::OK, &template)
}

pub async fn delete(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path((what, id)): Path<(String, i64)>,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin()?;
    if form.confirm.as_deref() != Some("delete") {
        return Ok(redirect_with(
            &format!("{PAGE}/{what}/{id}/delete"),
            vec![flash(
                &headers,
                "warn",
                "Nothing was deleted yet: confirm below.",
            )],
        ));
    }
    let org = viewer.org();
    let actor = viewer.actor();
    let actor = spendlens_store::Actor {
        name: &actor,
        at: state.now(),
    };
    let detail = match what.as_str() {
        "rules" => {
            let rule = state
                .store()
                .delete_alert_rule(org, id, actor, describe_rule)
                .await?;
            describe_rule(&rule)
        }
        "channels" => {
            let channel = state.store().delete_alert_channel(org, id, actor).await?;
            format!("{} {}", channel.name, channel.kind)
        }
        _ => return Err(PageError::NotFound(format!("alert {what}"))),
    };
    Ok(redirect_with(
        PAGE,
        vec![flash(&headers, "ok", &format!("Deleted {detail}."))],
    ))
}

#[derive(Debug, Default, Deserialize)]
pub struct ChannelForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub target: String,
    #[serde(default)]
    pub secret: String,
}

pub async fn create_channel(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<ChannelForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin()?;
    let email = form.kind.trim() == "email";
    let input = ChannelInput {
        name: form.name.clone(),
        kind: form.kind.clone(),
        url: (!email).then(|| form.target.clone()),
        to: email.then(|| form.target.clone()),
        secret: blank(&form.secret),
    };
    let fail = |message: String| format!("The channel was not added: {}", capitalize(&message));
    let checked = match input.check() {
        Ok(checked) => checked,
        Err(message) => {
            return show(
                &state,
                &viewer,
                &headers,
                Some(("error", fail(message))),
                RuleForm::default(),
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    let org = viewer.org();
    let actor = viewer.actor();
    let actor = spendlens_store::Actor {
        name: &actor,
        at: state.now(),
    };
    let new = NewAlertChannel {
        name: &checked.name,
        kind: checked.kind,
        target: &checked.target,
        secret: checked.secret.as_deref(),
    };
    let added = match state
        .store()
        .create_alert_channel(org, &new, state.sync.vault(), actor, |added| {
            if added.kind == "email" {
                added.target.clone()
            } else {
                mask_url(&added.target)
            }
        })
        .await
    {
        Ok(added) => added,
        Err(err) => {
            let text = fail(refusal(err)?);
            return show(
                &state,
                &viewer,
                &headers,
                Some(("error", text)),
                RuleForm::default(),
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    if checked.generated_secret {
        let secret = checked.secret.unwrap_or_default();
        let text = format!(
            "Added the webhook “{}”. Its signing secret, shown only now: {secret} — verify X-Spendlens-Signature with it (see the README).",
            added.name
        );
        return show(
            &state,
            &viewer,
            &headers,
            Some(("ok", text)),
            RuleForm::default(),
            StatusCode::OK,
        )
        .await;
    }
    Ok(redirect_with(
        PAGE,
        vec![flash(
            &headers,
            "ok",
            &format!("Added the {} channel “{}”.", added.kind, added.name),
        )],
    ))
}

#[derive(Debug, Default, Deserialize)]
pub struct SmtpForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub host: String,
    #[serde(default)]
    pub port: String,
    #[serde(default)]
    pub security: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub clear_password: Option<String>,
    #[serde(default)]
    pub from: String,
}

pub async fn save_smtp(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<SmtpForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin()?;
    let port = match blank(&form.port).map(|p| p.parse::<u16>()).transpose() {
        Ok(port) => port,
        Err(_) => {
            let text = "The SMTP settings were not saved: the port is 1 to 65535.".to_owned();
            return show(
                &state,
                &viewer,
                &headers,
                Some(("error", text)),
                RuleForm::default(),
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    let password = if form.clear_password.is_some() {
        Some(String::new())
    } else {
        (!form.password.is_empty()).then(|| form.password.clone())
    };
    let input = SmtpInput {
        host: form.host.clone(),
        port,
        security: blank(&form.security),
        username: blank(&form.username),
        password,
        from: form.from.clone(),
    };
    let (settings, change) = match input.check() {
        Ok(pair) => pair,
        Err(message) => {
            let text = format!(
                "The SMTP settings were not saved: {}.",
                capitalize(&message)
            );
            return show(
                &state,
                &viewer,
                &headers,
                Some(("error", text)),
                RuleForm::default(),
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    let word = change.describe();
    let org = viewer.org();
    let actor = viewer.actor();
    let actor = spendlens_store::Actor {
        name: &actor,
        at: state.now(),
    };
    let saved = state
        .store()
        .put_alert_smtp(org, &settings, change, state.sync.vault(), actor)
        .await?;
    Ok(redirect_with(
        PAGE,
        vec![flash(
            &headers,
            "ok",
            &format!(
                "Saved the SMTP server {}:{} ({word}).",
                saved.host, saved.port
            ),
        )],
    ))
}
