//! The service-account key file and the RS256-signed JWT that trades it for an access token
//! (shared/providers/google-vertex.md §2).
//!
//! The private key is read (PKCS#8 or PKCS#1 PEM) before any network call, so a broken key is
//! reported as such, not as a refusal from Google. Signing uses ring, already in the tree
//! through rustls: no OpenSSL, no aws-lc.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;
use serde::Deserialize;
use spendlens_domain::Credential;

use crate::error::ProviderError;

use super::PROVIDER;

/// The scope of the access token: BigQuery jobs and reads. IAM (BigQuery Data Viewer + Job
/// User) limits what it can do.
pub(crate) const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// The longest lifetime Google accepts for the assertion.
const ASSERTION_LIFETIME_SECS: i64 = 3600;

/// The fields of the key file spendlens reads.
#[derive(Deserialize)]
struct KeyFile {
    #[serde(default)]
    project_id: Option<String>,
    #[serde(default)]
    private_key_id: Option<String>,
    private_key: String,
    client_email: String,
    token_uri: String,
    #[serde(default)]
    billing_dataset: Option<String>,
    #[serde(default)]
    maximum_bytes_billed: Option<serde_json::Value>,
}

/// A service account that can sign its own token requests.
pub(crate) struct ServiceAccount {
    pub client_email: String,
    pub project_id: String,
    pub token_uri: url::Url,
    pub billing_dataset: Option<String>,
    /// The most one query may bill (`maximum_bytes_billed` in the key JSON, default 20 GB).
    pub maximum_bytes_billed: u64,
    private_key_id: Option<String>,
    key_pair: RsaKeyPair,
    rng: SystemRandom,
}

fn unreadable(reason: impl Into<String>) -> ProviderError {
    ProviderError::UnreadableCredential {
        provider: PROVIDER,
        reason: reason.into(),
        advice: "download a new JSON key (Google Cloud console → IAM & Admin → Service accounts \
                 → the account → Keys → Add key → JSON) and update the connection"
            .to_owned(),
    }
}

impl ServiceAccount {
    /// Reads the key file and its private key; no network.
    pub(crate) fn from_credential(
        credential: &Credential,
    ) -> Result<ServiceAccount, ProviderError> {
        let file: KeyFile = serde_json::from_str(credential.expose_secret()).map_err(|error| {
            unreadable(format!(
                "the service-account key file cannot be read ({})",
                error
                    .to_string()
                    .split(" at line")
                    .next()
                    .unwrap_or("not the expected JSON")
            ))
        })?;
        let maximum_bytes_billed =
            spendlens_domain::credential::vertex_bytes_cap(file.maximum_bytes_billed.as_ref())
                .map_err(|reason| ProviderError::UnreadableCredential {
                    provider: PROVIDER,
                    reason,
                    advice: "edit the connection's key JSON".to_owned(),
                })?;
        let key_pair = read_private_key(&file.private_key)?;
        let token_uri = url::Url::parse(file.token_uri.trim())
            .ok()
            .filter(|url| matches!(url.scheme(), "https" | "http") && url.host_str().is_some())
            .ok_or_else(|| {
                unreadable(format!(
                    "its \"token_uri\" \"{}\" is not a URL",
                    file.token_uri.trim()
                ))
            })?;
        let project_id = file
            .project_id
            .map(|id| id.trim().to_owned())
            .filter(|id| !id.is_empty())
            .ok_or_else(|| {
                unreadable("the key file has no \"project_id\", the project to run queries in")
            })?;
        Ok(ServiceAccount {
            client_email: file.client_email.trim().to_owned(),
            project_id,
            token_uri,
            billing_dataset: file
                .billing_dataset
                .map(|d| d.trim().to_owned())
                .filter(|d| !d.is_empty()),
            maximum_bytes_billed,
            private_key_id: file
                .private_key_id
                .map(|id| id.trim().to_owned())
                .filter(|id| !id.is_empty()),
            key_pair,
            rng: SystemRandom::new(),
        })
    }

    /// The signed JWT-bearer assertion for a token valid from `now` (Unix seconds).
    pub(crate) fn assertion(&self, now: i64) -> Result<String, ProviderError> {
        let mut header = serde_json::json!({"alg": "RS256", "typ": "JWT"});
        if let Some(kid) = &self.private_key_id {
            header["kid"] = serde_json::Value::String(kid.clone());
        }
        let claims = serde_json::json!({
            "iss": self.client_email,
            "scope": SCOPE,
            "aud": self.token_uri.as_str(),
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_SECS,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0u8; self.key_pair.public().modulus_len()];
        self.key_pair
            .sign(
                &RSA_PKCS1_SHA256,
                &self.rng,
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| unreadable("the service account's private key cannot sign"))?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }
}

/// The RSA key of a PEM text: PKCS#8 (`BEGIN PRIVATE KEY`, what Google issues) or PKCS#1.
fn read_private_key(pem: &str) -> Result<RsaKeyPair, ProviderError> {
    const WHAT: &str = "the service account's private key cannot be read";
    let der = PrivateKeyDer::from_pem_slice(pem.trim().as_bytes())
        .map_err(|error| unreadable(format!("{WHAT} ({error})")))?;
    let pair = match &der {
        PrivateKeyDer::Pkcs8(key) => RsaKeyPair::from_pkcs8(key.secret_pkcs8_der()),
        PrivateKeyDer::Pkcs1(key) => RsaKeyPair::from_der(key.secret_pkcs1_der()),
        _ => {
            return Err(unreadable(format!(
                "{WHAT} (it is not an RSA key; Google service-account keys are)"
            )));
        }
    };
    pair.map_err(|rejected| unreadable(format!("{WHAT} ({rejected})")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use spendlens_domain::ProviderKind;

    fn credential(private_key: &str) -> Credential {
        let json = serde_json::json!({
            "type": "service_account",
            "project_id": "demo-proj",
            "private_key_id": "abc",
            "private_key": private_key,
            "client_email": "spendlens@demo-proj.iam.gserviceaccount.com",
            "token_uri": "https://oauth2.googleapis.com/token",
        });
        Credential::parse(ProviderKind::Vertex, &json.to_string()).unwrap()
    }

    #[test]
    fn a_broken_private_key_is_reported_before_any_call() {
        let broken = "-----BEGIN PRIVATE KEY-----\nMIIBroken==\n-----END PRIVATE KEY-----\n";
        let Err(error) = ServiceAccount::from_credential(&credential(broken)) else {
            panic!("a broken key was accepted");
        };
        let text = error.to_string();
        assert!(
            text.contains("the service account's private key cannot be read"),
            "{text}"
        );
        assert!(text.contains("download a new JSON key"), "{text}");
        assert!(error.is_credential_rejected());
    }
}
