//! Azure calls: a client-credentials token from Microsoft Entra ID through the shared
//! [`TokenSource`] (cached, refreshed before it expires, fetched again once on a 401), and
//! Cost Management query pages POSTed through the shared retry loop, which waits for the
//! longest of `Retry-After` and the `x-ms-ratelimit-…-retry-after` headers on a 429.
//!
//! Refusals become errors that say what to do: the AADSTS code of a refused token (the
//! secret's ID pasted instead of its Value, an expired secret, an unknown app or tenant), and
//! ARM's error code of a refused query (the Cost Management Reader role missing, an unknown
//! subscription). The secret and the token are scrubbed from every message kept.

use spendlens_domain::credential::AzureServicePrincipal;
use url::Url;

use crate::error::ProviderError;
use crate::http::{
    At, Attempts, CallStats, HttpSettings, RetryPolicy, TokenGrant, TokenRefusal, TokenSource,
    authorized_send, decode, http_client, provider_message,
};

use super::PROVIDER;
use super::wire::{QueryResult, error_code};

/// The one token scope ARM accepts for a client-credentials grant.
const ARM_SCOPE: &str = "https://management.azure.com/.default";

/// Cost Management's wait headers, besides `Retry-After` (the longest wins).
const POLICY: RetryPolicy = RetryPolicy {
    retryable_body: never,
    wait_headers: &[
        "x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after",
        "x-ms-ratelimit-microsoft.costmanagement-entity-retry-after",
        "x-ms-ratelimit-microsoft.costmanagement-tenant-retry-after",
        "x-ms-ratelimit-microsoft.costmanagement-client-retry-after",
        "x-ms-ratelimit-microsoft.costmanagement-clienttype-retry-after",
    ],
};

fn never(_status: reqwest::StatusCode, _body: &[u8]) -> bool {
    false
}

/// The client-credentials grant of one service principal.
pub(crate) struct Grant {
    token_url: Url,
    tenant: String,
    client_id: String,
    client_secret: String,
}

impl Grant {
    pub(crate) fn new(login_base: &Url, principal: &AzureServicePrincipal) -> Grant {
        let tenant = principal.tenant.as_str().to_owned();
        let token_url =
            crate::http::endpoint_url(login_base, &format!("/{tenant}/oauth2/v2.0/token"), &[]);
        Grant {
            token_url,
            tenant,
            client_id: principal.client_id.clone(),
            client_secret: principal.expose_secret().to_owned(),
        }
    }
}

impl TokenGrant for Grant {
    fn token_url(&self) -> &Url {
        &self.token_url
    }

    fn form(&self, _now_unix: i64) -> Result<Vec<(&'static str, String)>, ProviderError> {
        Ok(vec![
            ("client_id", self.client_id.clone()),
            ("client_secret", self.client_secret.clone()),
            ("grant_type", "client_credentials".to_owned()),
            ("scope", ARM_SCOPE.to_owned()),
        ])
    }

    fn refused(&self, refusal: TokenRefusal) -> ProviderError {
        ProviderError::CredentialRejected {
            provider: PROVIDER,
            endpoint: refusal.endpoint,
            status: refusal.status,
            advice: token_advice(&refusal.message, &self.tenant, &self.client_id),
            message: refusal.message,
        }
    }

    fn secret(&self) -> &str {
        &self.client_secret
    }
}

/// What to do about a refused token, from the AADSTS code in Entra's message.
pub(crate) fn token_advice(message: &str, tenant: &str, client_id: &str) -> String {
    let code = |c: &str| {
        message.contains(&format!("AADSTS{c}:")) || message.contains(&format!("AADSTS{c} "))
    };
    if code("7000215") {
        let id_hint = if message.to_ascii_lowercase().contains("secret id") {
            " Entra's message says the secret's ID was probably sent instead of its value:"
        } else {
            ""
        };
        format!(
            "Azure rejected the client secret.{id_hint} Paste the secret's Value (shown once, \
             when it is created), not its Secret ID. If you did, the secret may have been \
             deleted: create a new one under Certificates & secrets and update the connection."
        )
    } else if code("7000222") {
        "The client secret has expired. Create a new one under Certificates & secrets (app \
         registration → Certificates & secrets → New client secret) and update the connection."
            .to_owned()
    } else if code("700016") {
        format!(
            "No app registration with this clientId exists in tenant {tenant}. Check the \
             Application (client) ID and the Directory (tenant) ID on the app's Overview page."
        )
    } else if code("90002") {
        format!(
            "Tenant {tenant} was not found. Use the Directory (tenant) ID from the app's \
             Overview page."
        )
    } else if code("7000112") {
        format!(
            "The app (client {client_id}) is disabled in its tenant; enable it or use another app registration."
        )
    } else {
        "Microsoft Entra ID did not issue a token for this app registration; check the tenant, \
         client ID and client secret, and that the secret has not expired."
            .to_owned()
    }
}

/// One fetch's Azure Resource Manager client.
pub(crate) struct Arm<'a> {
    http: reqwest::Client,
    base: Url,
    tokens: TokenSource<Grant>,
    settings: HttpSettings,
    stats: &'a CallStats,
    scope: String,
    client_hint: String,
}

impl<'a> Arm<'a> {
    pub(crate) fn new(
        principal: &AzureServicePrincipal,
        login_base: &Url,
        arm_base: Url,
        settings: &HttpSettings,
        stats: &'a CallStats,
    ) -> Result<Arm<'a>, ProviderError> {
        let http = http_client(PROVIDER, &arm_base, settings)?;
        Ok(Arm {
            http,
            base: arm_base,
            tokens: TokenSource::new(Grant::new(login_base, principal)),
            settings: settings.clone(),
            stats,
            scope: principal.scope.clone(),
            client_hint: principal.hint(),
        })
    }

    pub(crate) fn base(&self) -> &Url {
        &self.base
    }

    /// Whether `link` (a `nextLink`) is on the configured ARM host: the token is only ever
    /// sent there.
    pub(crate) fn same_host(&self, link: &Url) -> bool {
        link.scheme() == self.base.scheme()
            && link.host_str() == self.base.host_str()
            && link.port_or_known_default() == self.base.port_or_known_default()
    }

    /// POSTs `body` to `url` (a query URL or a `nextLink`, verbatim). `None`: HTTP 204, "no
    /// data for this scope".
    pub(crate) async fn query(
        &mut self,
        url: Url,
        body: &serde_json::Value,
        at: At<'_>,
    ) -> Result<Option<QueryResult>, ProviderError> {
        let attempts = Attempts {
            provider: PROVIDER,
            settings: &self.settings,
            stats: self.stats,
            policy: POLICY,
        };
        let http = &self.http;
        let (answer, token) = authorized_send(
            &mut self.tokens,
            http,
            &attempts,
            || http.post(url.clone()).json(body),
            at,
            self.base.as_str(),
        )
        .await?;
        if answer.status.as_u16() == 204 || (answer.status.is_success() && answer.body.is_empty()) {
            self.stats.count_page();
            return Ok(None);
        }
        if answer.status.is_success() {
            let page = decode(PROVIDER, at, &answer.body)?;
            self.stats.count_page();
            return Ok(Some(page));
        }
        Err(self.refusal(answer.status.as_u16(), &answer.body, at, &token))
    }

    fn refusal(&self, status: u16, body: &[u8], at: At<'_>, token: &str) -> ProviderError {
        let code = error_code(body).unwrap_or_default();
        let message = provider_message(body, token);
        let message = provider_message(message.as_bytes(), self.tokens.grant().secret());
        let endpoint = at.endpoint.to_owned();
        let scope = &self.scope;
        let client = &self.client_hint;
        let rejected = |advice: String| ProviderError::CredentialRejected {
            provider: PROVIDER,
            endpoint: endpoint.clone(),
            status,
            message: message.clone(),
            advice,
        };
        let refused = |advice: String| ProviderError::RequestRefused {
            provider: PROVIDER,
            endpoint: endpoint.clone(),
            page: at.page,
            status,
            message: message.clone(),
            advice,
        };
        match (status, code.as_str()) {
            (_, "InvalidAuthenticationTokenTenant") => rejected(format!(
                "The scope {scope} belongs to another tenant than the app's (the subscription \
                 may have moved directory); use the tenantId of the directory that owns it."
            )),
            (401, _) => rejected(format!(
                "Azure did not accept a fresh access token for the app ({client}): the app or \
                 its secret may have been disabled or deleted; create a new client secret and \
                 update the connection."
            )),
            (_, "AccountCostDisabled" | "DepartmentCostDisabled") => rejected(
                "An Enterprise Agreement administrator must enable \"view charges\" for \
                 account owners (or department admins) before Cost Management shows costs."
                    .to_owned(),
            ),
            (403, _) => rejected(format!(
                "Assign the Cost Management Reader role to the app ({client}) on {scope} \
                 (Access control (IAM) → Add role assignment), then sync again."
            )),
            (_, "SubscriptionNotFound") => refused(format!(
                "check subscriptionId in {scope}: it must be the subscription's ID; a \
                 subscription created less than 48 hours ago may not be known to Cost \
                 Management yet"
            )),
            (_, "SubscriptionTypeNotSupported" | "DisallowedOperation") => refused(
                "this subscription's offer has no charges Cost Management can report".to_owned(),
            ),
            (404, _) => refused(format!(
                "check the scope {scope} and the connection's base URL ({})",
                self.base
            )),
            (400, _) => refused(
                "Azure did not accept spendlens's query; the API may have changed, please report it"
                    .to_owned(),
            ),
            _ => refused("try again later; if it persists, please report it".to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aadsts_codes_become_what_to_do() {
        let advice = token_advice(
            "invalid_client: AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID",
            "t",
            "c",
        );
        assert!(advice.contains("not its Secret ID"), "{advice}");
        assert!(advice.contains("secret's ID was probably sent"), "{advice}");
        assert!(token_advice("AADSTS7000222: expired", "t", "c").contains("expired"));
        assert!(
            token_advice("AADSTS700016: Application not found", "t", "c")
                .contains("No app registration")
        );
        assert!(
            token_advice("AADSTS90002: Tenant 'x' not found", "x", "c")
                .contains("Tenant x was not found")
        );
    }
}
