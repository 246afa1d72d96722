//! Alert emails over SMTP (lettre on rustls with ring): the organization's server from its
//! settings, its password opened from the vault only here, one session per message, bounded by
//! the send timeout. A server that is down or refuses fails the attempt (logged, retried).

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use spendlens_store::NotificationJob;

use super::deliver::{Failure, failure};
use crate::AppState;

/// The message of a firing, to the channel's addresses.
fn build(from: &str, job: &NotificationJob) -> Result<Message, Failure> {
    let firing = &job.firing;
    let mut builder = Message::builder()
        .from(
            from.parse()
                .map_err(|e| failure(format!("the sender address \"{from}\" is not valid: {e}")))?,
        )
        .subject(format!("spendlens alert: {}", firing.rule_name))
        .header(ContentType::TEXT_PLAIN);
    for address in job
        .channel
        .target
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        builder = builder.to(address
            .parse()
            .map_err(|e| failure(format!("the address \"{address}\" is not valid: {e}")))?);
    }
    let body = format!(
        "{}\n\nRule: {} ({})\nScope: {}\nSubject: {}\nPeriod: {}\nValue: {}\nThreshold: {}\nFired at: {}\n",
        firing.message,
        firing.rule_name,
        firing.kind,
        firing.scope,
        if firing.subject.is_empty() {
            "-"
        } else {
            &firing.subject
        },
        if firing.period_key.is_empty() {
            "-"
        } else {
            &firing.period_key
        },
        firing.value,
        firing.threshold,
        firing
            .fired_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
    );
    builder
        .body(body)
        .map_err(|e| failure(format!("the message cannot be built: {e}")))
}

pub(super) async fn send(
    app: &AppState,
    job: &NotificationJob,
    timeout: Duration,
) -> Result<(), Failure> {
    let store = app.store();
    let Some(smtp) = store
        .alert_smtp(job.org)
        .await
        .map_err(|e| failure(e.to_string()))?
    else {
        return Err(failure(
            "no SMTP server is configured (Cost → Alerts → Email, or `spendlens alerts smtp set`)",
        ));
    };
    let message = build(&smtp.from_address, job)?;
    let builder = match smtp.security.as_str() {
        "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)
            .map_err(|e| failure(format!("TLS to {}: {e}", smtp.host)))?,
        "starttls" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)
            .map_err(|e| failure(format!("STARTTLS to {}: {e}", smtp.host)))?,
        _ => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.clone()),
    };
    let mut builder = builder.port(smtp.port).timeout(Some(timeout));
    if let Some(user) = smtp.username.clone() {
        let password = store
            .alert_smtp_password(job.org, app.sync.vault())
            .await
            .map_err(|e| failure(format!("the SMTP password cannot be read: {e}")))?
            .unwrap_or_default();
        builder = builder.credentials(Credentials::new(user, password));
    }
    let transport = builder.build();
    match tokio::time::timeout(timeout * 2, transport.send(message)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(err)) => Err(failure(format!("SMTP {}:{}: {err}", smtp.host, smtp.port))),
        Err(_) => Err(failure(format!(
            "SMTP {}:{}: no answer within {} s (timed out)",
            smtp.host,
            smtp.port,
            (timeout * 2).as_secs_f64()
        ))),
    }
}
