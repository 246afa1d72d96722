//! The service-account JWT of the OAuth bearer grant (doc §2): `b64url(header).b64url(claims).
//! b64url(signature)`, RS256 (RSASSA-PKCS1-v1_5 with SHA-256), verified with the public half of
//! the key the fake was given — a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) or `RSA PUBLIC KEY`
//! (PKCS#1), at least 2048 bits.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use serde_json::Value;

/// An RSA public key as PKCS#1 `RSAPublicKey` DER.
#[derive(Debug, Clone)]
pub(crate) struct PublicKey {
    pkcs1_der: Vec<u8>,
}

/// One DER element: (tag, contents, rest).
fn der_element(bytes: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = bytes.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7F);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let length = rest[..count]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (length, &rest[count..])
    };
    if rest.len() < length {
        return None;
    }
    Some((tag, &rest[..length], &rest[length..]))
}

/// `1.2.840.113549.1.1.1` (rsaEncryption), DER-encoded.
const RSA_ENCRYPTION: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01];

/// The `RSAPublicKey` inside a SubjectPublicKeyInfo.
fn spki_to_pkcs1(der: &[u8]) -> Option<Vec<u8>> {
    let (0x30, spki, _) = der_element(der)? else {
        return None;
    };
    let (0x30, algorithm, rest) = der_element(spki)? else {
        return None;
    };
    let (0x06, oid, _) = der_element(algorithm)? else {
        return None;
    };
    if oid != RSA_ENCRYPTION {
        return None;
    }
    let (0x03, bits, _) = der_element(rest)? else {
        return None;
    };
    let (&unused, key) = bits.split_first()?;
    (unused == 0).then(|| key.to_vec())
}

impl PublicKey {
    /// Parses a PEM public key; the error says what is wrong.
    pub(crate) fn from_pem(pem: &str) -> Result<Self, String> {
        let label = if pem.contains("-----BEGIN PUBLIC KEY-----") {
            "PUBLIC KEY"
        } else if pem.contains("-----BEGIN RSA PUBLIC KEY-----") {
            "RSA PUBLIC KEY"
        } else if pem.contains("PRIVATE KEY-----") {
            return Err(
                "this is a private key: give the fake only the public half (PEM PUBLIC KEY)"
                    .to_owned(),
            );
        } else {
            return Err("expected a PEM 'PUBLIC KEY' or 'RSA PUBLIC KEY' block".to_owned());
        };
        let begin = format!("-----BEGIN {label}-----");
        let end = format!("-----END {label}-----");
        let body = pem
            .split_once(&begin)
            .and_then(|(_, rest)| rest.split_once(&end))
            .map(|(body, _)| body)
            .ok_or_else(|| format!("the PEM block lacks its '{end}' line"))?;
        let base64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        let der = STANDARD
            .decode(base64)
            .map_err(|e| format!("the PEM body is not base64: {e}"))?;
        let pkcs1_der = if label == "PUBLIC KEY" {
            spki_to_pkcs1(&der).ok_or("the PUBLIC KEY is not an RSA SubjectPublicKeyInfo")?
        } else {
            der
        };
        match der_element(&pkcs1_der) {
            Some((0x30, _, [])) => Ok(Self { pkcs1_der }),
            _ => Err("the key is not a DER RSAPublicKey".to_owned()),
        }
    }

    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &self.pkcs1_der)
            .verify(message, signature)
            .is_ok()
    }
}

/// A decoded JWT, its signature not yet checked.
#[derive(Debug, Clone)]
pub(crate) struct Jwt {
    pub(crate) header: Value,
    pub(crate) claims: Value,
    /// `b64url(header).b64url(claims)`, the signed bytes.
    signed: String,
    signature: Vec<u8>,
}

impl Jwt {
    /// Is the RS256 signature the key's?
    pub(crate) fn signed_by(&self, key: &PublicKey) -> bool {
        key.verify(self.signed.as_bytes(), &self.signature)
    }
}

fn decode_part(part: &str, what: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|e| format!("the {what} is not unpadded base64url: {e}"))
}

fn json_part(part: &str, what: &str) -> Result<Value, String> {
    let bytes = decode_part(part, what)?;
    let value: Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("the {what} is not JSON: {e}"))?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(format!("the {what} is not a JSON object"))
    }
}

/// Splits and decodes `assertion`; the error says what is malformed.
pub(crate) fn decode(assertion: &str) -> Result<Jwt, String> {
    let parts: Vec<&str> = assertion.split('.').collect();
    let [header, claims, signature] = parts.as_slice() else {
        return Err(format!(
            "a JWT has three '.'-separated parts; this one has {}",
            parts.len()
        ));
    };
    Ok(Jwt {
        header: json_part(header, "header")?,
        claims: json_part(claims, "claim set")?,
        signed: format!("{header}.{claims}"),
        signature: decode_part(signature, "signature")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_are_not_rsa_public_keys_are_refused_with_a_reason() {
        assert!(
            PublicKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
                .unwrap_err()
                .contains("private key")
        );
        assert!(PublicKey::from_pem("hello").is_err());
        assert!(
            PublicKey::from_pem("-----BEGIN PUBLIC KEY-----\n!!!\n-----END PUBLIC KEY-----")
                .is_err()
        );
    }

    #[test]
    fn der_lengths_are_read_in_both_forms() {
        assert_eq!(
            der_element(&[0x30, 0x01, 0xAA]),
            Some((0x30, &[0xAA][..], &[][..]))
        );
        let long = [0x04, 0x81, 0x02, 0x01, 0x02, 0x09];
        assert_eq!(
            der_element(&long),
            Some((0x04, &[0x01, 0x02][..], &[0x09][..]))
        );
        assert_eq!(der_element(&[0x30, 0x05, 0x00]), None);
    }

    #[test]
    fn malformed_assertions_say_why() {
        assert!(decode("a.b").unwrap_err().contains("three"));
        assert!(decode("e30.e30.AA==").unwrap_err().contains("base64url"));
        assert!(decode("W10.e30.AA").unwrap_err().contains("object"));
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let claims = URL_SAFE_NO_PAD.encode(br#"{"iss":"x"}"#);
        let jwt = decode(&format!("{header}.{claims}.AAAA")).unwrap();
        assert_eq!(jwt.header["alg"], "HS256");
        let key = PublicKey {
            pkcs1_der: vec![0x30, 0x00],
        };
        assert!(!jwt.signed_by(&key));
    }
}
