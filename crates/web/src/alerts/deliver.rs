//! The delivery worker: claims pending notifications (one claim per notification, so several
//! servers never send one twice) and sends each on its own task — a webhook POST with a
//! timeout and no redirects followed, or an email over SMTP — retrying with backoff and
//! logging every attempt (attempt, outcome, HTTP status, error). Nothing here runs on the
//! ingest path; a hanging URL or a dead SMTP server only delays its own notification.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use spendlens_domain::alerts::retry_delay;
use spendlens_store::{NotificationJob, Store};
use tokio::sync::Notify;

use super::message::{SIGNATURE_HEADER, TIMESTAMP_HEADER, signature, slack_body, webhook_body};
use crate::AppState;

/// A claim older than this is taken to be abandoned by a stopped server.
const STALE_CLAIM: time::Duration = time::Duration::hours(1);

/// Why an attempt failed.
#[derive(Debug)]
pub(super) struct Failure {
    pub http_status: Option<u16>,
    pub message: String,
}

pub(super) fn failure(message: impl Into<String>) -> Failure {
    Failure {
        http_status: None,
        message: message.into(),
    }
}

pub(crate) async fn run(state: Weak<AppState>, wake: Arc<Notify>) {
    let Some(settings) = state.upgrade().map(|s| s.alerts.settings.clone()) else {
        return;
    };
    // Outbound HTTPS needs a crypto provider; the binary installs ring at start, tests may not.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(settings.send_timeout)
        .connect_timeout(settings.send_timeout)
        .user_agent(concat!("spendlens-alerts/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(client) => client,
        Err(err) => {
            tracing::error!(error = %err, "alerts: the webhook client cannot be built; nothing will be delivered");
            return;
        }
    };
    let mut poll = tokio::time::interval(settings.tick);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = wake.notified() => {}
            _ = poll.tick() => {}
        }
        let Some(app) = state.upgrade() else { return };
        let now = app.now();
        let jobs = match app
            .store()
            .claim_alert_notifications(now, now - STALE_CLAIM, 100)
            .await
        {
            Ok(jobs) => jobs,
            Err(err) => {
                tracing::warn!(error = %err, "alerts: cannot claim notifications; retried on the next tick");
                continue;
            }
        };
        drop(app);
        for job in jobs {
            tokio::spawn(deliver(state.clone(), client.clone(), job));
        }
    }
}

/// Sends one notification until it is delivered or out of attempts, logging each attempt.
async fn deliver(state: Weak<AppState>, client: reqwest::Client, job: NotificationJob) {
    let mut attempt = u32::try_from(job.attempts).unwrap_or(0);
    loop {
        attempt += 1;
        let Some(app) = state.upgrade() else { return };
        let settings = app.alerts.settings.clone();
        let started = Instant::now();
        let result = send(&app, &client, &job, settings.send_timeout).await;
        let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let last = attempt >= settings.max_attempts;
        let (outcome, http_status, error) = match &result {
            Ok(status) => ("delivered", status.map(i64::from), None),
            Err(f) => (
                if last { "failed" } else { "retrying" },
                f.http_status.map(i64::from),
                Some(f.message.as_str()),
            ),
        };
        if let Some(error) = error {
            tracing::warn!(channel = %job.channel.name, attempt, error, "alert delivery failed");
        }
        if let Err(err) = app
            .store()
            .record_alert_attempt(
                job.org,
                job.id,
                i64::from(attempt),
                outcome,
                http_status,
                error,
                duration_ms,
                app.now(),
            )
            .await
        {
            tracing::warn!(error = %err, "alerts: an attempt could not be logged");
        }
        if outcome != "retrying" {
            return;
        }
        drop(app);
        let wait = retry_delay(
            attempt + 1,
            time::Duration::try_from(settings.retry_base).unwrap_or(time::Duration::SECOND),
            time::Duration::try_from(settings.retry_max).unwrap_or(time::Duration::MINUTE),
        );
        tokio::time::sleep(Duration::try_from(wait).unwrap_or(settings.retry_base)).await;
    }
}

async fn send(
    app: &AppState,
    client: &reqwest::Client,
    job: &NotificationJob,
    timeout: Duration,
) -> Result<Option<u16>, Failure> {
    match job.channel.kind.as_str() {
        "webhook" | "slack" => post(app, client, job, timeout).await.map(Some),
        "email" => super::email::send(app, job, timeout).await.map(|()| None),
        other => Err(failure(format!("unknown channel kind \"{other}\""))),
    }
}

async fn post(
    app: &AppState,
    client: &reqwest::Client,
    job: &NotificationJob,
    timeout: Duration,
) -> Result<u16, Failure> {
    let store: &Store = app.store();
    let body = if job.channel.kind == "slack" {
        slack_body(&job.firing)
    } else {
        webhook_body(&job.firing)
    };
    let bytes = serde_json::to_vec(&body).map_err(|e| failure(e.to_string()))?;
    let timestamp = app.now().unix_timestamp();
    let mut request = client
        .post(&job.channel.target)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(TIMESTAMP_HEADER, timestamp.to_string())
        .header("x-spendlens-delivery", job.id.to_string());
    let secret = store
        .alert_channel_secret(job.org, job.channel.id, app.sync.vault())
        .await
        .map_err(|e| failure(format!("the channel's secret cannot be read: {e}")))?;
    if let Some(secret) = secret {
        request = request.header(SIGNATURE_HEADER, signature(&secret, timestamp, &bytes));
    }
    let response = request.body(bytes).send().await.map_err(|err| {
        if err.is_timeout() {
            failure(format!(
                "no answer within {} s (timed out)",
                timeout.as_secs_f64()
            ))
        } else if err.is_connect() {
            failure(format!(
                "cannot connect: {}",
                source_text(&err.without_url())
            ))
        } else {
            failure(source_text(&err.without_url()))
        }
    })?;
    let status = response.status();
    if status.is_success() {
        return Ok(status.as_u16());
    }
    if status.is_redirection() {
        let to = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(crate::alerts::input::mask_url)
            .unwrap_or_else(|| "nowhere".to_owned());
        return Err(Failure {
            http_status: Some(status.as_u16()),
            message: format!(
                "answered {status} redirecting to {to}; redirects are not followed — set the channel's URL to the final address"
            ),
        });
    }
    let text = response.text().await.unwrap_or_default();
    let snippet: String = text.chars().take(200).collect();
    Err(Failure {
        http_status: Some(status.as_u16()),
        message: format!("answered {status}: {}", snippet.trim()),
    })
}

/// An error with its causes, one line.
fn source_text(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
