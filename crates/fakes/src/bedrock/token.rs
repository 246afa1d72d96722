//! `NextPageToken`s bound to the request that produced them: base64 of a hash of every other
//! request parameter, the position the next page starts at, the 1-based page number it leads to,
//! and a check word. A token the fake did not issue is an `InvalidNextTokenException`; one
//! issued for different parameters is a `RequestChangedException` (doc §4, §8).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::common::prng::mix;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PageToken {
    /// Hash of the operation and its parameters, `NextPageToken` left out.
    pub(crate) params: u64,
    /// Index of the first period (or dimension value) of the page the token asks for.
    pub(crate) position: u32,
    /// 1-based number of the page the token asks for.
    pub(crate) page: u32,
}

fn check(params: u64, position: u32, page: u32) -> u32 {
    (mix(params ^ (u64::from(position) << 20) ^ (u64::from(page) << 44) ^ 0xCE_70C3) >> 32) as u32
}

impl PageToken {
    pub(crate) fn encode(self) -> String {
        let mut bytes = Vec::with_capacity(20);
        bytes.extend_from_slice(&self.params.to_be_bytes());
        bytes.extend_from_slice(&self.position.to_be_bytes());
        bytes.extend_from_slice(&self.page.to_be_bytes());
        bytes.extend_from_slice(&check(self.params, self.position, self.page).to_be_bytes());
        STANDARD.encode(bytes)
    }

    /// `None` for anything this fake did not issue.
    pub(crate) fn decode(text: &str) -> Option<Self> {
        let bytes: [u8; 20] = STANDARD.decode(text).ok()?.try_into().ok()?;
        let params = u64::from_be_bytes(bytes[0..8].try_into().ok()?);
        let position = u32::from_be_bytes(bytes[8..12].try_into().ok()?);
        let page = u32::from_be_bytes(bytes[12..16].try_into().ok()?);
        let sent = u32::from_be_bytes(bytes[16..20].try_into().ok()?);
        (sent == check(params, position, page) && page >= 1).then_some(Self {
            params,
            position,
            page,
        })
    }
}

/// A hash of `operation` and the request body without `NextPageToken`, independent of the
/// order of object members and of whitespace.
pub(crate) fn params_hash(operation: &str, body: &Value) -> u64 {
    let mut text = String::from(operation);
    text.push('|');
    match body {
        Value::Object(map) => {
            let mut stripped = map.clone();
            stripped.remove("NextPageToken");
            canonical(&Value::Object(stripped), &mut text);
        }
        other => canonical(other, &mut text),
    }
    // FNV-1a, then mixed.
    let mut hash: u64 = 0xCBF2_9CE4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01B3);
    }
    mix(hash)
}

fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for key in keys {
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                if let Some(v) = map.get(key) {
                    canonical(v, out);
                }
                out.push(',');
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for item in items {
                canonical(item, out);
                out.push(',');
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tokens_round_trip_and_foreign_text_is_refused() {
        let t = PageToken {
            params: 42,
            position: 30,
            page: 2,
        };
        assert_eq!(PageToken::decode(&t.encode()), Some(t));
        assert_eq!(PageToken::decode("bm90IGEgdG9rZW4="), None);
        assert_eq!(PageToken::decode("%%%"), None);
    }

    #[test]
    fn the_hash_ignores_member_order_and_the_token_itself() {
        let a = json!({"A": 1, "B": [1, {"x": 1, "y": 2}]});
        let b = json!({"B": [1, {"y": 2, "x": 1}], "A": 1, "NextPageToken": "t"});
        assert_eq!(params_hash("op", &a), params_hash("op", &b));
        assert_ne!(params_hash("op", &a), params_hash("other", &a));
        assert_ne!(params_hash("op", &a), params_hash("op", &json!({"A": 2})));
    }
}
