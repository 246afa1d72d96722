//! OTLP/JSON field decoding (the OTLP spec's JSON mapping, which is not plain proto3 JSON):
//! trace and span ids are case-insensitive hex, enums are integers, 64-bit integers arrive as
//! strings or numbers, `null` means the default, and unknown keys are ignored. Mistakes that
//! hand-written exporters make (base64 ids, `attributes` as an object) get a message that says
//! what to send instead.

use std::fmt;

use base64::Engine as _;
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::proto::{AnyValue, ArrayValue, KeyValue, KeyValueList, any_value::Value};

/// A repeated field: a JSON array, or `null`/absent for none.
pub(crate) fn list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// A string field; `null` is the empty string.
pub(crate) fn string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.unwrap_or_default())
}

/// `attributes`: a list of `{"key": …, "value": {…}}`. An object in its place is the most common
/// hand-written mistake, so it gets its own message.
pub(crate) fn attributes<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<KeyValue>, D::Error> {
    struct AttributesVisitor;
    impl<'de> Visitor<'de> for AttributesVisitor {
        type Value = Vec<KeyValue>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list of {\"key\": \"…\", \"value\": {\"stringValue\": \"…\"}} objects")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
            while let Some(kv) = seq.next_element::<KeyValue>()? {
                out.push(kv);
            }
            Ok(out)
        }
        fn visit_map<A: MapAccess<'de>>(self, _map: A) -> Result<Self::Value, A::Error> {
            Err(de::Error::custom(
                "attributes must be a list of {\"key\": \"…\", \"value\": {\"stringValue\": \"…\"}} objects, not a JSON object of key → value",
            ))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
    }
    deserializer.deserialize_any(AttributesVisitor)
}

/// A trace or span id: hex (any case). The length is checked per span, so a wrong-length id
/// rejects only its span; text that is not hex at all (base64, as proto3 JSON would write it)
/// makes the whole payload malformed.
pub(crate) fn hex_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    let Some(text) = Option::<String>::deserialize(deserializer)? else {
        return Ok(Vec::new());
    };
    hex::decode(text.trim()).map_err(|_| {
        de::Error::custom(format!(
            "trace and span ids must be hex strings in OTLP/JSON (32 hex digits for traceId, 16 for spanId), not base64; got \"{}\"",
            shorten(&text)
        ))
    })
}

/// A 64-bit unsigned integer written as a decimal string or a number.
pub(crate) fn uint64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    match Option::<IntText>::deserialize(deserializer)? {
        None => Ok(0),
        Some(IntText::Unsigned(n)) => Ok(n),
        Some(IntText::Signed(n)) => u64::try_from(n)
            .map_err(|_| de::Error::custom(format!("expected a non-negative integer, got {n}"))),
        Some(IntText::Float(f)) => float_to_int(f)
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| de::Error::custom(format!("expected a non-negative integer, got {f}"))),
        Some(IntText::Text(s)) => s.trim().parse::<u64>().map_err(|_| {
            de::Error::custom(format!(
                "expected a non-negative integer as a decimal string, got \"{}\"",
                shorten(&s)
            ))
        }),
    }
}

/// An enum: an integer, as OTLP/JSON requires (names such as `"SPAN_KIND_CLIENT"` are refused
/// with a message).
pub(crate) fn enum_int<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i32, D::Error> {
    match Option::<IntText>::deserialize(deserializer)? {
        None => Ok(0),
        Some(IntText::Unsigned(n)) => i32::try_from(n)
            .map_err(|_| de::Error::custom(format!("enum value {n} is out of range"))),
        Some(IntText::Signed(n)) => i32::try_from(n)
            .map_err(|_| de::Error::custom(format!("enum value {n} is out of range"))),
        Some(IntText::Float(f)) => float_to_int(f)
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(|| de::Error::custom(format!("enum value {f} is not an integer"))),
        Some(IntText::Text(s)) => Err(de::Error::custom(format!(
            "OTLP/JSON encodes enums (span kind, status code) as integers, got \"{}\"",
            shorten(&s)
        ))),
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum IntText {
    Unsigned(u64),
    Signed(i64),
    Float(f64),
    Text(String),
}

fn float_to_int(f: f64) -> Option<i64> {
    // Exact only: 1e3 is 1000, 1.5 is not an integer.
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15 {
        Some(f as i64)
    } else {
        None
    }
}

impl<'de> Deserialize<'de> for AnyValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(AnyValueVisitor)
    }
}

struct AnyValueVisitor;

impl<'de> Visitor<'de> for AnyValueVisitor {
    type Value = AnyValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an AnyValue object such as {\"stringValue\": \"…\"} or {\"intValue\": \"42\"}")
    }

    fn visit_unit<E: de::Error>(self) -> Result<AnyValue, E> {
        Ok(AnyValue { value: None })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AnyValue, A::Error> {
        let mut value = None;
        while let Some(key) = map.next_key::<String>()? {
            let next = match key.as_str() {
                "stringValue" => map.next_value::<Option<String>>()?.map(Value::StringValue),
                "boolValue" => map.next_value::<Option<bool>>()?.map(Value::BoolValue),
                "intValue" => match map.next_value::<Option<IntText>>()? {
                    None => None,
                    Some(IntText::Unsigned(n)) => {
                        Some(Value::IntValue(i64::try_from(n).map_err(|_| {
                            de::Error::custom(format!("intValue {n} is out of the int64 range"))
                        })?))
                    }
                    Some(IntText::Signed(n)) => Some(Value::IntValue(n)),
                    Some(IntText::Float(f)) => {
                        Some(Value::IntValue(float_to_int(f).ok_or_else(|| {
                            de::Error::custom(format!("intValue must be an integer, got {f}"))
                        })?))
                    }
                    Some(IntText::Text(s)) => {
                        Some(Value::IntValue(s.trim().parse::<i64>().map_err(|_| {
                            de::Error::custom(format!(
                                "intValue must be an integer, got \"{}\"",
                                shorten(&s)
                            ))
                        })?))
                    }
                },
                "doubleValue" => match map.next_value::<Option<IntText>>()? {
                    None => None,
                    Some(IntText::Unsigned(n)) => Some(Value::DoubleValue(n as f64)),
                    Some(IntText::Signed(n)) => Some(Value::DoubleValue(n as f64)),
                    Some(IntText::Float(f)) => Some(Value::DoubleValue(f)),
                    Some(IntText::Text(s)) => {
                        Some(Value::DoubleValue(special_float(&s).ok_or_else(|| {
                            de::Error::custom(format!(
                                "doubleValue must be a number, got \"{}\"",
                                shorten(&s)
                            ))
                        })?))
                    }
                },
                "arrayValue" => map
                    .next_value::<Option<ArrayValue>>()?
                    .map(Value::ArrayValue),
                "kvlistValue" => map
                    .next_value::<Option<KeyValueList>>()?
                    .map(Value::KvlistValue),
                "bytesValue" => match map.next_value::<Option<String>>()? {
                    None => None,
                    Some(text) => Some(Value::BytesValue(
                        base64::engine::general_purpose::STANDARD
                            .decode(text.trim())
                            .map_err(|_| de::Error::custom("bytesValue must be base64"))?,
                    )),
                },
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            if next.is_some() {
                value = next;
            }
        }
        Ok(AnyValue { value })
    }
}

/// proto3 JSON writes non-finite doubles as strings; numbers may also come quoted.
fn special_float(text: &str) -> Option<f64> {
    match text.trim() {
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        other => other.parse::<f64>().ok(),
    }
}

fn shorten(text: &str) -> String {
    if text.chars().count() > 40 {
        format!("{}…", text.chars().take(40).collect::<String>())
    } else {
        text.to_owned()
    }
}
