//! The Connections form's AWS Bedrock fields: Access Key ID, Secret Access Key, a Region
//! dropdown and an optional session token, turned into the JSON credential the Bedrock
//! connector reads (`{"accessKeyId", "secretAccessKey", "region"[, "sessionToken"]}`), so
//! nobody has to type JSON. A credential pasted in the textarea still wins.

use serde::Deserialize;

use crate::dashboard::error::PageError;

/// The regions offered (Cost Explorer answers from us-east-1 whatever the region; the region
/// names where the Bedrock usage is).
pub const REGIONS: [(&str, &str); 12] = [
    ("us-east-1", "N. Virginia"),
    ("us-east-2", "Ohio"),
    ("us-west-2", "Oregon"),
    ("ca-central-1", "Canada"),
    ("eu-central-1", "Frankfurt"),
    ("eu-west-1", "Ireland"),
    ("eu-west-2", "London"),
    ("eu-west-3", "Paris"),
    ("ap-northeast-1", "Tokyo"),
    ("ap-south-1", "Mumbai"),
    ("ap-southeast-1", "Singapore"),
    ("ap-southeast-2", "Sydney"),
];

/// What a form posts for a key: the pasted credential and the AWS Bedrock fields (the Add form
/// and a connection's new-key form flatten it into theirs).
#[derive(Debug, Default, Deserialize)]
pub struct PostedKey {
    #[serde(default)]
    pub credential: String,
    #[serde(default)]
    pub aws_access_key_id: String,
    #[serde(default)]
    pub aws_secret_access_key: String,
    #[serde(default)]
    pub aws_region: String,
    #[serde(default)]
    pub aws_session_token: String,
}

impl PostedKey {
    /// The key to check ([`credential`]); refused when far too long to be a key.
    pub fn secret(&self, provider_is_bedrock: bool) -> Result<String, PageError> {
        if self.credential.len() > 20_000 {
            return Err(PageError::BadRequest(
                "the credential is far too long to be a key".to_owned(),
            ));
        }
        Ok(credential(
            provider_is_bedrock,
            &self.credential,
            &AwsFields {
                key_id: &self.aws_access_key_id,
                secret: &self.aws_secret_access_key,
                region: &self.aws_region,
                session_token: &self.aws_session_token,
            },
        ))
    }
}

/// The fields as posted.
#[derive(Clone, Debug, Default)]
pub struct AwsFields<'a> {
    pub key_id: &'a str,
    pub secret: &'a str,
    pub region: &'a str,
    pub session_token: &'a str,
}

/// The credential to check: the textarea's when given, else the Bedrock fields as JSON (when
/// any is filled), else empty.
pub fn credential(provider_is_bedrock: bool, pasted: &str, aws: &AwsFields<'_>) -> String {
    if !pasted.trim().is_empty() || !provider_is_bedrock {
        return pasted.to_owned();
    }
    if aws.key_id.trim().is_empty() && aws.secret.trim().is_empty() {
        return String::new();
    }
    let mut json = serde_json::json!({
        "accessKeyId": aws.key_id.trim(),
        "secretAccessKey": aws.secret.trim(),
        "region": if aws.region.trim().is_empty() { "us-east-1" } else { aws.region.trim() },
    });
    if !aws.session_token.trim().is_empty() {
        json["sessionToken"] = serde_json::Value::String(aws.session_token.trim().to_owned());
    }
    json.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fields_become_the_json_credential_and_a_pasted_one_wins() {
        let aws = AwsFields {
            key_id: " AKIAABCDEFGHIJKLMNOP ",
            secret: "s3cr3t",
            region: "eu-west-1",
            session_token: "",
        };
        let json: serde_json::Value = serde_json::from_str(&credential(true, "  ", &aws)).unwrap();
        assert_eq!(json["accessKeyId"], "AKIAABCDEFGHIJKLMNOP");
        assert_eq!(json["secretAccessKey"], "s3cr3t");
        assert_eq!(json["region"], "eu-west-1");
        assert!(json.get("sessionToken").is_none());
        assert_eq!(credential(true, "{\"x\":1}", &aws), "{\"x\":1}");
        assert_eq!(credential(false, "sk-admin-x", &aws), "sk-admin-x");
        assert_eq!(credential(true, "", &AwsFields::default()), "");
    }
}
