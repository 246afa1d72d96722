//! Provider credentials: their expected shape, checked before any network call, and the
//! hint — the only part of a credential spendlens ever shows.
//!
//! A shape check says precisely what is wrong and what to do ("this is an OpenAI project key
//! (sk-proj-…); billing data needs an organization Admin key …"). It cannot say a well-shaped
//! key works: the live test call does that.

use std::fmt;

use serde_json::Value;

use crate::provider::ProviderKind;

mod azure;
mod piapi;
mod vertex;

pub use azure::{AzureServicePrincipal, AzureTenant};
pub use piapi::{PIAPI_DEFAULT_ENVIRONMENT, PiApiKey};
pub use vertex::{VERTEX_DEFAULT_BYTES_BILLED, VERTEX_MIN_BYTES_BILLED, vertex_bytes_cap};

/// A credential whose shape fits its provider. The secret is only readable on purpose.
#[derive(Clone)]
pub struct Credential {
    provider: ProviderKind,
    secret: String,
    hint: String,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("provider", &self.provider)
            .field("hint", &self.hint)
            .finish_non_exhaustive()
    }
}

/// Why a credential was refused before any network call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CredentialShapeError(pub String);

const OPENAI_ADMIN_KEYS: &str = "https://platform.openai.com/settings/organization/admin-keys";
const ANTHROPIC_ADMIN_KEYS: &str = "https://console.anthropic.com/settings/admin-keys";

impl Credential {
    /// Checks `raw` against the provider's credential shape.
    pub fn parse(provider: ProviderKind, raw: &str) -> Result<Credential, CredentialShapeError> {
        let text = raw.trim();
        if text.is_empty() {
            return Err(shape(format!(
                "the {} credential is empty; paste the key itself",
                provider.display_name()
            )));
        }
        let hint = match provider {
            ProviderKind::OpenAi => check_openai(text)?,
            ProviderKind::Anthropic => check_anthropic(text)?,
            ProviderKind::Bedrock => check_bedrock(text)?,
            ProviderKind::Vertex => check_vertex(text)?,
            ProviderKind::Fal => check_fal(text)?,
            ProviderKind::Runway => check_runway(text)?,
            ProviderKind::OpenRouter => check_openrouter(text)?,
            ProviderKind::LiteLlm => check_litellm(text)?,
            ProviderKind::AzureOpenAi => AzureServicePrincipal::parse(text)?.hint(),
            ProviderKind::PiApi => PiApiKey::parse(text)?.hint(),
        };
        Ok(Credential {
            provider,
            secret: text.to_owned(),
            hint,
        })
    }

    pub fn provider(&self) -> ProviderKind {
        self.provider
    }

    /// The secret itself: for the encrypting store and the provider client, nothing else.
    pub fn expose_secret(&self) -> &str {
        &self.secret
    }

    /// A recognizable, non-secret form (`sk-ant-admin01-Z4C…EQAA`).
    pub fn hint(&self) -> &str {
        &self.hint
    }
}

/// What a provider's credential looks like and where to get it: (placeholder, hint).
pub const fn expected_shape(provider: ProviderKind) -> (&'static str, &'static str) {
    match provider {
        ProviderKind::OpenAi => (
            "sk-admin-…",
            "An organization Admin key (sk-admin-…): platform.openai.com → Settings → Organization → Admin keys. Project keys (sk-proj-…) cannot read billing.",
        ),
        ProviderKind::Anthropic => (
            "sk-ant-admin01-…",
            "An Admin key (sk-ant-admin01-…): console.anthropic.com → Settings → Admin keys. Standard keys (sk-ant-api03-…) cannot read billing.",
        ),
        ProviderKind::Bedrock => (
            r#"{"accessKeyId": "AKIA…", "secretAccessKey": "…", "region": "us-east-1"}"#,
            "IAM credentials allowed ce:GetCostAndUsage and ce:GetDimensionValues. A Bedrock API key (ABSK…) cannot read billing.",
        ),
        ProviderKind::Vertex => (
            r#"{"type": "service_account", "client_email": "…", "private_key": "…", …}"#,
            "A service-account JSON key with BigQuery Data Viewer and Job User on the billing export; add \"billing_dataset\" to skip discovery and \"maximum_bytes_billed\" to change the 20 GB query cap.",
        ),
        ProviderKind::Fal => (
            "key-id:key-secret",
            "An ADMIN-scope key (<uuid>:<hex>) from fal.ai → Dashboard → Keys.",
        ),
        ProviderKind::Runway => (
            "key_…",
            "An API key (key_…) from the Runway developer portal (dev.runwayml.com).",
        ),
        ProviderKind::OpenRouter => (
            r#"{"apiKey": "sk-or-v1-…", "provisioningKey": "sk-or-v1-…"}"#,
            "A management (provisioning) key shows daily activity per model; a plain API key shows only its own totals.",
        ),
        ProviderKind::LiteLlm => (
            r#"{"apiKey": "sk-…", "baseUrl": "https://litellm.example.com"}"#,
            "The proxy's master key or an admin virtual key, and the proxy's URL.",
        ),
        ProviderKind::PiApi => (
            r#"{"apiKey": "…", "environment": "production"}"#,
            "A PiAPI API key from the PiAPI workspace (the bare key works too). The environment is a label to tell PiAPI accounts apart; PiAPI has one API host and no sandbox.",
        ),
        ProviderKind::AzureOpenAi => (
            r#"{"tenantId": "…", "clientId": "…", "clientSecret": "…", "subscriptionId": "…", "resourceGroup": null, "scope": null}"#,
            "An app registration (service principal) with the Cost Management Reader role on the subscription or resource group: its Directory (tenant) ID, Application (client) ID and a client secret's Value. The output of `az ad sp create-for-rbac` (appId, password, tenant) is accepted too, with subscriptionId added.",
        ),
    }
}

pub(crate) fn shape(message: String) -> CredentialShapeError {
    CredentialShapeError(message)
}

fn single_token(text: &str, provider: &str) -> Result<(), CredentialShapeError> {
    if text.chars().any(char::is_whitespace) {
        return Err(shape(format!(
            "the {provider} key contains spaces or line breaks; paste only the key"
        )));
    }
    Ok(())
}

/// `prefix` + 3 characters + `…` + the last 4, or the prefix alone for short secrets.
pub fn hint_of(secret: &str, prefix_len: usize) -> String {
    let chars: Vec<char> = secret.chars().collect();
    let prefix_len = prefix_len.min(chars.len());
    if chars.len() < prefix_len + 3 + 4 + 4 {
        let head: String = chars[..prefix_len.min(4)].iter().collect();
        return format!("{head}…");
    }
    let head: String = chars[..prefix_len + 3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// The masked form of a stored API key value: hints (which carry an ellipsis) as they are,
/// anything else cut to its prefix (up to the last `-` or `_` within 16 characters), three
/// characters and the last four (`key-…` when too short to keep any of it).
pub fn mask_stored_key(stored: &str) -> String {
    if stored.contains('…') || stored.contains("...") {
        return stored.to_owned();
    }
    let prefix_len = stored
        .char_indices()
        .take(16)
        .filter(|(_, c)| *c == '-' || *c == '_')
        .map(|(i, _)| i + 1)
        .last()
        .unwrap_or(0);
    hint_of(stored, prefix_len)
}

fn check_openai(text: &str) -> Result<String, CredentialShapeError> {
    single_token(text, "OpenAI")?;
    let refuse = |what: &str| {
        shape(format!(
            "this is an OpenAI {what}; billing data needs an organization Admin key (sk-admin-…), \
             create one at {OPENAI_ADMIN_KEYS}"
        ))
    };
    if text.starts_with("sk-proj-") {
        return Err(refuse("project key (sk-proj-…)"));
    }
    if text.starts_with("sk-svcacct-") {
        return Err(refuse("service account key (sk-svcacct-…)"));
    }
    if text.starts_with("sk-None-") || text.starts_with("sk-user-") {
        return Err(refuse("user key"));
    }
    if text.starts_with("sk-ant-") {
        return Err(shape(
            "this is an Anthropic key; add it as an Anthropic connection, or paste an OpenAI Admin key (sk-admin-…)"
                .to_owned(),
        ));
    }
    if !text.starts_with("sk-") {
        return Err(shape(format!(
            "this does not look like an OpenAI key (they start with sk-); billing data needs an \
             organization Admin key (sk-admin-…), create one at {OPENAI_ADMIN_KEYS}"
        )));
    }
    let prefix = if text.starts_with("sk-admin-") { 9 } else { 3 };
    Ok(hint_of(text, prefix))
}

fn check_anthropic(text: &str) -> Result<String, CredentialShapeError> {
    single_token(text, "Anthropic")?;
    if text.starts_with("sk-ant-api") {
        return Err(shape(format!(
            "this is an Anthropic standard API key (sk-ant-api03-…); billing data needs an \
             organization Admin key (sk-ant-admin01-…), create one at {ANTHROPIC_ADMIN_KEYS}"
        )));
    }
    if text.starts_with("sk-ant-oat") || text.starts_with("sk-ant-ort") {
        return Err(shape(format!(
            "this is a Claude OAuth token, not an Admin key; billing data needs an organization \
             Admin key (sk-ant-admin01-…), create one at {ANTHROPIC_ADMIN_KEYS}"
        )));
    }
    if !text.starts_with("sk-ant-admin") {
        return Err(shape(format!(
            "this does not look like an Anthropic Admin key (sk-ant-admin01-…); create one at \
             {ANTHROPIC_ADMIN_KEYS} (only organization admins can)"
        )));
    }
    let prefix = text
        .get(12..)
        .and_then(|rest| rest.find('-'))
        .map_or(12, |dash| 12 + dash + 1);
    Ok(hint_of(text, prefix))
}

pub(crate) fn json_object(
    text: &str,
    provider: &str,
    example: &str,
) -> Result<serde_json::Map<String, Value>, CredentialShapeError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(shape(format!(
            "the {provider} credential must be a JSON object like {example}"
        ))),
    }
}

fn string_field<'a>(
    map: &'a serde_json::Map<String, Value>,
    field: &str,
    provider: &str,
) -> Result<&'a str, CredentialShapeError> {
    match map.get(field).and_then(Value::as_str).map(str::trim) {
        Some(value) if !value.is_empty() => Ok(value),
        _ => Err(shape(format!(
            "the {provider} credential has no \"{field}\"; it is required"
        ))),
    }
}

fn check_bedrock(text: &str) -> Result<String, CredentialShapeError> {
    let example = r#"{"accessKeyId": "AKIA…", "secretAccessKey": "…", "region": "us-east-1"}"#;
    if text.starts_with("ABSK") || text.contains("\"ABSK") {
        return Err(shape(
            "this is an Amazon Bedrock API key (ABSK…): it can invoke models but cannot read billing; \
             create IAM credentials with ce:GetCostAndUsage (and ce:GetDimensionValues) and paste them as \
             {\"accessKeyId\": \"AKIA…\", \"secretAccessKey\": \"…\", \"region\": \"us-east-1\"}"
                .to_owned(),
        ));
    }
    let map = json_object(text, "AWS", example)?;
    let key_id = string_field(&map, "accessKeyId", "AWS")?;
    string_field(&map, "secretAccessKey", "AWS")?;
    let region = string_field(&map, "region", "AWS")?;
    if !(key_id.starts_with("AKIA") || key_id.starts_with("ASIA")) || key_id.len() < 16 {
        return Err(shape(format!(
            "\"accessKeyId\" should be an IAM access key id (AKIA… or ASIA…), not \"{}\"",
            hint_of(key_id, 0)
        )));
    }
    if key_id.starts_with("ASIA") && map.get("sessionToken").and_then(Value::as_str).is_none() {
        return Err(shape(
            "temporary credentials (ASIA…) need their \"sessionToken\" too".to_owned(),
        ));
    }
    if !region
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(shape(format!(
            "\"region\" should look like us-east-1, not \"{region}\""
        )));
    }
    Ok(hint_of(key_id, 4))
}

fn check_vertex(text: &str) -> Result<String, CredentialShapeError> {
    let example = r#"the service-account key file you downloaded ({"type": "service_account", …})"#;
    let map = json_object(text, "Google Cloud", example)?;
    if map.get("type").and_then(Value::as_str) != Some("service_account") {
        return Err(shape(
            "this is not a service-account key: the JSON needs \"type\": \"service_account\" \
             (IAM → Service accounts → Keys → Add key → JSON)"
                .to_owned(),
        ));
    }
    let email = string_field(&map, "client_email", "service-account")?;
    let private_key = string_field(&map, "private_key", "service-account")?;
    string_field(&map, "token_uri", "service-account")?;
    if !private_key.contains("-----BEGIN PRIVATE KEY-----") {
        return Err(shape(
            "the service account's \"private_key\" is not a PEM private key; download a fresh JSON key"
                .to_owned(),
        ));
    }
    if let Some(dataset) = map.get("billing_dataset") {
        let valid = dataset.as_str().is_some_and(|d| {
            !d.is_empty()
                && d.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        });
        if !valid {
            return Err(shape(
                "\"billing_dataset\" must be a dataset name such as my-project.billing_export"
                    .to_owned(),
            ));
        }
    }
    vertex_bytes_cap(map.get("maximum_bytes_billed")).map_err(shape)?;
    Ok(email.to_owned())
}

fn check_fal(text: &str) -> Result<String, CredentialShapeError> {
    single_token(text, "fal.ai")?;
    let text = text.strip_prefix("Key ").unwrap_or(text);
    let Some((id, secret)) = text.split_once(':') else {
        return Err(shape(
            "a fal.ai key has the form <key id>:<key secret>; create an ADMIN-scope key at \
             https://fal.ai/dashboard/keys"
                .to_owned(),
        ));
    };
    let id_ok = !id.is_empty() && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    let secret_ok = !secret.is_empty() && secret.chars().all(|c| c.is_ascii_hexdigit());
    if !id_ok || !secret_ok {
        return Err(shape(
            "a fal.ai key has the form <uuid>:<hex secret>; copy it whole from https://fal.ai/dashboard/keys"
                .to_owned(),
        ));
    }
    Ok(hint_of(text, 0))
}

fn check_runway(text: &str) -> Result<String, CredentialShapeError> {
    single_token(text, "Runway")?;
    if !text.starts_with("key_") {
        return Err(shape(
            "a Runway API key starts with key_; create one in the developer portal at \
             https://dev.runwayml.com"
                .to_owned(),
        ));
    }
    Ok(hint_of(text, 4))
}

fn check_openrouter(text: &str) -> Result<String, CredentialShapeError> {
    let example = r#"{"apiKey": "sk-or-v1-…", "provisioningKey": "sk-or-v1-…"}"#;
    if text.starts_with("sk-or-") {
        single_token(text, "OpenRouter")?;
        return Ok(hint_of(text, 9));
    }
    let map = json_object(text, "OpenRouter", example)?;
    let provisioning = map.get("provisioningKey").and_then(Value::as_str);
    let api_key = map.get("apiKey").and_then(Value::as_str);
    let shown = match (provisioning, api_key) {
        (Some(key), _) | (None, Some(key)) => key,
        (None, None) => {
            return Err(shape(format!(
                "the OpenRouter credential needs \"apiKey\" or \"provisioningKey\", like {example}"
            )));
        }
    };
    for key in [provisioning, api_key].into_iter().flatten() {
        if !key.starts_with("sk-or-") {
            return Err(shape(
                "OpenRouter keys start with sk-or-v1-; copy them from https://openrouter.ai/settings/keys"
                    .to_owned(),
            ));
        }
    }
    Ok(hint_of(shown, 9))
}

fn check_litellm(text: &str) -> Result<String, CredentialShapeError> {
    let example = r#"{"apiKey": "sk-…", "baseUrl": "https://litellm.example.com"}"#;
    let map = json_object(text, "LiteLLM", example)?;
    let key = string_field(&map, "apiKey", "LiteLLM")?;
    let base = string_field(&map, "baseUrl", "LiteLLM")?;
    if !key.starts_with("sk-") {
        return Err(shape(
            "the LiteLLM \"apiKey\" should be the proxy's master key or an admin virtual key (sk-…)"
                .to_owned(),
        ));
    }
    if !(base.starts_with("https://") || base.starts_with("http://")) {
        return Err(shape(format!(
            "the LiteLLM \"baseUrl\" must be the proxy's URL (https://…), not \"{}\"",
            display_url(base)
        )));
    }
    Ok(format!("{} @ {}", hint_of(key, 3), display_url(base)))
}

/// A URL as spendlens shows it (hints, pages, API answers, audit): scheme, host, port and path
/// only — user info (`user:password@`), the query (`?token=…`) and the fragment are dropped. A
/// text that is not a URL is not shown at all (it could be anything, a secret included).
pub fn display_url(raw: &str) -> String {
    match url::Url::parse(raw.trim()) {
        Ok(url) if url.has_host() => {
            let host = url.host_str().unwrap_or_default();
            let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
            format!(
                "{}://{host}{port}{}",
                url.scheme(),
                url.path().trim_end_matches('/')
            )
        }
        _ => "(a URL that cannot be shown)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_openai_project_key_is_refused_with_what_to_do() {
        let err = Credential::parse(ProviderKind::OpenAi, "sk-proj-abcdefghijklmnop1234")
            .unwrap_err()
            .to_string();
        assert!(err.contains("project key"), "{err}");
        assert!(err.contains("Admin key"), "{err}");
        assert!(err.contains("platform.openai.com"), "{err}");
    }

    #[test]
    fn an_anthropic_standard_key_is_refused_with_what_to_do() {
        let err = Credential::parse(
            ProviderKind::Anthropic,
            "sk-ant-api03-abcdefghijklmnopqrstuv",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("sk-ant-api03-"), "{err}");
        assert!(
            err.contains("billing data needs an organization Admin key"),
            "{err}"
        );
    }

    #[test]
    fn hints_show_the_prefix_and_the_last_four_only() {
        let key = "sk-ant-admin01-Z4CxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxEQAA";
        let credential = Credential::parse(ProviderKind::Anthropic, key).unwrap();
        assert_eq!(credential.hint(), "sk-ant-admin01-Z4C…EQAA");
        let credential = Credential::parse(
            ProviderKind::OpenAi,
            "sk-admin-AbCdefghijklmnopqrstuvwxYz12",
        )
        .unwrap();
        assert_eq!(credential.hint(), "sk-admin-AbC…Yz12");
        assert!(!format!("{credential:?}").contains("defghij"));
    }

    #[test]
    fn a_bedrock_api_key_cannot_read_billing() {
        let err = Credential::parse(ProviderKind::Bedrock, "ABSKQmVkcm9ja0FQSUtleS1hYmNk")
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot read billing"), "{err}");
        assert!(err.contains("ce:GetCostAndUsage"), "{err}");
    }

    #[test]
    fn json_credentials_name_the_missing_field() {
        let err = Credential::parse(
            ProviderKind::Bedrock,
            r#"{"accessKeyId":"AKIAABCDEFGHIJKLMNOP","region":"us-east-1"}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("secretAccessKey"), "{err}");
        let ok = Credential::parse(
            ProviderKind::Bedrock,
            r#"{"accessKeyId":"AKIAABCDEFGHIJKLMNOP","secretAccessKey":"s3cr3t","region":"us-east-1"}"#,
        )
        .unwrap();
        assert_eq!(ok.hint(), "AKIAABC…MNOP");
    }

    #[test]
    fn fal_keys_need_both_halves() {
        assert!(Credential::parse(ProviderKind::Fal, "abcdef").is_err());
        assert!(
            Credential::parse(
                ProviderKind::Fal,
                "6f1c2a4e-1111-2222-3333-444455556666:0123456789abcdef0123456789abcdef"
            )
            .is_ok()
        );
    }

    const SECRET_URL: &str =
        "https://admin:hunter2@gateway.example.com:8443/v1/?token=qtok123&x=1#frag456";

    fn leaks(text: &str) -> bool {
        ["hunter2", "admin:", "qtok123", "token=", "frag456", "#"]
            .iter()
            .any(|secret| text.contains(secret))
    }

    #[test]
    fn shown_urls_drop_user_info_query_and_fragment() {
        assert_eq!(
            display_url(SECRET_URL),
            "https://gateway.example.com:8443/v1"
        );
        assert_eq!(
            display_url(" http://proxy.internal/ "),
            "http://proxy.internal"
        );
        // A password with a slash or a question mark in it must not spill into what is shown.
        for raw in [
            "https://u:pa/ss@host.example/x",
            "https://u:p?ss@host.example",
            "https://u:p#ss@host.example",
            "https://host.example/?email=a@b.c&token=zz",
            "not a url hunter2",
        ] {
            let shown = display_url(raw);
            assert!(
                !shown.contains("ss@")
                    && !shown.contains("hunter2")
                    && !shown.contains("zz")
                    && !shown.contains("u:p"),
                "{raw} → {shown}"
            );
        }
    }

    #[test]
    fn no_provider_hint_shows_a_urls_user_info_query_or_fragment() {
        let pem = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n";
        for provider in ProviderKind::ALL {
            let credentials: Vec<String> = match provider {
                ProviderKind::OpenAi => vec![
                    format!("sk-admin-abcdefghijklmnop{SECRET_URL}"),
                    "sk-admin-AbCdefghijklmnopqrstuvwxYz12".to_owned(),
                ],
                ProviderKind::Anthropic => vec![format!("sk-ant-admin01-abcdefghijkl{SECRET_URL}")],
                ProviderKind::Bedrock => vec![
                    serde_json::json!({
                        "accessKeyId": "AKIAABCDEFGHIJKLMNOP",
                        "secretAccessKey": "s3cr3t",
                        "region": "us-east-1",
                        "endpoint": SECRET_URL,
                    })
                    .to_string(),
                ],
                ProviderKind::Vertex => vec![
                    serde_json::json!({
                        "type": "service_account",
                        "client_email": "svc@proj.iam.gserviceaccount.com",
                        "private_key": pem,
                        "token_uri": SECRET_URL,
                    })
                    .to_string(),
                ],
                ProviderKind::Fal => vec![format!("6f1c2a4e-1111:{SECRET_URL}")],
                ProviderKind::Runway => vec![format!("key_{SECRET_URL}")],
                ProviderKind::OpenRouter => vec![
                    serde_json::json!({
                        "apiKey": "sk-or-v1-abcdefghijklmnopqrstuvwxyz",
                        "baseUrl": SECRET_URL,
                    })
                    .to_string(),
                ],
                ProviderKind::AzureOpenAi => vec![
                    serde_json::json!({
                        "tenantId": "11111111-2222-3333-4444-555555555555",
                        "clientId": "66666666-7777-8888-9999-aaaaaaaaaaaa",
                        "clientSecret": format!("abc~{SECRET_URL}"),
                        "subscriptionId": "bbbbbbbb-cccc-dddd-eeee-ffffffffffff",
                    })
                    .to_string(),
                ],
                ProviderKind::PiApi => vec![
                    format!("sk-{SECRET_URL}"),
                    serde_json::json!({"apiKey": "sk-1234567890abcdefgh", "environment": SECRET_URL})
                        .to_string(),
                ],
                ProviderKind::LiteLlm => vec![
                    serde_json::json!({"apiKey": "sk-1234567890abcdef", "baseUrl": SECRET_URL})
                        .to_string(),
                    serde_json::json!({
                        "apiKey": "sk-1234567890abcdef",
                        "baseUrl": "http://u:hunter2@litellm.internal:4000?token=qtok123#frag456",
                    })
                    .to_string(),
                ],
            };
            for raw in credentials {
                match Credential::parse(provider, &raw) {
                    Ok(credential) => {
                        assert!(
                            !leaks(credential.hint()),
                            "{provider:?}: {}",
                            credential.hint()
                        );
                        assert!(!leaks(&format!("{credential:?}")), "{provider:?}");
                    }
                    Err(err) => assert!(!leaks(&err.to_string()), "{provider:?}: {err}"),
                }
            }
        }
        let litellm = Credential::parse(
            ProviderKind::LiteLlm,
            &serde_json::json!({"apiKey": "sk-1234567890abcdef", "baseUrl": SECRET_URL})
                .to_string(),
        )
        .unwrap();
        assert_eq!(
            litellm.hint(),
            "sk-123…cdef @ https://gateway.example.com:8443/v1"
        );
        // The secret itself keeps the URL whole: the connector still needs it.
        assert!(litellm.expose_secret().contains("hunter2"));
    }
}
