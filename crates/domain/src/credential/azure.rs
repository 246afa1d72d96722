//! The Azure OpenAI credential: a service principal (app registration) that reads Azure Cost
//! Management, pasted as JSON (shared/providers/azure-openai.md §3).
//!
//! ```json
//! {"tenantId": "…", "clientId": "…", "clientSecret": "…", "subscriptionId": "…",
//!  "resourceGroup": null, "scope": null}
//! ```
//! The output of `az ad sp create-for-rbac` is accepted too (`appId` → clientId, `password` →
//! clientSecret, `tenant` → tenantId). Every field is trimmed; GUIDs may carry `{…}` and are
//! stored lower-case. The credential never chooses a host: the login and ARM hosts are server
//! configuration, so a crafted credential cannot send the secret elsewhere.

use std::fmt;

use serde_json::Value;

use super::{CredentialShapeError, hint_of, json_object, shape};

const EXAMPLE: &str =
    r#"{"tenantId": "…", "clientId": "…", "clientSecret": "…", "subscriptionId": "…"}"#;

/// The tenant a service principal signs in to: its Directory ID or a verified domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AzureTenant {
    /// The Directory (tenant) ID, lower-case.
    Id(String),
    /// A domain such as `contoso.onmicrosoft.com`, lower-case.
    Domain(String),
}

impl AzureTenant {
    pub fn as_str(&self) -> &str {
        match self {
            AzureTenant::Id(id) | AzureTenant::Domain(id) => id,
        }
    }
}

/// A well-shaped Azure service-principal credential and the scope it reads.
#[derive(Clone, PartialEq, Eq)]
pub struct AzureServicePrincipal {
    pub tenant: AzureTenant,
    /// Application (client) ID, lower-case.
    pub client_id: String,
    client_secret: String,
    /// The subscription, lower-case; `None` when `scope` names a billing or management scope.
    pub subscription_id: Option<String>,
    pub resource_group: Option<String>,
    /// The Cost Management scope read: `/subscriptions/{id}[/resourceGroups/{rg}]`, or the
    /// `scope` given.
    pub scope: String,
    /// Not wrong, but worth a second look (shown with the connection check).
    pub warnings: Vec<String>,
}

impl fmt::Debug for AzureServicePrincipal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AzureServicePrincipal")
            .field("tenant", &self.tenant)
            .field("client_id", &self.client_id)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A GUID with optional braces, lower-case; `None` when it is not one.
fn guid(text: &str) -> Option<String> {
    let inner = text
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .unwrap_or(text);
    is_guid(inner).then(|| inner.to_ascii_lowercase())
}

/// A text field (first of `names` present), trimmed; `null` and blank are absent.
fn field(
    map: &serde_json::Map<String, Value>,
    names: &[&str],
) -> Result<Option<String>, CredentialShapeError> {
    for name in names {
        match map.get(*name) {
            None | Some(Value::Null) => continue,
            Some(Value::String(text)) if text.trim().is_empty() => continue,
            Some(Value::String(text)) => return Ok(Some(text.trim().to_owned())),
            Some(_) => {
                return Err(shape(format!(
                    "the Azure credential's \"{name}\" must be a text value"
                )));
            }
        }
    }
    Ok(None)
}

fn required(
    map: &serde_json::Map<String, Value>,
    names: &[&str],
) -> Result<String, CredentialShapeError> {
    field(map, names)?.ok_or_else(|| {
        shape(format!(
            "the Azure credential has no \"{}\"; it is required, like {EXAMPLE}",
            names[0]
        ))
    })
}

fn check_tenant(text: &str) -> Result<AzureTenant, CredentialShapeError> {
    let lower = text.to_ascii_lowercase();
    if matches!(lower.as_str(), "common" | "organizations" | "consumers") {
        return Err(shape(format!(
            "'{lower}' cannot be used with a client secret; use your tenant's ID (the Directory \
             (tenant) ID GUID from the app registration's Overview page)."
        )));
    }
    if let Some(id) = guid(text) {
        return Ok(AzureTenant::Id(id));
    }
    let domain_ok = lower.contains('.')
        && !lower.starts_with('.')
        && !lower.ends_with('.')
        && lower
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if domain_ok {
        return Ok(AzureTenant::Domain(lower));
    }
    Err(shape(
        "tenantId must be the Directory (tenant) ID GUID from the app registration's Overview page."
            .to_owned(),
    ))
}

fn check_secret(secret: &str) -> Result<(), CredentialShapeError> {
    if guid(secret).is_some() {
        return Err(shape(
            "This looks like the secret's Secret ID. Paste its Value (shown once, when the secret \
             was created under Certificates & secrets)."
                .to_owned(),
        ));
    }
    if secret.len() == 32 && secret.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(shape(
            "This looks like an Azure OpenAI resource key (api-key). Billing needs the app \
             registration's client secret (Certificates & secrets → New client secret → Value)."
                .to_owned(),
        ));
    }
    if secret.chars().any(char::is_whitespace) {
        return Err(shape(
            "the client secret contains spaces or line breaks; paste only the secret's Value"
                .to_owned(),
        ));
    }
    Ok(())
}

fn check_resource_group(name: &str) -> Result<(), CredentialShapeError> {
    let valid = (1..=90).contains(&name.chars().count())
        && !name.ends_with('.')
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '(' | ')' | '-' | '.'));
    if valid {
        Ok(())
    } else {
        Err(shape(
            "resourceGroup must be a resource group name (1–90 characters; letters, digits, _ ( ) - .; not ending in a period)."
                .to_owned(),
        ))
    }
}

fn check_scope(scope: &str) -> Result<String, CredentialShapeError> {
    let refuse = || {
        shape(
            "scope must be an Azure scope path such as /subscriptions/{id} or /providers/Microsoft.Billing/billingAccounts/{id}."
                .to_owned(),
        )
    };
    let scope = scope.trim_end_matches('/');
    let lower = scope.to_ascii_lowercase();
    let known = [
        "/subscriptions/",
        "/providers/microsoft.billing/billingaccounts/",
        "/providers/microsoft.management/managementgroups/",
    ];
    let starts = known
        .iter()
        .any(|prefix| lower.starts_with(prefix) && lower.len() > prefix.len());
    let clean = !scope.contains(['?', '#', ' ', '\\'])
        && !scope.contains("//")
        && !scope.split('/').any(|segment| segment == "..")
        && !lower.contains("/providers/microsoft.costmanagement");
    if starts && clean {
        Ok(scope.to_owned())
    } else {
        Err(refuse())
    }
}

impl AzureServicePrincipal {
    /// Checks the pasted JSON; every wrong input gets a message saying what to paste instead.
    pub fn parse(text: &str) -> Result<AzureServicePrincipal, CredentialShapeError> {
        let text = text.trim();
        if !text.starts_with('{') {
            if guid(text).is_some() || text.len() == 32 {
                return Err(shape(format!(
                    "Azure OpenAI spend is read from Azure Cost Management with an app \
                     registration, not with a single key or ID; paste JSON like {EXAMPLE}"
                )));
            }
            return Err(shape(format!(
                "the Azure credential must be a JSON object like {EXAMPLE}"
            )));
        }
        let map = json_object(text, "Azure", EXAMPLE)?;
        let tenant = check_tenant(&required(&map, &["tenantId", "tenant"])?)?;
        let client_id = required(&map, &["clientId", "appId"])?;
        let client_id = guid(&client_id).ok_or_else(|| {
            shape(
                "clientId must be the Application (client) ID GUID from the app registration's Overview page."
                    .to_owned(),
            )
        })?;
        if tenant.as_str() == client_id {
            return Err(shape(
                "clientId equals tenantId — the Directory ID was probably pasted twice; clientId \
                 is the Application (client) ID."
                    .to_owned(),
            ));
        }
        let client_secret = required(&map, &["clientSecret", "password"])?;
        check_secret(&client_secret)?;
        let subscription_id = match field(&map, &["subscriptionId"])? {
            Some(text) => Some(guid(&text).ok_or_else(|| {
                shape(
                    "subscriptionId must be the subscription's GUID, not its display name."
                        .to_owned(),
                )
            })?),
            None => None,
        };
        let resource_group = field(&map, &["resourceGroup"])?;
        if let Some(group) = &resource_group {
            check_resource_group(group)?;
        }
        let scope = match (field(&map, &["scope"])?, &subscription_id, &resource_group) {
            (Some(scope), _, _) => check_scope(&scope)?,
            (None, Some(sub), Some(group)) => {
                format!("/subscriptions/{sub}/resourceGroups/{group}")
            }
            (None, Some(sub), None) => format!("/subscriptions/{sub}"),
            (None, None, _) => {
                return Err(shape(format!(
                    "the Azure credential needs \"subscriptionId\" (or a \"scope\"): the \
                     subscription whose Azure OpenAI spend to read, like {EXAMPLE}"
                )));
            }
        };
        let mut warnings = Vec::new();
        if subscription_id.as_deref() == Some(tenant.as_str()) {
            warnings.push(
                "subscriptionId equals tenantId — check you copied the Subscription ID.".to_owned(),
            );
        }
        Ok(AzureServicePrincipal {
            tenant,
            client_id,
            client_secret,
            subscription_id,
            resource_group,
            scope,
            warnings,
        })
    }

    /// The client secret: for the token request, nothing else.
    pub fn expose_secret(&self) -> &str {
        &self.client_secret
    }

    /// The masked client ID (`666…aaaa`): the only part shown.
    pub fn hint(&self) -> String {
        format!("client {}", hint_of(&self.client_id, 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TENANT: &str = "11111111-2222-3333-4444-555555555555";
    const CLIENT: &str = "66666666-7777-8888-9999-aaaaaaaaaaaa";
    const SUB: &str = "bbbbbbbb-cccc-dddd-eeee-ffffffffffff";
    const SECRET: &str = "Abc8Q~xyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyz1";

    fn with(changes: &[(&str, Value)]) -> String {
        let mut value = serde_json::json!({
            "tenantId": TENANT, "clientId": CLIENT, "clientSecret": SECRET, "subscriptionId": SUB,
        });
        for (name, new) in changes {
            if new.is_null() {
                value.as_object_mut().unwrap().remove(*name);
            } else {
                value[*name] = new.clone();
            }
        }
        value.to_string()
    }

    fn error(changes: &[(&str, Value)]) -> String {
        AzureServicePrincipal::parse(&with(changes))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_good_credential_reads_its_scope_and_hides_its_secret() {
        let sp = AzureServicePrincipal::parse(&with(&[])).unwrap();
        assert_eq!(sp.scope, format!("/subscriptions/{SUB}"));
        assert_eq!(sp.hint(), "client 666…aaaa");
        assert!(!format!("{sp:?}").contains("Abc8Q"));
        let sp = AzureServicePrincipal::parse(&with(&[
            ("resourceGroup", "rg-ai-prod".into()),
            ("clientId", format!("{{{}}}", CLIENT.to_uppercase()).into()),
        ]))
        .unwrap();
        assert_eq!(
            sp.scope,
            format!("/subscriptions/{SUB}/resourceGroups/rg-ai-prod")
        );
        assert_eq!(sp.client_id, CLIENT);
    }

    #[test]
    fn az_cli_output_is_accepted() {
        let text = serde_json::json!({
            "appId": CLIENT, "password": SECRET, "tenant": TENANT, "displayName": "spendlens",
            "subscriptionId": SUB,
        })
        .to_string();
        let sp = AzureServicePrincipal::parse(&text).unwrap();
        assert_eq!(sp.client_id, CLIENT);
        assert_eq!(sp.expose_secret(), SECRET);
    }

    #[test]
    fn each_wrong_input_says_what_to_paste() {
        let cases: Vec<(Vec<(&str, Value)>, &str)> = vec![
            (
                vec![("tenantId", "common".into())],
                "cannot be used with a client secret",
            ),
            (
                vec![("tenantId", "my tenant".into())],
                "Directory (tenant) ID GUID",
            ),
            (
                vec![("clientId", "spendlens-app".into())],
                "Application (client) ID GUID",
            ),
            (vec![("clientId", TENANT.into())], "pasted twice"),
            (
                vec![(
                    "clientSecret",
                    "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0".into(),
                )],
                "Secret ID. Paste its Value",
            ),
            (
                vec![("clientSecret", "0123456789abcdef0123456789abcdef".into())],
                "Azure OpenAI resource key (api-key)",
            ),
            (vec![("clientSecret", Value::Null)], "no \"clientSecret\""),
            (
                vec![("subscriptionId", "Pay-As-You-Go".into())],
                "not its display name",
            ),
            (
                vec![("subscriptionId", Value::Null)],
                "needs \"subscriptionId\"",
            ),
            (vec![("resourceGroup", "rg.".into())], "resource group name"),
            (
                vec![(
                    "scope",
                    "/subscriptions/x/providers/Microsoft.CostManagement/query".into(),
                )],
                "Azure scope path",
            ),
            (
                vec![("scope", "https://evil.example/x".into())],
                "Azure scope path",
            ),
        ];
        for (changes, expected) in cases {
            let err = error(&changes);
            assert!(err.contains(expected), "{changes:?}: {err}");
            assert!(!err.contains("Abc8Q"), "{err}");
        }
        let err = AzureServicePrincipal::parse("0123456789abcdef0123456789abcdef")
            .unwrap_err()
            .to_string();
        assert!(err.contains("app registration"), "{err}");
    }

    #[test]
    fn a_subscription_equal_to_the_tenant_is_a_warning_not_an_error() {
        let sp = AzureServicePrincipal::parse(&with(&[("subscriptionId", TENANT.into())])).unwrap();
        assert_eq!(sp.warnings.len(), 1);
        assert!(sp.warnings[0].contains("Subscription ID"));
    }
}
