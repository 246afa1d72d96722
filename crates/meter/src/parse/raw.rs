//! The shapes of a native batch as sent, borrowed from the request body: each event is a list of
//! (field name, raw JSON text of its value), read in one pass without building a `Value` tree.
//! The field readers in `parse.rs` look only at the fields they know; a bad field is read again
//! as a `Value` only to word its error message.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// One JSON object's fields in the order sent, each value as its raw JSON text.
#[derive(Debug, Default)]
pub(crate) struct RawObject<'a>(pub(crate) Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'a> RawObject<'a> {
    /// The value of `name`; the last one when a name is repeated (as `serde_json::Value` keeps).
    pub(crate) fn get(&self, name: &str) -> Option<&'a RawValue> {
        self.0
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| *value)
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(key, _)| key.as_ref())
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &'a RawValue)> {
        self.0.iter().map(|(key, value)| (key.as_ref(), *value))
    }
}

/// One element of a batch: an object to read as an event, or what else was sent in its place.
#[derive(Debug)]
pub(crate) enum RawEvent<'a> {
    Object(RawObject<'a>),
    /// Not an object: what it was ("an array", "a number", …) for the message.
    Other(&'static str),
}

/// A JSON body: an array of events or one event object, with the array's full length (elements
/// past `cap` are checked for syntax and counted, not kept).
#[derive(Debug)]
pub(crate) struct RawBatch<'a> {
    pub(crate) events: Vec<RawEvent<'a>>,
    pub(crate) count: usize,
}

/// Reads a JSON body as a batch, keeping at most `cap` events; `None` when the body is valid
/// JSON but neither an array nor an object.
pub(crate) fn batch_of(body: &[u8], cap: usize) -> Result<Option<RawBatch<'_>>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let batch = de.deserialize_any(BatchVisitor { cap })?;
    de.end()?;
    Ok(batch)
}

/// Reads one JSON text (an NDJSON line, say) as one event.
pub(crate) fn event_of(text: &[u8]) -> Result<RawEvent<'_>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(text);
    let event = de.deserialize_any(EventVisitor)?;
    de.end()?;
    Ok(event)
}

/// Reads a raw value that should be an object (`tokens`, `tags`); `None` when it is not one.
pub(crate) fn object_of(raw: &RawValue) -> Option<RawObject<'_>> {
    match event_of(raw.get().as_bytes()) {
        Ok(RawEvent::Object(object)) => Some(object),
        _ => None,
    }
}

/// What a raw JSON value is, worded for a message ("a string", "an array", …).
pub(crate) fn kind(raw: &RawValue) -> &'static str {
    match raw.get().as_bytes().first() {
        Some(b'n') => "null",
        Some(b't' | b'f') => "a boolean",
        Some(b'"') => "a string",
        Some(b'[') => "an array",
        Some(b'{') => "an object",
        _ => "a number",
    }
}

pub(crate) fn is_null(raw: &RawValue) -> bool {
    raw.get() == "null"
}

struct BatchVisitor {
    cap: usize,
}

impl<'de> Visitor<'de> for BatchVisitor {
    type Value = Option<RawBatch<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of events or one event object")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut events = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(self.cap));
        let mut count = 0;
        while count < self.cap {
            match seq.next_element_seed(EventSeed)? {
                Some(event) => events.push(event),
                None => return Ok(Some(RawBatch { events, count })),
            }
            count += 1;
        }
        while seq.next_element::<IgnoredAny>()?.is_some() {
            count += 1;
        }
        Ok(Some(RawBatch { events, count }))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let event = EventVisitor.visit_map(map)?;
        Ok(Some(RawBatch {
            events: vec![event],
            count: 1,
        }))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

struct EventSeed;

impl<'de> de::DeserializeSeed<'de> for EventSeed {
    type Value = RawEvent<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(EventVisitor)
    }
}

struct EventVisitor;

impl<'de> Visitor<'de> for EventVisitor {
    type Value = RawEvent<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(16));
        while let Some(Name(key)) = map.next_key()? {
            let value: &'de RawValue = map.next_value()?;
            fields.push((key, value));
        }
        Ok(RawEvent::Object(RawObject(fields)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(RawEvent::Other("an array"))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(RawEvent::Other("a boolean"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(RawEvent::Other("a number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(RawEvent::Other("a number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(RawEvent::Other("a number"))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(RawEvent::Other("a string"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(RawEvent::Other("null"))
    }
}

/// A field name, borrowed from the body unless it holds escapes (serde's own `Cow<str>` always
/// copies).
struct Name<'a>(Cow<'a, str>);

impl<'de> de::Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(NameVisitor)
    }
}

struct NameVisitor;

impl<'de> Visitor<'de> for NameVisitor {
    type Value = Name<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Name(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Name(Cow::Owned(v.to_owned())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_keeps_each_field_as_sent_and_counts_past_the_cap() {
        let body = br#"[{"id":"a\n","tokens":{"input":1}}, 7, [1,[2]], {"x":null}, {}]"#;
        let batch = batch_of(body, 3).unwrap().unwrap();
        assert_eq!(batch.count, 5);
        assert_eq!(batch.events.len(), 3);
        let RawEvent::Object(first) = &batch.events[0] else {
            panic!("{:?}", batch.events[0])
        };
        assert_eq!(first.get("id").unwrap().get(), r#""a\n""#);
        assert!(matches!(first.0[0].0, Cow::Borrowed("id")));
        let tokens = object_of(first.get("tokens").unwrap()).unwrap();
        assert_eq!(tokens.get("input").unwrap().get(), "1");
        assert!(matches!(batch.events[1], RawEvent::Other("a number")));
        assert!(matches!(batch.events[2], RawEvent::Other("an array")));
    }

    #[test]
    fn one_object_is_a_batch_of_one_and_anything_else_is_not_a_batch() {
        assert_eq!(batch_of(br#"{"id":"a"}"#, 10).unwrap().unwrap().count, 1);
        assert!(batch_of(b"42", 10).unwrap().is_none());
        assert!(batch_of(b"\"x\"", 10).unwrap().is_none());
        assert!(batch_of(b"[1,", 10).is_err());
        assert!(batch_of(b"[] x", 10).is_err());
    }

    #[test]
    fn a_repeated_name_reads_as_its_last_value_and_an_escaped_name_is_decoded() {
        let RawEvent::Object(object) = event_of(br#"{"a":1,"a":2,"\u0062":3}"#).unwrap() else {
            panic!()
        };
        assert_eq!(object.get("a").unwrap().get(), "2");
        assert_eq!(object.get("b").unwrap().get(), "3");
        assert_eq!(kind(object.get("a").unwrap()), "a number");
    }
}
