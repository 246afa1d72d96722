//! Alert input as the API, the dashboard's forms and the CLI send it: a rule, a channel, the
//! SMTP settings — each checked into store types with a message per bad value — and how rules,
//! channels and settings are shown (URLs masked, secrets never).

use rand::RngCore;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};
use spendlens_domain::alerts::{RuleSpec, Source};
use spendlens_store::{AlertChannelRow, AlertRuleRow, NewAlertRule, SmtpSettings};

/// A rule as sent (JSON body, form or CLI flags).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleInput {
    pub name: String,
    pub kind: String,
    /// `metered` (default) or `billed`.
    pub source: Option<String>,
    /// `org` (default), `provider`, `model`, `customer`, `api_key`, `workspace`.
    pub scope: Option<String>,
    pub scope_value: Option<String>,
    pub period: Option<String>,
    pub window_hours: Option<i64>,
    /// An exact decimal (a JSON string or number).
    pub threshold: Value,
    pub min_calls: Option<i64>,
    #[serde(default)]
    pub channels: Vec<i64>,
    pub enabled: Option<bool>,
}

fn decimal(value: &Value, what: &str) -> Result<Decimal, String> {
    let text = match value {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        Value::Null => return Err(format!("{what} is required")),
        other => return Err(format!("{what} must be a decimal, got {other}")),
    };
    let text = text.trim_start_matches('$');
    text.parse::<Decimal>()
        .or_else(|_| Decimal::from_scientific(text))
        .map_err(|_| format!("{what} must be a decimal such as 1.25, got \"{text}\""))
}

impl RuleInput {
    pub fn into_rule(self) -> Result<NewAlertRule, String> {
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 100 {
            return Err("a rule's name is 1 to 100 characters".to_owned());
        }
        let opt = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let spec = RuleSpec {
            kind: self.kind.parse()?,
            source: opt(&self.source)
                .map(|s| s.parse())
                .transpose()?
                .unwrap_or(Source::Metered),
            scope: opt(&self.scope)
                .map(|s| s.parse())
                .transpose()?
                .unwrap_or(spendlens_domain::alerts::ScopeKind::Org),
            scope_value: opt(&self.scope_value),
            period: opt(&self.period).map(|s| s.parse()).transpose()?,
            window_hours: self.window_hours,
            threshold: decimal(&self.threshold, "threshold")?,
            min_calls: self.min_calls.unwrap_or(1),
        }
        .check()?;
        let mut channels = self.channels;
        channels.sort_unstable();
        channels.dedup();
        Ok(NewAlertRule {
            name,
            spec,
            channels,
            enabled: self.enabled.unwrap_or(true),
        })
    }
}

/// A channel as sent.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelInput {
    pub name: String,
    /// `webhook` (generic JSON, signed), `slack` or `email`.
    pub kind: String,
    /// The URL (webhook, slack).
    pub url: Option<String>,
    /// The addresses (email), comma-separated.
    pub to: Option<String>,
    /// The webhook's signing secret; generated (and shown once) when absent.
    pub secret: Option<String>,
}

/// A checked channel: name, kind, target, and the secret to seal.
#[derive(Clone, Debug)]
pub struct CheckedChannel {
    pub name: String,
    pub kind: &'static str,
    pub target: String,
    pub secret: Option<String>,
    /// The secret was generated here: show it once.
    pub generated_secret: bool,
}

fn check_url(text: &str) -> Result<String, String> {
    let url = url::Url::parse(text.trim())
        .map_err(|e| format!("the URL \"{}\" is not valid: {e}", mask_url(text)))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("a webhook URL starts with https:// (or http://)".to_owned());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "a webhook URL must not carry a user name or password; use the signing secret"
                .to_owned(),
        );
    }
    if url.host_str().is_none() {
        return Err("a webhook URL needs a host".to_owned());
    }
    Ok(url.to_string())
}

fn check_addresses(text: &str) -> Result<String, String> {
    let addresses: Vec<&str> = text
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .collect();
    if addresses.is_empty() || addresses.len() > 20 {
        return Err("an email channel needs 1 to 20 addresses, comma-separated".to_owned());
    }
    for address in &addresses {
        address
            .parse::<lettre::Address>()
            .map_err(|e| format!("\"{address}\" is not an email address: {e}"))?;
    }
    Ok(addresses.join(", "))
}

impl ChannelInput {
    pub fn check(self) -> Result<CheckedChannel, String> {
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 100 {
            return Err("a channel's name is 1 to 100 characters".to_owned());
        }
        let secret = self
            .secret
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty());
        if secret
            .as_ref()
            .is_some_and(|s| s.len() < 16 || s.len() > 200)
        {
            return Err("a signing secret is 16 to 200 characters".to_owned());
        }
        let url = || {
            self.url
                .as_deref()
                .ok_or_else(|| format!("a {} channel needs a url", self.kind.trim()))
                .and_then(check_url)
        };
        match self.kind.trim() {
            "webhook" => {
                let generated = secret.is_none();
                let secret = secret.unwrap_or_else(|| {
                    let mut bytes = [0u8; 24];
                    rand::rng().fill_bytes(&mut bytes);
                    format!("whsec_{}", hex::encode(bytes))
                });
                Ok(CheckedChannel {
                    name,
                    kind: "webhook",
                    target: url()?,
                    secret: Some(secret),
                    generated_secret: generated,
                })
            }
            "slack" => Ok(CheckedChannel {
                name,
                kind: "slack",
                target: url()?,
                secret,
                generated_secret: false,
            }),
            "email" => Ok(CheckedChannel {
                name,
                kind: "email",
                target: check_addresses(
                    self.to
                        .as_deref()
                        .ok_or("an email channel needs \"to\": the addresses")?,
                )?,
                secret: None,
                generated_secret: false,
            }),
            other => Err(format!(
                "unknown channel kind \"{other}\"; use webhook, slack or email"
            )),
        }
    }
}

/// The SMTP settings as sent; an absent password keeps the stored one, `""` clears it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpInput {
    pub host: String,
    pub port: Option<u16>,
    /// `starttls` (default), `tls` or `none`.
    pub security: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub from: String,
}

impl SmtpInput {
    pub fn check(self) -> Result<(SmtpSettings, spendlens_store::PasswordChange), String> {
        let host = self.host.trim().to_owned();
        if host.is_empty() || host.len() > 253 || host.contains(['/', ' ', '@']) {
            return Err(
                "the SMTP host is a host name or address, e.g. smtp.example.com".to_owned(),
            );
        }
        let security = self
            .security
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or("starttls")
            .to_owned();
        let default_port = match security.as_str() {
            "tls" => 465,
            "starttls" => 587,
            "none" => 25,
            other => {
                return Err(format!(
                    "unknown SMTP security \"{other}\"; use starttls, tls or none"
                ));
            }
        };
        let port = self.port.unwrap_or(default_port);
        if port == 0 {
            return Err("the SMTP port is 1 to 65535".to_owned());
        }
        let from = self.from.trim().to_owned();
        from.parse::<lettre::message::Mailbox>()
            .map_err(|e| format!("the sender \"{from}\" is not an email address: {e}"))?;
        let username = self
            .username
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty());
        let password = match self.password {
            None => spendlens_store::PasswordChange::Keep,
            Some(p) if p.is_empty() => spendlens_store::PasswordChange::Clear,
            Some(p) => spendlens_store::PasswordChange::Set(p),
        };
        Ok((
            SmtpSettings {
                host,
                port,
                security,
                username,
                from_address: from,
                password_set: false,
            },
            password,
        ))
    }
}

/// A URL as shown: scheme, host and port, the path hidden (Slack's URLs are secrets).
pub fn mask_url(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(url) => {
            let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
            format!(
                "{}://{}{port}/…",
                url.scheme(),
                url.host_str().unwrap_or("?")
            )
        }
        Err(_) => "(not a URL)".to_owned(),
    }
}

pub fn rule_json(rule: &AlertRuleRow) -> Value {
    let s = &rule.spec;
    json!({
        "id": rule.id,
        "name": rule.name,
        "kind": s.kind.as_str(),
        "source": s.source.as_str(),
        "scope": s.scope.as_str(),
        "scope_value": s.scope_value,
        "period": s.period.map(|p| p.as_str()),
        "window_hours": s.window_hours,
        "threshold": s.threshold.normalize().to_string(),
        "min_calls": s.min_calls,
        "channels": rule.channels,
        "enabled": rule.enabled,
        "version": rule.version,
        "description": format!("{} — {}", s.kind.title(), s.scope_text()),
        "created_at": rfc3339(rule.created_at),
        "updated_at": rfc3339(rule.updated_at),
    })
}

pub fn channel_json(channel: &AlertChannelRow) -> Value {
    let target = if channel.kind == "email" {
        channel.target.clone()
    } else {
        mask_url(&channel.target)
    };
    json!({
        "id": channel.id,
        "name": channel.name,
        "kind": channel.kind,
        "target": target,
        "signed": channel.has_secret,
        "enabled": channel.enabled,
        "created_at": rfc3339(channel.created_at),
    })
}

pub fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A rule for the audit log, one line.
pub fn describe_rule(rule: &AlertRuleRow) -> String {
    let s = &rule.spec;
    let mut text = format!(
        "{} {} {} threshold {}",
        rule.name,
        s.kind,
        s.scope_text(),
        s.threshold.normalize()
    );
    if let Some(p) = s.period {
        text.push_str(&format!(" per {}", p.as_str()));
    }
    if let Some(w) = s.window_hours {
        text.push_str(&format!(" over {w} h"));
    }
    text.push_str(&format!(
        " ({}, channels {:?}, {})",
        s.source.as_str(),
        rule.channels,
        if rule.enabled { "enabled" } else { "disabled" }
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_is_checked_and_a_channel_secret_generated() {
        let rule = RuleInput {
            name: " big spender ".into(),
            kind: "avg_cost".into(),
            scope: Some("customer".into()),
            scope_value: Some("cus_42".into()),
            threshold: json!("1.25"),
            ..RuleInput::default()
        }
        .into_rule()
        .unwrap();
        assert_eq!(rule.name, "big spender");
        assert_eq!(rule.spec.threshold, Decimal::new(125, 2));
        let bad = RuleInput {
            name: "x".into(),
            kind: "spend".into(),
            threshold: json!("-3"),
            ..RuleInput::default()
        };
        assert!(bad.into_rule().unwrap_err().contains("negative"));
        let channel = ChannelInput {
            name: "ops".into(),
            kind: "webhook".into(),
            url: Some("https://hooks.example.com/a/b/c".into()),
            ..ChannelInput::default()
        }
        .check()
        .unwrap();
        assert!(channel.generated_secret);
        assert!(channel.secret.unwrap().starts_with("whsec_"));
        assert_eq!(
            mask_url("https://hooks.slack.com/services/T0/B0/SECRET"),
            "https://hooks.slack.com/…"
        );
        let userinfo = ChannelInput {
            name: "x".into(),
            kind: "slack".into(),
            url: Some("https://user:pw@example.com/".into()),
            ..ChannelInput::default()
        };
        assert!(userinfo.check().is_err());
    }
}
