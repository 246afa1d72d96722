//! Compliance evidence for auditors — SOC 2 Type II, HIPAA and GDPR — over a period: both
//! hash chains verified (the audit log and the access log) and the result stated, access
//! control (users, roles, API tokens, live sessions), sign-ins, failed and refused sign-ins,
//! token use and denied requests, policy enforcement (what policies exist and fired), where
//! data is stored, retention and the oldest data held, data processing activities, and event
//! counts by type. Read from the store; figures are counts, never copies of log details.

use serde::Serialize;
use spendlens_domain::DayRange;
use spendlens_store::{AccessKind, AuditVerdict, NamedCount, OldestData, OrgId, ReportKind, Store};
use time::OffsetDateTime;

use crate::QueryError;

/// One hash chain's verification.
#[derive(Clone, Debug, Serialize)]
pub struct ChainCheck {
    pub name: &'static str,
    pub intact: bool,
    /// Entries verified (an intact chain).
    pub entries: Option<usize>,
    /// The first entry that does not verify (a broken chain), and why.
    pub broken_at: Option<i64>,
    pub reason: Option<String>,
}

fn chain(name: &'static str, verdict: AuditVerdict) -> ChainCheck {
    match verdict {
        AuditVerdict::Intact { entries } => ChainCheck {
            name,
            intact: true,
            entries: Some(entries),
            broken_at: None,
            reason: None,
        },
        AuditVerdict::Broken { entry_id, reason } => ChainCheck {
            name,
            intact: false,
            entries: None,
            broken_at: Some(entry_id),
            reason: Some(reason),
        },
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct UserLine {
    pub email: String,
    pub role: String,
    pub status: &'static str,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_sign_in: Option<OffsetDateTime>,
}

#[derive(Clone, Debug, Serialize)]
pub struct TokenLine {
    pub name: String,
    pub prefix: String,
    pub scopes: String,
    pub state: &'static str,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used: Option<OffsetDateTime>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ProcessingLine {
    pub provider: String,
    pub connection: String,
    pub status: String,
    pub data: &'static str,
}

/// What the server was started with that reports cannot read from the database.
#[derive(Clone, Debug, Default)]
pub struct ServerFacts {
    /// `serve --meter-retention-days`: raw metered events older than this are deleted.
    pub meter_retention_days: Option<u32>,
}

/// A compliance report.
#[derive(Clone, Debug, Serialize)]
pub struct ComplianceReport {
    pub kind: ReportKind,
    pub title: &'static str,
    pub period: DayRange,
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    pub generated_by: String,
    pub chains: Vec<ChainCheck>,
    pub chains_intact: bool,
    pub users: Vec<UserLine>,
    pub tokens: Vec<TokenLine>,
    pub live_sessions: i64,
    /// Access-log entries per kind in the period.
    pub access_events: Vec<NamedCount>,
    /// Audit entries per action in the period.
    pub audit_events: Vec<NamedCount>,
    pub sign_ins: Vec<NamedCount>,
    pub failed_sign_ins: Vec<NamedCount>,
    pub refused_sign_ins: Vec<NamedCount>,
    pub token_use: Vec<NamedCount>,
    pub denied_requests: Vec<NamedCount>,
    pub denied_actors: Vec<NamedCount>,
    /// Budgets: what is recorded of them, in words, and the figures.
    pub budgets: String,
    pub budget_facts: spendlens_store::BudgetFacts,
    pub alert_rules: usize,
    pub alert_rules_enabled: usize,
    pub alert_firings: i64,
    pub anomaly_thresholds: usize,
    pub database: &'static str,
    pub database_location: String,
    pub meter_retention_days: Option<u32>,
    pub oldest: OldestData,
    pub processing: Vec<ProcessingLine>,
    pub metered_providers: Vec<String>,
    pub notes: Vec<String>,
}

/// What is recorded of budgets, in words: the caps, the checks they denied (the record of
/// denials, per cap and UTC day), and the hard caps reached and soft thresholds crossed
/// (budget alert firings).
fn budget_words(b: &spendlens_store::BudgetFacts) -> String {
    if b.caps == 0 && b.hard_firings == 0 && b.soft_firings == 0 && b.denials == 0 {
        return "No budget data recorded: no budget cap is set, so no request was denied and \
                no hard cap was hit by one."
            .to_owned();
    }
    let denials = if b.denials == 0 {
        "No budget check was denied in the period.".to_owned()
    } else {
        format!(
            "{} budget checks were denied in the period by {} caps ({} of them without a price, \
             denied by fail-closed caps; {} USD of estimated cost refused).",
            b.denials, b.denying_caps, b.unpriced_denials, b.denied_estimate
        )
    };
    format!(
        "{} budget caps ({} enabled). {denials} {} hard-cap alerts fired (a cap reached) \
         and {} soft-threshold alerts (budget_hard and budget_soft alert rules; a cap reached \
         without such a rule is not recorded as an alert). Denials are written by each server \
         about once a second; a server that crashed loses at most its last second of them.",
        b.caps, b.caps_enabled, b.hard_firings, b.soft_firings
    )
}

/// At most this many actors or request lines per list.
const TOP: i64 = 25;

/// Reads one organization's evidence for a period.
pub async fn compliance(
    store: &Store,
    org: OrgId,
    kind: ReportKind,
    period: DayRange,
    generated_by: &str,
    now: OffsetDateTime,
    facts: &ServerFacts,
) -> Result<ComplianceReport, QueryError> {
    let from = period.from().start();
    let to = period
        .end_exclusive()
        .map_err(|e| QueryError::Invalid(e.to_string()))?
        .start();
    let chains = vec![
        chain("Audit log", store.verify_audit(org).await?),
        chain("Access log", store.verify_access_log(org).await?),
    ];
    let users = store
        .list_users(org)
        .await?
        .into_iter()
        .map(|u| UserLine {
            status: if u.disabled_at.is_some() {
                "disabled"
            } else {
                "active"
            },
            role: u.role.to_string(),
            last_sign_in: u.last_login_at,
            email: u.email,
        })
        .collect();
    let tokens = store
        .list_api_tokens(org)
        .await?
        .into_iter()
        .map(|t| TokenLine {
            state: if t.revoked_at.is_some() {
                "revoked"
            } else if t.expires_at.is_some_and(|e| e <= now) {
                "expired"
            } else {
                "active"
            },
            scopes: t.scopes.to_string(),
            last_used: t.last_used_at,
            name: t.name,
            prefix: t.prefix,
        })
        .collect();
    let by =
        |kind: AccessKind, request: bool| store.access_counts_by(org, kind, request, from, to, TOP);
    let rules = store.list_alert_rules(org).await?;
    let firings = store.count_alert_firings_since(org, from).await?
        - store.count_alert_firings_since(org, to).await?;
    let processing = store
        .list_connections(org)
        .await?
        .into_iter()
        .map(|c| ProcessingLine {
            provider: c.provider.display_name().to_owned(),
            connection: c.name,
            status: c.status.as_str().to_owned(),
            data: "billing: cost, credits and usage per day, workspace, API key (names and \
                   hints only) and model; the credential sealed at rest",
        })
        .collect();
    let facets = store.meter_facets(org).await?;
    let budget_facts = store.budget_facts(org, from, to).await?;
    let chains_intact = chains.iter().all(|c| c.intact);
    let mut notes = vec![
        "spendlens stores no prompts or completions: the ingest API refuses fields that would \
         carry them, and a full provider key is cut to a hint before it is stored."
            .to_owned(),
        "Counts cover the period's UTC days; lists of actors and requests show the 25 most \
         frequent."
            .to_owned(),
    ];
    if !chains_intact {
        notes.insert(
            0,
            "A hash chain does not verify: an entry was edited, removed or reordered outside \
             spendlens. Treat the logs after the first broken entry as untrustworthy and \
             investigate."
                .to_owned(),
        );
    }
    Ok(ComplianceReport {
        kind,
        title: kind.title(),
        period,
        generated_at: now,
        generated_by: generated_by.to_owned(),
        chains,
        chains_intact,
        users,
        tokens,
        live_sessions: store.live_session_count(org, now).await?,
        access_events: store.access_kind_counts(org, from, to).await?,
        audit_events: store.audit_action_counts(org, from, to).await?,
        sign_ins: by(AccessKind::SignIn, false).await?,
        failed_sign_ins: by(AccessKind::SignInFailed, false).await?,
        refused_sign_ins: by(AccessKind::SignInRefused, false).await?,
        token_use: by(AccessKind::TokenUse, false).await?,
        denied_requests: by(AccessKind::Denied, true).await?,
        denied_actors: by(AccessKind::Denied, false).await?,
        budgets: budget_words(&budget_facts),
        budget_facts,
        alert_rules: rules.len(),
        alert_rules_enabled: rules.iter().filter(|r| r.enabled).count(),
        alert_firings: firings,
        anomaly_thresholds: store.anomaly_thresholds(org).await?.len(),
        database: match store.backend() {
            spendlens_store::Backend::Sqlite => "SQLite",
            spendlens_store::Backend::Postgres => "PostgreSQL",
        },
        database_location: store.location().redacted(),
        meter_retention_days: facts.meter_retention_days,
        oldest: store.oldest_data(org).await?,
        processing,
        metered_providers: facets.providers,
        notes,
    })
}
