//! AWS Signature Version 4, checked the way the service checks it (doc §2, §3): the
//! `Authorization` header's shape, its credential scope, and the signature itself, recomputed
//! from the request with the secret the fake knows.
//!
//! The canonical request is built as the AWS SDK's signer builds it for a non-S3 service: the
//! path percent-encoded once more (double encoding; `/` for Cost Explorer), the query pairs
//! decoded, re-encoded and sorted, the signed headers' values trimmed with inner runs of spaces
//! collapsed and repeated headers joined with `,`, and the hex SHA-256 of the body (or the value
//! of an `x-amz-content-sha256` header when one is sent as `UNSIGNED-PAYLOAD`).

use axum::http::HeaderMap;
use ring::{digest, hmac};

pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The parts of an `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Authorization {
    pub(crate) access_key_id: String,
    /// `yyyymmdd`.
    pub(crate) date: String,
    pub(crate) region: String,
    pub(crate) service: String,
    pub(crate) terminator: String,
    /// Lowercase names, as sent.
    pub(crate) signed_headers: Vec<String>,
    pub(crate) signature: String,
}

impl Authorization {
    /// `yyyymmdd/region/service/aws4_request`.
    pub(crate) fn scope(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            self.date, self.region, self.service, self.terminator
        )
    }
}

/// Why a header is not a well-formed SigV4 `Authorization` (AWS's `IncompleteSignatureException`).
pub(crate) fn parse(value: &str) -> Result<Authorization, String> {
    let Some(rest) = value.strip_prefix(ALGORITHM) else {
        return Err(format!(
            "Authorization header requires the '{ALGORITHM}' algorithm (Signature Version 4). \
             Authorization={value}"
        ));
    };
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed_headers = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let missing = |name: &str| {
        format!(
            "Authorization header requires '{name}' parameter. Authorization header requires \
             'Credential', 'SignedHeaders' and 'Signature' parameters."
        )
    };
    let credential = credential.ok_or_else(|| missing("Credential"))?;
    let signed_headers = signed_headers.ok_or_else(|| missing("SignedHeaders"))?;
    let signature = signature.ok_or_else(|| missing("Signature"))?;
    let parts: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, terminator] = parts.as_slice() else {
        return Err(format!(
            "Credential should have exactly 5 '/'-separated parts \
             (<access key>/<yyyymmdd>/<region>/<service>/aws4_request), got '{credential}'"
        ));
    };
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "Credential scope date should be yyyymmdd, got '{date}'"
        ));
    }
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("Signature should be 64 hexadecimal characters".to_owned());
    }
    let signed_headers: Vec<String> = signed_headers.split(';').map(str::to_owned).collect();
    if signed_headers.iter().any(String::is_empty) {
        return Err("SignedHeaders must be a ';'-separated list of header names".to_owned());
    }
    Ok(Authorization {
        access_key_id: (*access_key_id).to_owned(),
        date: (*date).to_owned(),
        region: (*region).to_owned(),
        service: (*service).to_owned(),
        terminator: (*terminator).to_owned(),
        signed_headers,
        signature: signature.to_ascii_lowercase(),
    })
}

/// The parts of the request that are signed.
pub(crate) struct Signed<'a> {
    pub(crate) method: &'a str,
    /// As received, still percent-encoded.
    pub(crate) path: &'a str,
    /// As received, still percent-encoded; empty if none.
    pub(crate) query: &'a str,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) body: &'a [u8],
    /// The `X-Amz-Date` header, `yyyymmddThhmmssZ`.
    pub(crate) amz_date: &'a str,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, bytes).as_ref())
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data)
        .as_ref()
        .to_vec()
}

/// RFC 3986 percent-encoding of everything but unreserved characters (and `/` if `keep_slash`).
fn encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        let unreserved = byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~');
        if unreserved || (keep_slash && byte == b'/') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn canonical_query(raw: &str) -> String {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(raw.as_bytes())
        .map(|(k, v)| (encode(&k, false), encode(&v, false)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn header_value(headers: &HeaderMap, name: &str) -> String {
    headers
        .get_all(name)
        .iter()
        .map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The canonical request of SigV4 step 1.
pub(crate) fn canonical_request(request: &Signed<'_>, signed_headers: &[String]) -> String {
    let path = if request.path.is_empty() {
        "/".to_owned()
    } else {
        encode(request.path, true)
    };
    let mut names: Vec<String> = signed_headers
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    names.sort();
    let headers: String = names
        .iter()
        .map(|name| format!("{name}:{}\n", header_value(request.headers, name)))
        .collect();
    let payload = match request.headers.get("x-amz-content-sha256") {
        Some(v) if v.as_bytes() == b"UNSIGNED-PAYLOAD" => "UNSIGNED-PAYLOAD".to_owned(),
        _ => sha256_hex(request.body),
    };
    format!(
        "{}\n{path}\n{}\n{headers}\n{}\n{payload}",
        request.method,
        canonical_query(request.query),
        names.join(";")
    )
}

/// The signature the request should carry, given the secret access key.
pub(crate) fn expected_signature(
    request: &Signed<'_>,
    authorization: &Authorization,
    secret: &str,
) -> String {
    let canonical = canonical_request(request, &authorization.signed_headers);
    let string_to_sign = format!(
        "{ALGORITHM}\n{}\n{}\n{}",
        request.amz_date,
        authorization.scope(),
        sha256_hex(canonical.as_bytes())
    );
    let mut key = hmac_sha256(
        format!("AWS4{secret}").as_bytes(),
        authorization.date.as_bytes(),
    );
    for part in [
        authorization.region.as_str(),
        authorization.service.as_str(),
        authorization.terminator.as_str(),
    ] {
        key = hmac_sha256(&key, part.as_bytes());
    }
    hex(&hmac_sha256(&key, string_to_sign.as_bytes()))
}

/// Signs a request the way a client does (for tests of this module and the crate's own tests).
#[cfg(test)]
pub(crate) fn authorization_header(
    request: &Signed<'_>,
    access_key_id: &str,
    secret: &str,
    region: &str,
    service: &str,
    signed_headers: &[&str],
) -> String {
    let date = request.amz_date.get(..8).unwrap_or_default().to_owned();
    let mut auth = Authorization {
        access_key_id: access_key_id.to_owned(),
        date,
        region: region.to_owned(),
        service: service.to_owned(),
        terminator: "aws4_request".to_owned(),
        signed_headers: signed_headers.iter().map(|s| (*s).to_owned()).collect(),
        signature: String::new(),
    };
    auth.signature = expected_signature(request, &auth, secret);
    format!(
        "{ALGORITHM} Credential={access_key_id}/{}, SignedHeaders={}, Signature={}",
        auth.scope(),
        signed_headers.join(";"),
        auth.signature
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    /// The worked example of AWS's SigV4 documentation (IAM `ListUsers`, 2015-08-30).
    #[test]
    fn reproduces_the_aws_documentation_example() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "content-type",
            HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
        );
        headers.insert("host", HeaderValue::from_static("iam.amazonaws.com"));
        headers.insert("x-amz-date", HeaderValue::from_static("20150830T123600Z"));
        let request = Signed {
            method: "GET",
            path: "/",
            query: "Action=ListUsers&Version=2010-05-08",
            headers: &headers,
            body: b"",
            amz_date: "20150830T123600Z",
        };
        let signed = [
            "content-type".to_owned(),
            "host".to_owned(),
            "x-amz-date".to_owned(),
        ];
        assert_eq!(
            sha256_hex(canonical_request(&request, &signed).as_bytes()),
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
        );
        let header = authorization_header(
            &request,
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "us-east-1",
            "iam",
            &["content-type", "host", "x-amz-date"],
        );
        assert!(
            header.ends_with(
                "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
            ),
            "{header}"
        );
        let parsed = parse(&header).unwrap();
        assert_eq!(parsed.scope(), "20150830/us-east-1/iam/aws4_request");
        assert_eq!(parsed.access_key_id, "AKIDEXAMPLE");
    }

    #[test]
    fn malformed_headers_are_refused_with_a_reason() {
        assert!(parse("Bearer abc").is_err());
        assert!(parse("AWS4-HMAC-SHA256 Credential=A/20250102/us-east-1/ce/aws4_request").is_err());
        assert!(
            parse("AWS4-HMAC-SHA256 Credential=A/2025/us-east-1/ce/aws4_request, SignedHeaders=host, Signature=00")
                .is_err()
        );
    }
}
