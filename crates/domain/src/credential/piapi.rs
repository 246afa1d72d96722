//! The PiAPI credential: an API key and an environment label (shared/providers/piapi.md §2).
//!
//! Pasted as the bare key, or as `{"apiKey": "…", "environment": "production"}`. PiAPI has one
//! API host and no sandbox, so the environment is a label that tells two PiAPI accounts apart
//! (`production` by default); it never chooses where the key is sent — the host is the public
//! API or the connection's server-side base-URL override.

use std::fmt;

use serde_json::Value;

use super::{CredentialShapeError, hint_of, json_object, shape};

const EXAMPLE: &str = r#"{"apiKey": "…", "environment": "production"}"#;
/// The environment when none is given.
pub const PIAPI_DEFAULT_ENVIRONMENT: &str = "production";

/// A well-shaped PiAPI key and its environment label.
#[derive(Clone, PartialEq, Eq)]
pub struct PiApiKey {
    api_key: String,
    /// `production`, or the user's label (`staging`, `team-b`), lower-case.
    pub environment: String,
}

impl fmt::Debug for PiApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PiApiKey")
            .field("environment", &self.environment)
            .finish_non_exhaustive()
    }
}

fn check_key(key: &str) -> Result<(), CredentialShapeError> {
    if key.is_empty() {
        return Err(shape(
            "Paste your PiAPI API key from your PiAPI workspace.".to_owned(),
        ));
    }
    if key
        .get(..7)
        .is_some_and(|p| p.eq_ignore_ascii_case("bearer "))
    {
        return Err(shape("Paste only the key, without 'Bearer '.".to_owned()));
    }
    if key.chars().any(char::is_whitespace) {
        return Err(shape(
            "The key must not contain spaces or line breaks.".to_owned(),
        ));
    }
    if key.contains(['"', '\'']) {
        return Err(shape(
            "The key must not contain quotes; paste only the key.".to_owned(),
        ));
    }
    if !key.chars().all(|c| c.is_ascii_graphic()) {
        return Err(shape(
            "The key has characters a PiAPI key cannot have; copy it again from your PiAPI workspace."
                .to_owned(),
        ));
    }
    let length = key.chars().count();
    if !(16..=256).contains(&length) {
        return Err(shape(format!(
            "A PiAPI API key is 16 to 256 characters long; this one has {length}. Copy it whole from your PiAPI workspace."
        )));
    }
    Ok(())
}

fn check_environment(label: &str) -> Result<String, CredentialShapeError> {
    let label = label.trim().to_ascii_lowercase();
    let valid = (1..=40).contains(&label.chars().count())
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(label)
    } else {
        Err(shape(
            "\"environment\" is a short label for this PiAPI account (production, staging, …): \
             1–40 letters, digits, - _ or ."
                .to_owned(),
        ))
    }
}

impl PiApiKey {
    pub fn parse(text: &str) -> Result<PiApiKey, CredentialShapeError> {
        let text = text.trim();
        if !text.starts_with('{') {
            check_key(text)?;
            return Ok(PiApiKey {
                api_key: text.to_owned(),
                environment: PIAPI_DEFAULT_ENVIRONMENT.to_owned(),
            });
        }
        let map = json_object(text, "PiAPI", EXAMPLE)?;
        let key = match map.get("apiKey").or_else(|| map.get("api_key")) {
            Some(Value::String(key)) => key.trim().to_owned(),
            None | Some(Value::Null) => String::new(),
            Some(_) => return Err(shape("\"apiKey\" must be the key as text.".to_owned())),
        };
        check_key(&key)?;
        let environment = match map.get("environment") {
            None | Some(Value::Null) => PIAPI_DEFAULT_ENVIRONMENT.to_owned(),
            Some(Value::String(label)) => check_environment(label)?,
            Some(_) => return Err(shape("\"environment\" must be a text label.".to_owned())),
        };
        if map.contains_key("baseUrl") || map.contains_key("base_url") {
            return Err(shape(
                "PiAPI has one API host; a base URL cannot be set in the credential (an admin \
                 can set the connection's base URL for a proxy)."
                    .to_owned(),
            ));
        }
        Ok(PiApiKey {
            api_key: key,
            environment,
        })
    }

    /// The key: for the `x-api-key` header, nothing else.
    pub fn expose_secret(&self) -> &str {
        &self.api_key
    }

    /// `sk-abc…wxyz (production)`.
    pub fn hint(&self) -> String {
        let prefix = if self.api_key.starts_with("sk-") {
            3
        } else {
            0
        };
        format!("{} ({})", hint_of(&self.api_key, prefix), self.environment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "sk-0123456789abcdef0123456789abcdefWXYZ";

    #[test]
    fn a_bare_key_or_json_with_an_environment_is_accepted() {
        let key = PiApiKey::parse(KEY).unwrap();
        assert_eq!(key.environment, "production");
        assert_eq!(key.hint(), "sk-012…WXYZ (production)");
        assert!(!format!("{key:?}").contains("0123"));
        let key = PiApiKey::parse(&format!(
            r#"{{"apiKey": " {KEY} ", "environment": "Staging"}}"#
        ))
        .unwrap();
        assert_eq!(
            (key.expose_secret(), key.environment.as_str()),
            (KEY, "staging")
        );
    }

    #[test]
    fn each_wrong_input_says_what_to_paste() {
        for (text, says) in [
            (format!("Bearer {KEY}"), "without 'Bearer '"),
            (
                "sk-0123 4567 89abcdef0123".to_owned(),
                "spaces or line breaks",
            ),
            ("sk-short".to_owned(), "16 to 256 characters"),
            (
                r#"{"environment": "production"}"#.to_owned(),
                "Paste your PiAPI API key",
            ),
            (
                format!(r#"{{"apiKey": "{KEY}", "environment": "prod env!"}}"#),
                "short label",
            ),
            (
                format!(r#"{{"apiKey": "{KEY}", "baseUrl": "https://evil.example"}}"#),
                "one API host",
            ),
        ] {
            let err = PiApiKey::parse(&text).unwrap_err().to_string();
            assert!(err.contains(says), "{text}: {err}");
            assert!(!err.contains("89abcdef0123456789"), "{err}");
        }
    }
}
